"""Cameras, their seat zones, and the person detector. (Owned by the camera-worker work: extend freely.)"""

from __future__ import annotations

from pydantic import Field

from monitor.config.base import Section


class DetectorConfig(Section):
    weights: str = Field("models/yolo11n.pt", description="Weights ultralytics loads (.pt, .onnx, OpenVINO dir).")


class CameraConfig(Section):
    id: str = Field(description="Camera id, used in topics and commands.")
    url: str = Field(description="RTSP/HTTP URL, a video file path, or a device index such as 0.")
