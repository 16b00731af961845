"""`monitor bench`: the synthetic-hall benchmark, naive and optimised pipelines side by side; `monitor
bench-recorder`: the recorder draining a backlog of signed incidents."""

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
from monitor.errors import InputError
from monitor.tools.bench.hall import BenchSpec
from monitor.tools.bench.recorder import RecorderBenchReport, RecorderBenchSpec, run_recorder_bench
from monitor.tools.bench.report import BenchReport, compare
from monitor.tools.bench.runner import MODES
from monitor.units import parse_duration


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}s"


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
        ("cores at real time", "{:.2f}", [m.cores_at_real_time for m in modes]),
        ("real-time factor (>= 1)", "{:.2f}", [m.realtime_factor for m in modes]),
        ("peak memory MB", "{:.0f}", [m.peak_memory_mb for m in modes]),
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
    )
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as scratch:
        folder = workdir or Path(scratch)
        progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err)
        with progress:
            build = progress.add_task("合成视频 building the hall", total=spec.mosaics)
            run = progress.add_task("运行 running", total=len(MODES), visible=False)

            def built(done: int, total: int) -> None:
                progress.update(build, completed=done, total=total)

            def stage(mode: str) -> None:
                progress.update(run, visible=True, description=f"运行 running {mode}", completed=MODES.index(mode))

            report = compare(spec, fixtures, folder, on_stage=stage, on_built=built)
            progress.update(run, completed=len(MODES))
    if as_json:
        sys.stdout.write(report.to_json() + "\n")
        return
    out.print(report_table(report))
    out.print(
        f"CPU naive / optimised: [bold]{report.cpu_ratio:.1f}x[/]; "
        f"naive-tuned / optimised (gating and tiling alone): [bold]{report.tuned_ratio:.1f}x[/]; "
        f"evidence (clips, pictures, citizens blurred) adds [bold]{100 * report.evidence_share:+.1f}%[/] CPU"
    )
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
