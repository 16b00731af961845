"""`monitor zones`: a camera's current picture with its seat zones drawn, for calibrating the polygons."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import cv2
import typer
from rich.table import Table

from monitor.adapters.video.annotate import annotate, draw_grid
from monitor.adapters.video.detector import Detections
from monitor.adapters.video.source import grab_frame
from monitor.adapters.video.zones import exclusion_zones, read_seats, seat_zones
from monitor.cli import app
from monitor.cli.context import state
from monitor.cli.output import out as console
from monitor.config import MonitorConfig
from monitor.config.video import CameraConfig
from monitor.errors import InputError
from monitor.units import parse_duration

MIN_WIDTH = 960
"""Small camera pictures are enlarged to at least this width so that labels stay readable."""


def _camera(config: MonitorConfig, camera_id: str) -> CameraConfig:
    for camera in config.cameras:
        if camera.id == camera_id:
            return camera
    known = ", ".join(c.id for c in config.cameras) or "none configured"
    raise InputError(f"--camera {camera_id!r}: no such camera in the configuration (cameras: {known})")


@app.command("zones")
def zones(
    ctx: typer.Context,
    camera_id: Annotated[str, typer.Option("--camera", help="Camera id (the id of one of the configured cameras).")],
    out: Annotated[Path, typer.Option("--out", help="Picture to write (.png or .jpg).")],
    at: Annotated[str, typer.Option("--at", help='For a video file: where to take the picture, e.g. "2m".')] = "0s",
    detect: Annotated[
        bool, typer.Option("--detect", help="Also run the detector: person boxes and each seat's score.")
    ] = False,
    grid: Annotated[bool, typer.Option("--grid/--no-grid", help="Draw the 0-1 coordinate grid.")] = True,
) -> None:
    """座位区域标定 — draw a camera's seat zones and citizen-side areas on its current picture."""
    config = state(ctx).config
    camera = _camera(config, camera_id)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise InputError(f"--out {out}: write a .png or .jpg file")
    try:
        offset = parse_duration(at)
    except ValueError as exc:
        raise InputError(f"--at: {exc}") from None
    image = grab_frame(camera, offset=offset, timeout=camera.offline_after)
    zones_, exclusions = seat_zones(camera), exclusion_zones(camera)
    detections = readings = None
    if detect:
        from monitor.adapters.video.detector import load_detector  # loads ultralytics: only when asked

        detections = load_detector(config.detector).detect(image)
        readings = read_seats(detections, zones_, exclusions, image.shape, min_overlap=camera.min_overlap)
    height, width = image.shape[:2]
    factor = -(-MIN_WIDTH // width)  # ceil: enlarge small pictures by a whole factor
    if factor > 1:
        image = cv2.resize(image, (width * factor, height * factor), interpolation=cv2.INTER_NEAREST)
        if detections is not None:
            detections = Detections(detections.xyxy * factor, detections.confidence)
    picture = annotate(
        draw_grid(image) if grid else image,
        camera=camera.id,
        at=datetime.now(config.hall.tz),
        zones=zones_,
        exclusions=exclusions,
        detections=detections,
        readings=readings,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), picture):
        raise InputError(f"--out {out}: cannot write the picture there")
    console.print(f"已保存 {out}：摄像头 {camera.id}（{camera.url}），画面 {width}×{height}")
    table = Table("窗口", "座位区域（相对坐标）", *(["人员得分", "在岗"] if readings else []))
    for zone in zones_:
        row = [zone.window, " ".join(f"[{x:.3f}, {y:.3f}]" for x, y in zone.polygon)]
        if readings:
            reading = readings[zone.window]
            row += [f"{reading.score:.2f}", "是" if reading.occupied else "否"]
        table.add_row(*row)
    console.print(table)
    if not zones_:
        console.print("[yellow]注意[/]：该摄像头未配置座位区域（cameras.windows），请按网格坐标填写")
