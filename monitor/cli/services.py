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
from sqlalchemy import Engine

from monitor.adapters.store.database import open_database, open_store
from monitor.cli import app
from monitor.cli.context import sites_chosen, state
from monitor.cli.incidents import print_scores
from monitor.cli.output import out
from monitor.config import MonitorConfig
from monitor.config.writer import write_config
from monitor.console.server import ConsoleServer, build_console
from monitor.contract import now_utc
from monitor.errors import MonitorError
from monitor.services.camera import run_cameras
from monitor.services.recorder import Recorder
from monitor.services.recorder.health import health, read_heartbeat
from monitor.services.runtime import broker_for
from monitor.services.scheduler import start_in_background
from monitor.tools.demo import DEMO_ACCOUNT, console_config, demo_account, run_demo

log = logging.getLogger(__name__)


def stop_on_signals() -> threading.Event:
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
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Say whether the recorder is working, from its heartbeat on the broker; exit 1 when it is not.",
        ),
    ] = False,
) -> None:
    """Run the recorder: incidents from MQTT into the database, alerts to supervisors (Ctrl-C stops). With a
    district's configuration, one recorder per site (or the one --site names), each on its site's topics."""
    if check:
        working = True
        for config in sites_chosen(ctx):
            found = health(read_heartbeat(config), now_utc(), config.hall.tz)
            out.print(
                f"{config.hall.name}：{found.text}" if state(ctx).district.district else found.text, soft_wrap=True
            )
            working = working and found.working
        raise typer.Exit(0 if working else 1)
    if subscribe_only:
        for config in sites_chosen(ctx):
            recorder = Recorder(config, open_store(config))
            ready = recorder.start(wait=30)
            recorder.stop()
            if not ready:
                raise MonitorError(
                    f"the broker did not confirm the recorder's subscriptions for site {config.site} within 30s "
                    "(see the log)"
                )
            out.print(f"记录器订阅已建立：{recorder.session_name}（消息服务器此后为其保留消息）")
        return
    stop = stop_on_signals()
    with broker_for(_whole(ctx)) as whole:
        engine = open_database(whole.database.url)
        recorders = [Recorder(config, engine) for config in _sites_of(ctx, whole)]
        for recorder in recorders:
            recorder.start()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            for recorder in recorders:
                recorder.stop()


def _whole(ctx: typer.Context) -> MonitorConfig:
    """What a service command starts its embedded broker for: the site --site names, or the whole configuration."""
    cli = state(ctx)
    return cli.config if cli.site is not None else cli.district


def _sites_of(ctx: typer.Context, whole: MonitorConfig) -> list[MonitorConfig]:
    """The sites of `whole` (`_whole` as `broker_for` yields it, with the embedded broker's port) a command runs."""
    return [whole] if state(ctx).site is not None else list(whole.site_views.values())


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
    stop = stop_on_signals()
    with broker_for(_whole(ctx)) as whole:
        engine = open_database(whole.database.url)
        sites = _sites_of(ctx, whole)
        recorders = [Recorder(config, engine) for config in sites]
        for recorder in recorders:
            # First, and confirmed: its persistent session must exist before the cameras publish.
            if not recorder.start(wait=30):
                log.error(
                    "site %s: the recorder's subscriptions are not confirmed (another recorder holds them, or no "
                    "broker)",
                    recorder.config.site,
                )
        stoppers = [start_in_background(config, engine) for config in sites]
        # One process, one detector for a site's cameras (docs/benchmarks.md); none without cameras.
        workers = [
            _guarded(f"hall-worker-{config.site}", partial(run_cameras, config, stop))
            for config in sites
            if config.cameras
        ]
        for worker in workers:
            worker.start()
        log.info(
            "running: %d site(s), recorder and scheduler each, hall workers for %d camera(s)",
            len(sites),
            sum(len(config.cameras) for config in sites),
        )
        web = _console_or_why(whole, engine)  # every site of a district's, or the one --site names
        try:
            while not stop.wait(0.5):
                pass
        finally:
            if web is not None:
                web.stop()
            for worker in workers:
                worker.join(timeout=15)
            for stop_scheduler in stoppers:
                stop_scheduler()
            for recorder in recorders:
                recorder.stop()


def _console_or_why(config: MonitorConfig, engine: Engine) -> ConsoleServer | None:
    """The console, started; None (with the reason logged) when it cannot start: `monitor run` goes on without it."""
    try:
        server = ConsoleServer(build_console(config, engine))
    except MonitorError as exc:
        log.warning("console not started: %s", exc)
        return None
    server.start()
    if not server.wait_started():
        log.warning("console not started: cannot listen on %s:%d", config.console.host, config.console.port)
        server.stop()
        return None
    return server


@app.command("demo")
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its database and broker files.")] = Path(
        "var/demo"
    ),
    video: Annotated[bool, typer.Option(help="Also replay fixture clips as a day of the hall's cameras.")] = True,
    serve: Annotated[
        bool, typer.Option("--serve", help="Then serve the demo's data in the console until Ctrl-C (a demo account).")
    ] = False,
    port: Annotated[int, typer.Option(help="With --serve: the console's port on 127.0.0.1.")] = 8080,
) -> None:
    """Run the seed hall end to end on embedded defaults: November 2020's incidents, a day of camera
    video, the score sheets and the notices; with --serve, then open them in the console."""
    console = out
    logging.getLogger("monitor").setLevel(logging.WARNING)  # the demo tells its own story
    sheets, notices = run_demo(data_dir, console, video=video)
    print_scores(sheets[0], console)
    for later in sheets[1:]:
        print_scores(later, console, departments=False)
    console.print("通报文件：")
    for path in notices:
        console.print(f"  {path}", soft_wrap=True)
    if not serve:
        console.print("\n在浏览器中查看看板、违纪审核、得分与通报：[bold]monitor demo --serve[/]（督查控制台）")
        return
    _serve_demo(console_config(data_dir.resolve(), video=video, port=port))


def _as_client(config: MonitorConfig) -> MonitorConfig:
    """`config` as another process uses it while the demo runs: its embedded broker reached as a client."""
    if config.mqtt.url != "embedded":
        return config
    url = f"mqtt://127.0.0.1:{config.mqtt.embedded_port}"
    return config.model_copy(update={"mqtt": config.mqtt.model_copy(update={"url": url})})


def _serve_demo(hall: MonitorConfig) -> None:
    """The demo's data in the console, with the recorder behind it, on the embedded broker, until Ctrl-C.

    The configuration it serves is written to the demo's folder and printed: an operator's next command
    (`monitor --config <it> user add …`) then reaches the database the console reads and the broker it listens
    on, not the embedded defaults' database."""
    stop = stop_on_signals()
    with broker_for(hall) as config:
        served = write_config(_as_client(config), Path(config.paths.data_dir) / "hall.toml")
        engine = open_store(config)
        recorder = Recorder(config, engine)
        recorder.start(wait=30)
        password = demo_account(engine)
        server = ConsoleServer(build_console(config, engine))
        server.start()
        try:
            if not server.wait_started():
                raise MonitorError(f"控制台无法在 127.0.0.1:{config.console.port} 监听（端口被占用？）：换 --port")
            out.print(
                f"\n督查控制台：[bold]http://127.0.0.1:{config.console.port}/[/]  账号 [bold]{DEMO_ACCOUNT}[/]  "
                f"密码 [bold]{password}[/]（仅显示这一次；管理员，可审核、撤销、请假登记、导入、印发）  Ctrl-C 停止",
                soft_wrap=True,
            )
            out.print(
                f"控制台的配置文件：{served}（数据库 {config.database.url}）；"
                "其他命令加 --config 指向它，例如新增账号：\n"
                f"  monitor --config {served} user add 姓名 --role supervisor",
                soft_wrap=True,
                highlight=False,
            )
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
            recorder.stop()
