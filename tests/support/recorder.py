"""Watching a recorder process from a test, through its database."""

from __future__ import annotations

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
