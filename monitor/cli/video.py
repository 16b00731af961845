"""Camera commands: `monitor worker` (live), `monitor replay` (a file as if live), `monitor eval` (clips vs truth)."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from monitor.adapters.files import load_truth
from monitor.adapters.video.detector import load_detector
from monitor.cli import app
from monitor.cli.context import parse_time, state
from monitor.cli.output import err, out
from monitor.config import load_config
from monitor.core.evaluation import ClipScore, match_clip, total
from monitor.errors import InputError
from monitor.services.camera import run_cameras
from monitor.services.gated import gate_settings, tune
from monitor.services.pipeline import Message, find_camera
from monitor.services.replay import replay, video_seconds

OPTIMISED_HELP = (
    "Optimised mode, as [detector] gating = true: per-zone motion gating, tiled detector calls (docs/benchmarks.md)."
)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )


@app.command("worker")
def worker(
    ctx: typer.Context,
    camera: Annotated[
        list[str] | None,
        typer.Option(
            "--camera",
            metavar="ID",
            help="Camera id from [[cameras]], repeatable; without it, every camera of the site (one process, one "
            "detector: a township centre's box, or the district's server pulling a centre's cameras).",
        ),
    ] = None,
) -> None:
    """摄像头工作进程 — watch cameras: seats, presence, incidents to MQTT (runs until Ctrl-C)."""
    config = state(ctx).config
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_cameras(config, stop, only=camera or None)


@app.command("replay")
def replay_command(
    ctx: typer.Context,
    video: Annotated[Path, typer.Argument(help="Video file to process.")],
    camera: Annotated[str, typer.Option("--camera", help="Camera id whose seat zones apply.")],
    start: Annotated[str, typer.Option("--start", help="Wall-clock time of the first frame (ISO 8601).")],
    offline: Annotated[bool, typer.Option("--offline", help="No broker, no database: only report.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the incidents found as JSON on stdout.")] = False,
    optimised: Annotated[bool, typer.Option("--optimised", help=OPTIMISED_HELP)] = False,
) -> None:
    """回放录像 — process a video file as if it were live from --start, as fast as possible."""
    config = state(ctx).config
    moment = parse_time(start, config, "--start")
    find_camera(config, camera)
    publish = None
    outbox = session = None
    if not offline:
        from monitor.adapters.mqtt.outbox import Outbox
        from monitor.adapters.mqtt.session import MqttSession

        session = MqttSession(config.mqtt, f"replay-{camera}")
        outbox = Outbox(Path(config.paths.data_dir) / f"outbox-replay-{camera}.sqlite", session)
        session.open()

        def publish(message: Message) -> None:
            outbox.put(message.topic, message.payload, retain=message.retain)

    try:
        with _progress() as bar:
            task = bar.add_task(f"回放 {video.name}", total=video_seconds(video))
            detector = load_detector(config.detector)
            tune(detector, config.detector)
            found = replay(
                config,
                camera,
                video,
                moment,
                publish=publish,
                progress=lambda s: bar.update(task, completed=s),
                detector=detector,
                gate=gate_settings(config.detector, force=optimised),
            )
    finally:
        if outbox is not None and session is not None:
            if not outbox.wait_empty(30):
                err.print(f"还有 {outbox.pending()} 条消息在发件箱中，下次启动时重发 / left in the outbox")
            outbox.close()
            session.close()
    if as_json:
        sys.stdout.write(json.dumps([f.to_json() for f in found], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{video.name}：发现 {len(found)} 起")
    for header in ("类型", "窗口", "开始", "结束", "分钟"):
        table.add_column(header)
    labels = {"late_arrival": "迟到", "empty_post": "空岗", "early_leave": "早退"}
    for f in found:
        ended = f"{f.ended_at:%H:%M:%S}" if f.ended_at else "—"
        table.add_row(labels.get(f.kind, f.kind), f.window, f"{f.started_at:%H:%M:%S}", ended, str(f.minutes))
    out.print(table)


def _seconds(value: dt.timedelta | None) -> str:
    return "—" if value is None else f"{value.total_seconds():.0f}s"


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder of clips with .truth.json sidecars.")],
    config_file: Annotated[
        Path | None, typer.Option("--config", help="Hall configuration (default: DIR/hall.toml).")
    ] = None,
    min_precision: Annotated[float, typer.Option(help="Fail below this total precision.")] = 1.0,
    min_recall: Annotated[float, typer.Option(help="Fail below this total recall.")] = 1.0,
    optimised: Annotated[bool, typer.Option("--optimised", help=OPTIMISED_HELP)] = False,
    tolerance: Annotated[
        float | None,
        typer.Option(help="Seconds a start may be off (default: one sampling interval + the confirmation time)."),
    ] = None,
) -> None:
    """评测 — replay every clip offline against its ground truth: precision, recall, timing error."""
    chosen = config_file or state(ctx).config_file or directory / "hall.toml"
    config = load_config(chosen)
    sidecars = sorted(directory.glob("*.truth.json"))
    if not sidecars:
        raise InputError(f"{directory}: no *.truth.json ground-truth files")
    truths = [(path, load_truth(path)) for path in sidecars]
    videos = []
    for path, truth in truths:
        clip = path.name.removesuffix(".truth.json")
        video = next((v for v in sorted(directory.glob(f"{clip}.*")) if not v.name.endswith(".json")), None)
        if video is None:
            raise InputError(f"{path}: no video {clip}.* next to it")
        videos.append((clip, video, truth))
    scores: list[ClipScore] = []
    lengths = [video_seconds(v) or 0.0 for _, v, _ in videos]
    with _progress() as bar:
        detector = load_detector(config.detector)
        tune(detector, config.detector)
        gate = gate_settings(config.detector, force=optimised)
        task = bar.add_task("评测", total=sum(lengths) or None)
        done = 0.0
        for (clip, video, truth), length in zip(videos, lengths, strict=True):
            bar.update(task, description=f"评测 {clip}")
            camera = find_camera(config, truth.camera)
            allowed = (
                dt.timedelta(seconds=tolerance)
                if tolerance is not None
                else dt.timedelta(seconds=1 / camera.detect_fps)
                + max(config.presence.arrive_after, config.presence.leave_after)
            )
            found = replay(
                config,
                truth.camera,
                video,
                truth.start,
                detector=detector,
                gate=gate,
                progress=lambda s, base=done: bar.update(task, completed=base + s),
            )
            done += length
            scores.append(match_clip(clip, truth.incidents, found, allowed))
    overall = total(scores)
    table = Table(title=f"评测 {directory}")
    for header in ("clip", "truth", "found", "matched", "precision", "recall", "max start error", "max end error"):
        table.add_column(header, justify="left" if header == "clip" else "right")
    for score in [*scores, overall]:
        table.add_row(
            score.clip,
            str(score.true_count),
            str(score.found_count),
            str(len(score.matches)),
            f"{score.precision:.2f}",
            f"{score.recall:.2f}",
            _seconds(score.max_start_error),
            _seconds(score.max_end_error),
            end_section=score is scores[-1],
        )
    out.print(table)
    for score in scores:
        for missed in score.missed:
            out.print(f"漏报 missed  {score.clip}: {missed.kind} {missed.window} {missed.started_at:%H:%M:%S}")
        for extra in score.spurious:
            out.print(f"误报 spurious {score.clip}: {extra.kind} {extra.window} {extra.started_at:%H:%M:%S}")
    if overall.precision < min_precision or overall.recall < min_recall:
        err.print(
            f"[bold red]below the thresholds:[/] precision {overall.precision:.2f} (min {min_precision}), "
            f"recall {overall.recall:.2f} (min {min_recall})"
        )
        raise typer.Exit(1)
