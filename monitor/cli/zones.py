"""`monitor zones`: a camera's current picture with its seat zones drawn, for calibrating the polygons."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import cv2
import typer
from rich.table import Table

from monitor.adapters.video.zones import seat_zones
from monitor.cli import app
from monitor.cli.context import state
from monitor.cli.output import out as console
from monitor.config import MonitorConfig
from monitor.config.video import CameraConfig
from monitor.errors import InputError
from monitor.services.calibration import zones_picture
from monitor.units import parse_duration


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
    made = zones_picture(config, camera, offset=offset, detect=detect, grid=grid)
    picture, width, height, readings = made.picture, made.width, made.height, made.readings
    zones_ = seat_zones(camera)
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
