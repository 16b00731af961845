"""`monitor bench`: the synthetic-hall benchmark, naive and optimised pipelines side by side; `monitor
bench-recorder`: the recorder draining a backlog of signed incidents; `monitor bench-district`: the district (hall
and township centres) through bridged brokers into one recorder."""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from monitor.cli import app
from monitor.cli.output import err, out
from monitor.console.live import LiveHall
from monitor.errors import InputError
from monitor.tools.bench.district import DEFAULT_DATABASE, DistrictReport, DistrictSpec, Spread, run_district_bench
from monitor.tools.bench.hall import MODES, BenchSpec
from monitor.tools.bench.recorder import RecorderBenchReport, RecorderBenchSpec, run_recorder_bench
from monitor.tools.bench.report import BenchReport, compare
from monitor.units import parse_duration


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}s"


def _modes(text: str) -> tuple[str, ...]:
    """`--modes`: the named pipelines, in the order MODES runs them."""
    named = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(named - set(MODES))
    if unknown or not named:
        raise InputError(f"--modes {text}: name one or more of {', '.join(MODES)}, comma-separated")
    return tuple(mode for mode in MODES if mode in named)


def report_table(report: BenchReport) -> Table:
    modes = report.modes
    stream = report.stream if report.stream == "1fps" else f"{report.stream} H.264 25 fps, GOP {report.gop}"
    table = Table(
        title=f"基准测试 {report.cameras} cameras x {report.windows} windows, {report.seconds}s of video, "
        f"{stream} ({report.mosaics} distinct, {report.transport}), reverify {report.reverify_seconds:.0f}s"
    )
    table.add_column("figure")
    for mode in modes:
        table.add_column(mode.mode, justify="right")
    rows: list[tuple[str, str, list[float]]] = [
        ("frames decoded /s", "{:.1f}", [m.frames_per_second for m in modes]),
        ("detector calls /s", "{:.1f}", [m.detector_calls_per_second for m in modes]),
        ("detector calls", "{:.0f}", [m.detector_calls for m in modes]),
        ("zone readings by the detector", "{:.1f}%", [100 * m.zones_read_share for m in modes]),
        ("CPU s per camera-hour", "{:.1f}", [m.cpu_seconds_per_camera_hour for m in modes]),
        ("  decoding", "{:.1f}", [m.decode_seconds_per_camera_hour for m in modes]),
        ("  detector", "{:.1f}", [m.detector_seconds_per_camera_hour for m in modes]),
        ("  everything else", "{:.1f}", [m.other_seconds_per_camera_hour for m in modes]),
        ("frames decoded of the stream's", "{:.1f}%", [100 * m.decoded_share for m in modes]),
        ("samples held, not decoded", "{:.1f}%", [100 * m.held_share for m in modes]),
        ("seat readings per detector call", "{:.2f}", [m.regions_per_call for m in modes]),
        ("detector CPU ms per call", "{:.1f}", [m.detector_ms_per_call for m in modes]),
        ("cores at real time", "{:.2f}", [m.cores_at_real_time for m in modes]),
        ("real-time factor (>= 1)", "{:.2f}", [m.realtime_factor for m in modes]),
        ("peak memory (RSS) MB", "{:.0f}", [m.peak_memory_mb for m in modes]),
        ("memory (RSS) MB: detector loaded, no camera", "{:.0f}", [m.baseline_memory_mb for m in modes]),
        ("  at the end, every camera open", "{:.0f}", [m.running_memory_mb for m in modes]),
        ("  each camera adds", "{:.1f}", [m.memory_per_camera_mb for m in modes]),
        ("frame latency p95 s", "{:.2f}", [m.frame_latency_p95 for m in modes]),
        ("frame latency worst s", "{:.2f}", [m.frame_latency_worst for m in modes]),
    ]
    for label, form, values in rows:
        table.add_row(label, *[form.format(v) for v in values])
    table.add_row("decode mode", *[", ".join(m.decode_modes) for m in modes])
    for label, key in (("delay median", "median"), ("delay p95", "p95"), ("delay worst", "worst")):
        table.add_row(label, *[_seconds(getattr(m.delays, key)) for m in modes])
    table.add_row("seat changes published", *[f"{m.delays.matched}/{m.delays.changes}" for m in modes])
    return table


@app.command("bench")
def bench_command(
    cameras: Annotated[int, typer.Option(help="Synthetic cameras.")] = 24,
    windows: Annotated[int, typer.Option(help="Windows (seats) each camera sees.")] = 4,
    seconds: Annotated[int, typer.Option(help="Seconds of video per camera.")] = 120,
    reverify: Annotated[str, typer.Option(help="Optimised mode: re-read a static zone this often.")] = "10s",
    fixtures: Annotated[Path, typer.Option(help="Fixture clips with ground truth and hall.toml.")] = Path(
        "fixtures/videos"
    ),
    workdir: Annotated[
        Path | None, typer.Option(help="Where the synthetic videos go (default: a temporary folder).")
    ] = None,
    stream: Annotated[
        str,
        typer.Option(help="Camera streams: 1fps (MPEG-4, 1 frame a second), d1 (704x576) or 1080p (H.264, 25 fps)."),
    ] = "1fps",
    gop: Annotated[int, typer.Option(help="H.264 streams: frames between keyframes.")] = 50,
    transport: Annotated[
        str, typer.Option(help="file (read as fast as the pipeline goes) or rtsp (a real RTSP server, real time).")
    ] = "file",
    distinct: Annotated[
        int | None,
        typer.Option(help="Distinct mosaics written, shared by the cameras (default: all for 1fps, 4 else)."),
    ] = None,
    modes: Annotated[
        str,
        typer.Option(
            help=f"The pipelines to run, comma-separated ({', '.join(MODES)}); e.g. optimised alone at larger "
            "camera counts. Default: all."
        ),
    ] = ",".join(MODES),
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON on stdout.")] = False,
) -> None:
    """基准测试 — a synthetic hall through the naive and the optimised pipeline: CPU, memory, delay."""
    try:
        every = parse_duration(reverify)
    except ValueError as exc:
        raise InputError(f"--reverify: {exc}") from None
    if every.total_seconds() <= 0:
        raise InputError(f"--reverify {reverify}: must be longer than 0s")
    if transport not in ("file", "rtsp"):
        raise InputError(f"--transport {transport}: use file or rtsp")
    spec = BenchSpec(
        cameras=cameras,
        windows=windows,
        seconds=seconds,
        reverify=every,
        stream=stream,  # type: ignore[arg-type]  # checked by BenchSpec
        gop=gop,
        transport=transport,  # type: ignore[arg-type]
        distinct=distinct,
        modes=_modes(modes),
    )
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as scratch:
        folder = workdir or Path(scratch)
        progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err)
        with progress:
            build = progress.add_task("合成视频 building the hall", total=spec.mosaics)
            run = progress.add_task("运行 running", total=len(spec.modes), visible=False)

            def built(done: int, total: int) -> None:
                progress.update(build, completed=done, total=total)

            def stage(mode: str) -> None:
                progress.update(run, visible=True, description=f"运行 running {mode}", completed=spec.modes.index(mode))

            report = compare(spec, fixtures, folder, on_stage=stage, on_built=built)
            progress.update(run, completed=len(spec.modes))
    if as_json:
        sys.stdout.write(report.to_json() + "\n")
        return
    out.print(report_table(report))
    ratios = [
        (label, form.format(value))
        for label, form, value in (
            ("CPU naive / optimised", "{:.1f}x", report.cpu_ratio),
            ("naive-tuned / optimised (gating and tiling alone)", "{:.1f}x", report.tuned_ratio),
            ("evidence (clips, pictures, citizens blurred) adds", "{:+.1%} CPU", report.evidence_share),
        )
        if value is not None
    ]
    if ratios:
        out.print("; ".join(f"{label}: [bold]{value}[/]" for label, value in ratios))
    out.print("machine: " + "; ".join(f"{k}: {v}" for k, v in report.machine.items()), highlight=False)


def recorder_table(report: RecorderBenchReport) -> Table:
    table = Table(
        title=f"记录器基准测试 recorder drain: {report.incidents:,} signed incidents queued while it was down, "
        f"{report.database}"
    )
    table.add_column("指标 figure")
    table.add_column("value", justify="right")
    first, last, slowest = report.first_block, report.last_block, report.slowest_block
    rows = [
        ("总速率 overall incidents/s", f"{report.rate:.0f}"),
        (f"首块 first block ({first.first:,}-{first.last:,}) /s", f"{first.rate:.0f}"),
        (f"块中位数 median block of {report.block:,} /s", f"{report.median_rate:.0f}"),
        (f"末块 last block ({last.first:,}-{last.last:,}) /s", f"{last.rate:.0f}"),
        (f"最慢块 slowest block (#{slowest.index}: {slowest.first:,}-{slowest.last:,}) /s", f"{slowest.rate:.0f}"),
        ("每块 every block /s", " ".join(f"{b.rate:.0f}" for b in report.blocks)),
        ("总耗时 drain time, start to last incident", f"{report.drain_seconds:.1f}s"),
        ("启动 start to first batch committed", f"{report.first_commit_seconds:.2f}s"),
        (
            "批次 batches applied: count, mean / largest size",
            f"{report.batches:,}, {report.incidents / report.batches:.0f} / {report.largest_batch}",
        ),
        ("CPU seconds (this process)", f"{report.cpu_seconds:.1f}"),
        ("CPU ms per incident", f"{report.cpu_ms_per_incident:.2f}"),
        ("cores busy", f"{report.cores_busy:.2f}"),
        ("publishing the backlog (QoS 1)", f"{report.publish_seconds:.1f}s"),
    ]
    verified = report.verified
    rows += [
        ("已记录 incidents recorded", f"{verified.incidents:,} / {report.incidents:,}"),
        ("告警 alert rows", f"{verified.alerts:,} / {verified.expected_alerts:,}"),
        ("拒绝 rejected", str(verified.rejected)),
        ("statuses", ", ".join(f"{k} {v:,}" for k, v in sorted(verified.statuses.items()))),
    ]
    for label, value in rows:
        table.add_row(label, value)
    return table


@app.command("bench-recorder")
def bench_recorder_command(
    incidents: Annotated[int, typer.Option(help="Signed incidents queued for the recorder.")] = 20_000,
    database: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL: a new SQLite file, or PostgreSQL (a schema of its own is created and dropped), "
            "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test. Default: a SQLite file in a temporary folder."
        ),
    ] = None,
    block: Annotated[int, typer.Option(help="Incidents per block of the sustained rates.")] = 1_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON on stdout.")] = False,
) -> None:
    """记录器基准测试 — how fast the recorder drains signed incidents the broker kept while it was down."""
    spec = RecorderBenchSpec(incidents=incidents, database=database, block=block)
    stages = {"sign": "签名 signing", "publish": "发布 publishing (recorder down)", "drain": "记录 recording"}
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    # The recorder logs every message at INFO: not on the terminal during the run (warnings still are).
    quiet = logging.getLogger("monitor")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        with progress:
            tasks = {stage: progress.add_task(label, total=incidents) for stage, label in stages.items()}

            def advance(stage: str, done: int, total: int) -> None:
                progress.update(tasks[stage], completed=done, total=total)

            report = run_recorder_bench(spec, on_progress=advance)
    finally:
        quiet.setLevel(level)
    if as_json:
        sys.stdout.write(report.to_json() + "\n")
        return
    out.print(recorder_table(report))
    if report.verified.duplicates:
        out.print(
            f"[yellow]注意 note:[/] {report.verified.duplicates:,} of {report.incidents:,} incidents, each sent once, "
            "were reported as duplicates: batches applied again after a partial commit (docs/benchmarks.md)"
        )
    out.print("machine: " + "; ".join(f"{k}: {v}" for k, v in report.machine.items()), highlight=False)


def _spread(spread: Spread) -> str:
    if spread.median is None or spread.p95 is None or spread.worst is None:
        return "—"
    return f"{1000 * spread.median:.0f} / {1000 * spread.p95:.0f} / {1000 * spread.worst:.0f} ms ({spread.count:,})"


def district_table(report: DistrictReport) -> Table:
    table = Table(
        title=f"区级模拟 district simulation: {report.sites} sites ({report.centres} centres bridged), "
        f"{report.cameras} cameras, {report.windows} windows, {report.seconds:.0f}s, {report.database}"
    )
    table.add_column("指标 figure")
    table.add_column("value", justify="right")
    run = report.recorder
    published = ", ".join(f"{kind} {n:,}" for kind, n in sorted(report.published.items()))
    rows = [
        ("发布 published in the run", published),
        (
            "消息/秒 messages per second (all / recorded)",
            f"{report.messages_per_second:.1f} / {report.recorded_per_second:.2f}",
        ),
        ("记录延迟 recorder lag, publish -> committed: median / p95 / max", _spread(report.recorder_lag["all"])),
        ("  the hall (its cameras on the district broker)", _spread(report.recorder_lag["hall"])),
        ("  the centres (through their bridges)", _spread(report.recorder_lag["centres"])),
        ("看板延迟 board delay, publish -> on the board: median / p95 / max", _spread(report.board_delay["all"])),
        ("  the hall", _spread(report.board_delay["hall"])),
        ("  the centres", _spread(report.board_delay["centres"])),
        ("states replaced before the board showed them", str(report.superseded)),
        ("记录器 CPU seconds (one process, every site's recorder)", f"{run.cpu_seconds:.1f}"),
        ("  cores busy (in a quiet spell before the run)", f"{report.recorder_cores:.3f} ({report.idle_cores:.3f})"),
        ("  CPU ms per message received", f"{report.cpu_ms_per_message:.2f}"),
        ("  batches committed", f"{run.batches:,}"),
        ("  peak memory (RSS) MB / at the end", f"{run.peak_memory_mb:.0f} / {run.memory_mb:.0f}"),
        ("  threads", str(run.threads)),
        (
            "消息服务器 brokers' CPU seconds: district / centres",
            f"{report.broker_cpu_seconds['district']:.1f} / {report.broker_cpu_seconds['centres']:.1f}",
        ),
        ("已记录 incidents by site", ", ".join(f"{s} {n}" for s, n in report.verified.incidents_by_site.items())),
        (
            "incidents / events / window states / alerts",
            f"{report.verified.incidents:,} / {report.verified.events:,} / {report.verified.window_states:,} / "
            f"{report.verified.incident_alerts:,}",
        ),
        ("statuses", ", ".join(f"{k} {v:,}" for k, v in sorted(run.statuses.items()))),
    ]
    for label, value in rows:
        table.add_row(label, value)
    return table


@app.command("bench-district")
def bench_district_command(
    centres: Annotated[int, typer.Option(help="Township centres, each with a broker bridged to the district's.")] = 12,
    centre_windows: Annotated[int, typer.Option(help="Windows of each centre.")] = 25,
    centre_cameras: Annotated[int, typer.Option(help="Cameras of each centre.")] = 10,
    hall_windows: Annotated[int, typer.Option(help="Windows of the hall (the seed hall's first N, at most 93).")] = 93,
    hall_cameras: Annotated[int, typer.Option(help="Cameras of the hall.")] = 24,
    seconds: Annotated[int, typer.Option(help="Seconds of the measured run.")] = 180,
    state_every: Annotated[float, typer.Option(help="Mean seconds between a window's state changes.")] = 300.0,
    stats_every: Annotated[float, typer.Option(help="Seconds between a camera's statistics.")] = 10.0,
    incidents_per_window_day: Annotated[
        float, typer.Option(help="Camera incidents per window and working day; a day's are spread over the run.")
    ] = 0.15,
    database: Annotated[
        str,
        typer.Option(
            help="SQLAlchemy URL of the district's store: PostgreSQL (a schema of its own is created and dropped), or "
            "a new SQLite file."
        ),
    ] = DEFAULT_DATABASE,
    deploy: Annotated[
        Path,
        typer.Option(help="The shipped district broker configuration the brokers run (district.conf, centre.conf)."),
    ] = Path("deploy/mosquitto/district"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON on stdout.")] = False,
) -> None:
    """区级模拟 — the district (hall and centres) through bridged brokers into one recorder: lag, delay, CPU."""
    spec = DistrictSpec(
        centres=centres,
        centre_windows=centre_windows,
        centre_cameras=centre_cameras,
        hall_windows=hall_windows,
        hall_cameras=hall_cameras,
        seconds=seconds,
        state_every=state_every,
        stats_every=stats_every,
        incidents_per_window_day=incidents_per_window_day,
        database=database,
        deploy=deploy,
    )
    labels = {"start": "开始 first states committed", "run": "运行 running (s)", "drain": "记录 last committed"}
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    )
    quiet = logging.getLogger("monitor")  # the console's live view warns of nothing worth a line per message here
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with progress:
            tasks = {stage: progress.add_task(label, total=None) for stage, label in labels.items()}

            def advance(stage: str, done: float, total: float) -> None:
                progress.update(tasks[stage], completed=round(done), total=round(total))

            report = run_district_bench(spec, LiveHall, on_progress=advance)
    finally:
        quiet.setLevel(level)
    if as_json:
        sys.stdout.write(report.to_json() + "\n")
        return
    out.print(district_table(report))
    out.print("machine: " + "; ".join(f"{k}: {v}" for k, v in report.machine.items()), highlight=False)
