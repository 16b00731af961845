"""The benchmark's report: every mode's figures side by side, the machine, and the run that makes it."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2

from monitor.config import MonitorConfig
from monitor.tools.bench.hall import BenchSpec, SyntheticHall, build_hall
from monitor.tools.bench.machine import basics, cpuinfo
from monitor.tools.bench.measure import ModeFigures, figures, seat_changes
from monitor.tools.bench.runner import run_isolated
from monitor.tools.streams.rtsp import RtspServer


@dataclass(frozen=True, slots=True)
class BenchReport:
    cameras: int
    windows: int
    seconds: int
    reverify_seconds: float
    stream: str
    gop: int
    transport: str
    mosaics: int
    machine: dict[str, str]
    modes: tuple[ModeFigures, ...]

    def mode(self, name: str) -> ModeFigures | None:
        return next((m for m in self.modes if m.mode == name), None)

    def _ratio(self, numerator: str, denominator: str) -> float | None:
        """CPU of one mode over another's; None when either was not run."""
        top, bottom = self.mode(numerator), self.mode(denominator)
        if top is None or bottom is None:
            return None
        return top.cpu_seconds / max(bottom.cpu_seconds, 1e-9)

    @property
    def cpu_ratio(self) -> float | None:
        """CPU of the naive pipeline over the optimised one's."""
        return self._ratio("naive", "optimised")

    @property
    def tuned_ratio(self) -> float | None:
        """CPU of the naive pipeline with the tuned session over the optimised one's: gating and tiling alone."""
        return self._ratio("naive-tuned", "optimised")

    @property
    def evidence_share(self) -> float | None:
        """What the evidence (clip frames, blurring, pictures and clips) adds to the optimised pipeline's CPU."""
        ratio = self._ratio("evidence", "optimised")
        return None if ratio is None else ratio - 1

    def to_json(self) -> str:
        ratios = {
            "cpu_ratio": _rounded(self.cpu_ratio, 2),
            "tuned_ratio": _rounded(self.tuned_ratio, 2),
            "evidence_share": _rounded(self.evidence_share, 3),
        }
        return json.dumps({**asdict(self), **ratios}, ensure_ascii=False, indent=2)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def machine() -> dict[str, str]:
    import av
    import onnxruntime

    flags = set((cpuinfo("flags") or "").split())
    # int8 inference runs about twice as fast with VNNI: the same "AMD EPYC" name covers both kinds here.
    vnni = "AVX-512 VNNI" if "avx512_vnni" in flags else "AVX-VNNI" if "avx_vnni" in flags else "none"
    return {
        **basics(),
        "int8 dot-product instructions": vnni if flags else "unknown",
        "onnxruntime": onnxruntime.__version__,
        "opencv": cv2.__version__,
        "pyav": f"{av.__version__} (FFmpeg {av.library_versions['libavcodec']})",
    }


def compare(
    spec: BenchSpec,
    fixtures: Path,
    workdir: Path,
    *,
    on_stage: Callable[[str], None] | None = None,
    on_built: Callable[[int, int], None] | None = None,
) -> BenchReport:
    """Build the synthetic hall, run the spec's pipelines over it, one at a time, and compare them. With the rtsp
    transport a real RTSP server plays the hall's streams in real time for each run."""
    hall = build_hall(spec, fixtures, workdir, on_built)
    config = MonitorConfig.model_validate_json(hall.config_file.read_text(encoding="utf-8"))
    changes = seat_changes(hall, config)
    results = []
    with contextlib.ExitStack() as stack:
        if spec.transport == "rtsp":
            hall = _served(hall, config, stack)
        for mode in spec.modes:
            if on_stage is not None:
                on_stage(mode)
            results.append(figures(run_isolated(mode, hall, spec), spec, changes))
    return BenchReport(
        spec.cameras,
        spec.windows,
        spec.seconds,
        spec.reverify.total_seconds(),
        spec.stream,
        spec.gop,
        spec.transport,
        spec.mosaics,
        machine(),
        tuple(results),
    )


def _served(hall: SyntheticHall, config: MonitorConfig, stack: contextlib.ExitStack) -> SyntheticHall:
    """The hall with its cameras on a real RTSP server (started here, stopped when `stack` closes)."""
    mounts = {f"m{n}": video for n, video in enumerate(sorted(set(hall.videos.values())))}
    mount_of = {video: mount for mount, video in mounts.items()}
    server = stack.enter_context(RtspServer(mounts))
    cameras = [c.model_copy(update={"url": server.url(mount_of[hall.videos[c.id]])}) for c in config.cameras]
    served = hall.config_file.with_name("hall-rtsp.json")
    served.write_text(config.model_copy(update={"cameras": cameras}).model_dump_json(), encoding="utf-8")
    return dataclasses.replace(hall, config_file=served)
