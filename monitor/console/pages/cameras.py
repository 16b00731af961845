"""Cameras (摄像头): each camera's current picture with its seat zones drawn, its frame rate, detector timing and
latest statistics, as its camera service reports them."""

from __future__ import annotations

import time

import cv2
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from monitor.console.auth import Viewer
from monitor.console.context import console_of
from monitor.errors import MonitorError
from monitor.services.calibration import zones_picture

router = APIRouter()
PICTURE_TTL = 30.0
"""Seconds a camera's drawn picture is reused before the camera is read again."""


@router.get("/cameras")
def cameras(request: Request, who: Viewer) -> Response:
    console = console_of(request)
    live = console.live.cameras(console.now())
    rows = [(camera, live.get(camera.id)) for camera in console.config.cameras]
    return console.page(request, "cameras.html", {"rows": rows})


@router.get("/cameras/{camera_id}/zones.jpg")
async def picture(request: Request, camera_id: str, who: Viewer) -> Response:
    console = console_of(request)
    camera = next((c for c in console.config.cameras if c.id == camera_id), None)
    if camera is None:
        return Response("没有这个摄像头", status_code=404, media_type="text/plain; charset=utf-8")

    def grab() -> bytes:
        with console.camera_reads:
            cached = console.pictures.get(camera_id)
            if cached and time.monotonic() - cached[0] < PICTURE_TTL:
                return cached[1]
            made = zones_picture(console.config, camera)
            ok, encoded = cv2.imencode(".jpg", made.picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
            if not ok:
                raise MonitorError("JPEG 编码失败")
            console.pictures[camera_id] = (time.monotonic(), encoded.tobytes())
            return encoded.tobytes()

    try:
        data = await run_in_threadpool(grab)
    except MonitorError as exc:
        return Response(f"无法取得画面：{exc}", status_code=503, media_type="text/plain; charset=utf-8")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
