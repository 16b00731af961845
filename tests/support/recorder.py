"""Watching a recorder process from a test, through its database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from monitor.adapters.store.tables import RecorderLeaseRow


def subscribed_holder(engine: Engine) -> int | None:
    """The pid of the recorder holding the lease, once the broker has confirmed its subscriptions.

    Tests publish only after that: what is published before a recorder has ever subscribed, MQTT keeps
    for no one (docs/mqtt.md)."""
    with Session(engine) as session:
        row = session.exec(select(RecorderLeaseRow)).first()
        if row is None or row.session_since is None:
            return None
        return int(row.holder.split("|")[1])


def recorder_process(config_path: Path, log: Path) -> subprocess.Popen[bytes]:
    """`monitor recorder` as a process; its log is added to `log` (the test's tmp_path keeps it for a failure's
    diagnosis)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config_path), "recorder"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
