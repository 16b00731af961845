"""Service commands: the recorder, everything together, and the demo."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from monitor.cli import app
from monitor.cli.context import state
from monitor.cli.incidents import print_scores
from monitor.demo import run_demo
from monitor.recorder import run_recorder
from monitor.runtime import broker_for
from monitor.store.database import open_database


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@app.command("recorder")
def recorder(ctx: typer.Context) -> None:
    """Run the recorder: incidents from MQTT into the database, alerts to supervisors (Ctrl-C stops)."""
    stop = _stop_on_signals()
    with broker_for(state(ctx).config) as config:
        run_recorder(config, open_database(config.database.url), stop)


@app.command("demo")
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its database and broker files.")] = Path(
        "var/demo"
    ),
) -> None:
    """Run the seed hall's November 2020 end to end on embedded defaults and print the score sheets."""
    console = Console()
    logging.getLogger("monitor").setLevel(logging.WARNING)  # the demo tells its own story
    scores = run_demo(data_dir, console)
    print_scores(scores, console)
