"""Service commands: the recorder, everything together, and the demo."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from monitor.adapters.store.database import open_database
from monitor.cli import app
from monitor.cli.context import state
from monitor.cli.incidents import print_scores
from monitor.cli.output import out
from monitor.errors import MonitorError
from monitor.services.camera import run_cameras
from monitor.services.recorder import Recorder, run_recorder
from monitor.services.runtime import broker_for
from monitor.services.scheduler import start_in_background
from monitor.tools.demo import run_demo

log = logging.getLogger(__name__)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@app.command("recorder")
def recorder(
    ctx: typer.Context,
    subscribe_only: Annotated[
        bool,
        typer.Option(
            "--subscribe-only",
            help="Create the recorder's durable subscription and exit (at installation, before any camera or "
            "supervisor publishes: the broker keeps messages for it from then on).",
        ),
    ] = False,
) -> None:
    """Run the recorder: incidents from MQTT into the database, alerts to supervisors (Ctrl-C stops)."""
    if subscribe_only:
        config = state(ctx).config
        recorder = Recorder(config, open_database(config.database.url))
        ready = recorder.start(wait=30)
        recorder.stop()
        if not ready:
            raise MonitorError("the broker did not confirm the recorder's subscriptions within 30s (see the log)")
        out.print(f"记录器订阅已建立：{recorder.session_name}（消息服务器此后为其保留消息）")
        return
    stop = _stop_on_signals()
    with broker_for(state(ctx).config) as config:
        run_recorder(config, open_database(config.database.url), stop)


def _guarded(name: str, target: Callable[[], None]) -> threading.Thread:
    """A service thread whose failure is logged with its reason and leaves the others running."""

    def run() -> None:
        try:
            target()
        except MonitorError as exc:
            log.error("%s stopped: %s", name, exc)
        except Exception:
            log.exception("%s stopped unexpectedly", name)

    return threading.Thread(target=run, name=name, daemon=True)


@app.command("run")
def run(ctx: typer.Context) -> None:
    """Run everything on this machine: the recorder, the notice scheduler and the hall worker (every camera).

    With [mqtt] url = "embedded" the broker runs here too. Ctrl-C or SIGTERM stops it all.
    """
    stop = _stop_on_signals()
    with broker_for(state(ctx).config) as config:
        engine = open_database(config.database.url)
        recorder = Recorder(config, engine)
        # First, and confirmed: its persistent session must exist before the cameras publish.
        if not recorder.start(wait=30):
            log.error("the recorder's subscriptions are not confirmed (another recorder holds them, or no broker)")
        stop_scheduler = start_in_background(config, engine)
        # One process, one detector for all cameras (docs/benchmarks.md); none without cameras.
        workers = [_guarded("hall-worker", partial(run_cameras, config, stop))] if config.cameras else []
        for worker in workers:
            worker.start()
        log.info("running: recorder, scheduler, hall worker for %d camera(s)", len(config.cameras))
        try:
            while not stop.wait(0.5):
                pass
        finally:
            for worker in workers:
                worker.join(timeout=15)
            stop_scheduler()
            recorder.stop()


@app.command("demo")
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its database and broker files.")] = Path(
        "var/demo"
    ),
    video: Annotated[bool, typer.Option(help="Also replay fixture clips as a day of the hall's cameras.")] = True,
) -> None:
    """Run the seed hall end to end on embedded defaults: November 2020's incidents, a day of camera
    video, the score sheets and the notices."""
    console = out
    logging.getLogger("monitor").setLevel(logging.WARNING)  # the demo tells its own story
    sheets, notices = run_demo(data_dir, console, video=video)
    print_scores(sheets[0], console)
    for later in sheets[1:]:
        print_scores(later, console, departments=False)
    console.print("通报文件：")
    for path in notices:
        console.print(f"  {path}", soft_wrap=True)
