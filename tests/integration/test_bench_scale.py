"""`monitor bench --modes`: the optimised pipeline alone (how it is measured at 24, 48 and 96 cameras), with its CPU
per camera-hour and its memory, the whole and per camera. Behaviour on a tiny hall, not timings (docs/benchmarks.md,
"Scale")."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from monitor.errors import InputError
from monitor.tools.bench.hall import MODES, BenchSpec
from tests.support.paths import ROOT


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "bench", "--cameras", "3", "--windows", "2", "--seconds", "8", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )


def test_the_optimised_pipeline_runs_alone_and_reports_cpu_per_camera_hour_and_memory() -> None:
    done = bench("--modes", "optimised", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    (optimised,) = report["modes"]
    assert optimised["mode"] == "optimised" and optimised["frames"] == 3 * 8
    # No other pipeline ran: nothing to compare with.
    assert report["cpu_ratio"] is None and report["tuned_ratio"] is None and report["evidence_share"] is None
    camera_hours = 3 * 8 / 3600
    assert optimised["cpu_seconds_per_camera_hour"] == pytest.approx(optimised["cpu_seconds"] / camera_hours)
    assert optimised["detector_ms_per_call"] > 0 and 1 <= optimised["regions_per_call"] <= 4  # 2x2 tiles a call
    # Memory: the process's peak, what it holds with the detector loaded, and what each camera adds to it.
    assert optimised["peak_memory_mb"] >= optimised["running_memory_mb"] > optimised["baseline_memory_mb"] > 50
    assert optimised["memory_per_camera_mb"] == pytest.approx(
        (optimised["running_memory_mb"] - optimised["baseline_memory_mb"]) / 3
    )
    assert report["machine"]["memory"].endswith("GiB")


def test_the_table_names_the_figures_and_leaves_out_the_ratios_of_modes_not_run() -> None:
    done = bench("--modes", "naive,optimised")
    assert done.returncode == 0, done.stderr[-2000:]
    for figure in ("CPU s per camera-hour", "peak memory (RSS) MB", "each camera adds", "CPU naive / optimised"):
        assert figure in done.stdout
    assert "naive-tuned / optimised" not in done.stdout and "evidence" not in done.stdout


def test_unknown_modes_are_refused() -> None:
    done = bench("--modes", "optimised,fastest")
    assert done.returncode == 1 and "--modes" in done.stderr and "Traceback" not in done.stderr
    with pytest.raises(InputError, match="--modes"):
        BenchSpec(modes=("fastest",))
    assert BenchSpec().modes == MODES  # every pipeline unless told otherwise
