"""The benchmark's report: every mode's figures side by side, the machine, and the run that makes it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2

from monitor.config import MonitorConfig
from monitor.tools.bench.hall import BenchSpec, build_hall
from monitor.tools.bench.measure import ModeFigures, figures, seat_changes
from monitor.tools.bench.runner import MODES, run_isolated


@dataclass(frozen=True, slots=True)
class BenchReport:
    cameras: int
    windows: int
    seconds: int
    reverify_seconds: float
    machine: dict[str, str]
    modes: tuple[ModeFigures, ...]

    @property
    def cpu_ratio(self) -> float:
        """CPU of the naive pipeline over the optimised one's."""
        return self.modes[0].cpu_seconds / max(self.modes[-1].cpu_seconds, 1e-9)

    @property
    def tuned_ratio(self) -> float:
        """CPU of the naive pipeline with the tuned session over the optimised one's: gating and tiling alone."""
        return self.modes[1].cpu_seconds / max(self.modes[-1].cpu_seconds, 1e-9)

    def to_json(self) -> str:
        ratios = {"cpu_ratio": round(self.cpu_ratio, 2), "tuned_ratio": round(self.tuned_ratio, 2)}
        return json.dumps({**asdict(self), **ratios}, ensure_ascii=False, indent=2)


def machine() -> dict[str, str]:
    import os
    import platform

    import onnxruntime

    model = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
                if line.startswith("model name")
            ),
            platform.processor() or "unknown",
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor() or "unknown"
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return {
        "load average (1, 5, 15 min) at the end": load,
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "opencv": cv2.__version__,
    }


def compare(
    spec: BenchSpec,
    fixtures: Path,
    workdir: Path,
    *,
    on_stage: Callable[[str], None] | None = None,
    on_built: Callable[[int, int], None] | None = None,
) -> BenchReport:
    """Build the synthetic hall, run both pipelines over it, one at a time, and compare them."""
    hall = build_hall(spec, fixtures, workdir, on_built)
    config = MonitorConfig.model_validate_json(hall.config_file.read_text(encoding="utf-8"))
    changes = seat_changes(hall, config)
    results = []
    for mode in MODES:
        if on_stage is not None:
            on_stage(mode)
        results.append(figures(run_isolated(mode, hall, spec), spec, changes))
    return BenchReport(
        spec.cameras, spec.windows, spec.seconds, spec.reverify.total_seconds(), machine(), tuple(results)
    )
