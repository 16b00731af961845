"""Cameras (摄像头): each camera by a name a supervisor knows, whether it is really watching (在线 only with its
statistics heard), its current picture with its seat zones drawn, its frame rate, detector timing and latest
statistics, as its camera service reports them."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal

import cv2
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from monitor.config import CameraConfig
from monitor.config.video import window_runs
from monitor.console.auth import Viewer
from monitor.console.deps import ConsoleDep
from monitor.core.board import CameraReport
from monitor.core.cameras import CameraState, camera_state
from monitor.errors import MonitorError
from monitor.formatting import plain
from monitor.services.calibration import zones_picture

router = APIRouter()
log = logging.getLogger(__name__)
PICTURE_TTL = 30.0
"""Seconds a camera's drawn picture is reused before the camera is read again."""


@dataclass(frozen=True, slots=True)
class CameraView:
    """One camera as the page shows it."""

    id: str
    """For the picture's address only; never shown."""
    title: str
    windows: str
    state: CameraState
    report: CameraReport | None
    detect_fps: str
    """The configured sampling rate, as a number people read (1, 0.5)."""


@router.get("/cameras")
def cameras(request: Request, who: Viewer, console: ConsoleDep) -> Response:
    config = console.config
    live = console.live.cameras(console.now())
    views = [
        CameraView(
            id=camera.id,
            title=camera.place,
            windows=window_runs([zone.window for zone in camera.windows]),
            state=camera_state(config, camera, live.get(camera.id)),
            report=live.get(camera.id),
            detect_fps=plain(Decimal(str(camera.detect_fps))),
        )
        for camera in config.cameras
    ]
    return console.page(request, "cameras.html", {"cameras": views})


@router.get("/cameras/{camera_id}/zones.jpg")
async def picture(camera_id: str, who: Viewer, console: ConsoleDep) -> Response:
    camera = next((c for c in console.config.cameras if c.id == camera_id), None)
    if camera is None:
        return Response("没有这个摄像头", status_code=404, media_type="text/plain; charset=utf-8")

    def grab(camera: CameraConfig) -> bytes:
        with console.camera_reads:
            cached = console.pictures.get(camera.id)
            if cached and time.monotonic() - cached[0] < PICTURE_TTL:
                return cached[1]
            made = zones_picture(console.config, camera)
            ok, encoded = cv2.imencode(".jpg", made.picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
            if not ok:
                raise MonitorError("JPEG 编码失败")
            console.pictures[camera.id] = (time.monotonic(), encoded.tobytes())
            return encoded.tobytes()

    try:
        data = await run_in_threadpool(grab, camera)
    except MonitorError as exc:  # the source's reason names the camera's id and address, in English: logged
        log.warning("cameras page: no picture from camera %s: %s", camera.id, exc)
        message = f"无法取得{camera.place}的画面：摄像头暂时读不到，请稍后刷新；如持续如此，请管理员查看控制台日志"
        return Response(message, status_code=503, media_type="text/plain; charset=utf-8")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
