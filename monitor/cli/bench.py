"""`monitor bench`: the synthetic-hall benchmark, naive and optimised pipelines side by side."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from monitor.bench import BenchReport, BenchSpec, compare
from monitor.cli import app
from monitor.errors import InputError
from monitor.units import parse_duration

err = Console(stderr=True)
out = Console()


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}s"


def report_table(report: BenchReport) -> Table:
    naive, optimised = report.modes
    table = Table(
        title=f"基准测试 {report.cameras} cameras x {report.windows} windows, {report.seconds}s of video, "
        f"reverify {report.reverify_seconds:.0f}s"
    )
    for header in ("figure", "naive", "optimised", "naive/optimised"):
        table.add_column(header, justify="left" if header == "figure" else "right")
    rows = [
        ("frames decoded /s", naive.frames_per_second, optimised.frames_per_second, "{:.1f}"),
        ("detector calls /s", naive.detector_calls_per_second, optimised.detector_calls_per_second, "{:.1f}"),
        ("detector calls", naive.detector_calls, optimised.detector_calls, "{:d}"),
        ("zone readings by the detector", naive.zones_read_share * 100, optimised.zones_read_share * 100, "{:.1f}%"),
        ("CPU s per camera-hour", naive.cpu_seconds_per_camera_hour, optimised.cpu_seconds_per_camera_hour, "{:.1f}"),
        ("cores at real time", naive.cores_at_real_time, optimised.cores_at_real_time, "{:.2f}"),
        ("real-time factor (>= 1)", naive.realtime_factor, optimised.realtime_factor, "{:.2f}"),
        ("peak memory MB", naive.peak_memory_mb, optimised.peak_memory_mb, "{:.0f}"),
    ]
    for label, a, b, form in rows:
        table.add_row(label, form.format(a), form.format(b), f"{a / b:.2f}" if b else "—")
    for label, key in (("delay median", "median"), ("delay p95", "p95"), ("delay worst", "worst")):
        table.add_row(label, _seconds(getattr(naive.delays, key)), _seconds(getattr(optimised.delays, key)), "")
    table.add_row(
        "seat changes published",
        f"{naive.delays.matched}/{naive.delays.changes}",
        f"{optimised.delays.matched}/{optimised.delays.changes}",
        "",
    )
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
            run = progress.add_task("运行 running", total=2, visible=False)

            def built(done: int, total: int) -> None:
                progress.update(build, completed=done, total=total)

            def stage(mode: str) -> None:
                done = 0 if mode == "naive" else 1
                progress.update(run, visible=True, description=f"运行 running {mode}", completed=done)

            report = compare(spec, fixtures, folder, on_stage=stage, on_built=built)
            progress.update(run, completed=2)
    if as_json:
        sys.stdout.write(report.to_json() + "\n")
        return
    out.print(report_table(report))
    out.print(f"CPU naive / optimised: [bold]{report.cpu_ratio:.1f}x[/]")
    out.print("machine: " + "; ".join(f"{k}: {v}" for k, v in report.machine.items()), highlight=False)
