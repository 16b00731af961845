"""`monitor bench`: the synthetic-hall benchmark, naive and optimised pipelines side by side."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from monitor.cli import app
from monitor.cli.output import err, out
from monitor.errors import InputError
from monitor.tools.bench.hall import BenchSpec
from monitor.tools.bench.report import BenchReport, compare
from monitor.tools.bench.runner import MODES
from monitor.units import parse_duration


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}s"


def report_table(report: BenchReport) -> Table:
    modes = report.modes
    table = Table(
        title=f"基准测试 {report.cameras} cameras x {report.windows} windows, {report.seconds}s of video, "
        f"reverify {report.reverify_seconds:.0f}s"
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
        ("cores at real time", "{:.2f}", [m.cores_at_real_time for m in modes]),
        ("real-time factor (>= 1)", "{:.2f}", [m.realtime_factor for m in modes]),
        ("peak memory MB", "{:.0f}", [m.peak_memory_mb for m in modes]),
        ("frame latency p95 s", "{:.2f}", [m.frame_latency_p95 for m in modes]),
        ("frame latency worst s", "{:.2f}", [m.frame_latency_worst for m in modes]),
    ]
    for label, form, values in rows:
        table.add_row(label, *[form.format(v) for v in values])
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
    stream_fps: Annotated[float, typer.Option(help="Frame rate of the synthetic camera streams.")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON on stdout.")] = False,
) -> None:
    """基准测试 — a synthetic hall through the naive and the optimised pipeline: CPU, memory, delay."""
    try:
        every = parse_duration(reverify)
    except ValueError as exc:
        raise InputError(f"--reverify: {exc}") from None
    if every.total_seconds() <= 0:
        raise InputError(f"--reverify {reverify}: must be longer than 0s")
    spec = BenchSpec(cameras=cameras, windows=windows, seconds=seconds, reverify=every, stream_fps=stream_fps)
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as scratch:
        folder = workdir or Path(scratch)
        progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err)
        with progress:
            build = progress.add_task("合成视频 building the hall", total=cameras)
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
        f"naive-tuned / optimised (gating and tiling alone): [bold]{report.tuned_ratio:.1f}x[/]"
    )
    out.print("machine: " + "; ".join(f"{k}: {v}" for k, v in report.machine.items()), highlight=False)
