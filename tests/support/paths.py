"""Where things are: every path is inside the repository, so a fresh clone has them all.

The workplace's shared folder beside the repository (../shared) is never required: a second detector
and the ultralytics demo photographs are used as extra cases only when it is there.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED_HALL = ROOT / "config" / "hedong.toml"
"""The seed hall (河东区政务服务中心): 27 departments, 93 windows, the November 2020 rules."""
SEED = ROOT / "fixtures" / "seed"
"""The seed month's input files (CSV and XLSX), as the hall writes them."""
VIDEOS = ROOT / "fixtures" / "videos"
FIXTURE_HALL = VIDEOS / "hall.toml"
"""The fixture hall of the clips in fixtures/videos (short thresholds; paths relative to ROOT)."""
MODELS = ROOT / "models"
WEIGHTS = MODELS / "yolo11n_int8_320.onnx"
"""The shipped detector (YOLO11n COCO, int8 ONNX, imgsz 320)."""

SHARED = ROOT.parent / "shared"
EXTRA_WEIGHTS = SHARED / "models" / "yolov8n_int8.onnx"
"""A second detector (YOLOv8n int8, imgsz 640), tested as an extra case when present."""
DEMO_IMAGES = SHARED / "images"
"""The ultralytics demo photographs bus.jpg and zidane.jpg, for extra cases when present."""
