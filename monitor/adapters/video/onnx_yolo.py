"""YOLO detection exports (.onnx) run by onnxruntime alone: the same detector as ultralytics, without PyTorch.

ultralytics runs .onnx weights through onnxruntime too, but importing it imports PyTorch (about
1 GB of a camera service's memory) and wraps every call in tensor conversions (0.7 ms a call on
a 320 canvas on a 2-vCPU VM with VNNI, about 6 ms on an AVX2-only one: docs/benchmarks.md).
For an ultralytics export with a fixed input size and the usual detection head (output
1 x (4 + classes) x anchors), this module does what ultralytics' predictor does, step for step
(ultralytics 8.4: `LetterBox`, `preprocess`, `non_max_suppression`, `scale_boxes`), so the boxes
are the same within float rounding (tests/video/test_onnx_yolo.py compares both on the fixture
clips):
- letterbox to the model's input: scale by min(side / image side), each side rounded, resized
  with bilinear interpolation, padded with grey 114 centred (the odd pixel of padding to the right
  and bottom);
- BGR to RGB, 0-1 floats, NCHW;
- candidates whose best class score exceeds `conf` and whose best class is the person; greedy
  non-maximum suppression at IoU 0.7 in descending score order, at most 300 boxes;
- boxes mapped back through the padding and scale, clipped to the image.

Other exports (dynamic input sizes, end-to-end heads with NMS inside) are left to ultralytics:
`yolo_onnx_layout` says whether this module can run them.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime

from monitor.adapters.video.detections import PAD_GREY, PERSON_CLASS, Detections

IOU = 0.7
"""ultralytics' default NMS IoU threshold for predict."""
MAX_DETECTIONS = 300
"""ultralytics' default `max_det`."""


def onnx_session(
    weights: str | Path, threads: int, providers: Sequence[str] = ("CPUExecutionProvider",)
) -> onnxruntime.InferenceSession:
    """An onnxruntime session (on the CPU unless told); `threads` > 0: that many inference threads and no
    spin-waiting.

    onnxruntime's default (one thread per core, spinning while waiting for work) costs about twice
    the CPU per call on a busy 2-core machine for the same result; with many cameras the parallelism
    comes from the loop, not from inside one call.
    """
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(weights), options, providers=list(providers))


@dataclass(frozen=True, slots=True)
class OnnxLayout:
    """What a YOLO detection export takes and gives, read from the file."""

    input_name: str
    height: int
    width: int
    names: dict[int, str]


def yolo_onnx_layout(session: onnxruntime.InferenceSession) -> OnnxLayout | None:
    """The layout of an ultralytics detection export with a fixed input and an NMS-free head; None for others."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) != 1:
        return None
    shape_in, shape_out = inputs[0].shape, outputs[0].shape
    if not all(isinstance(d, int) for d in (*shape_in, *shape_out)) or len(shape_in) != 4 or len(shape_out) != 3:
        return None
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get("task", "detect") != "detect" or meta.get("end2end", "False") == "True":
        return None
    try:
        names = ast.literal_eval(meta["names"])
    except (KeyError, ValueError, SyntaxError):
        return None
    if not isinstance(names, dict) or shape_in[0] != 1 or shape_in[1] != 3 or shape_out[1] != 4 + len(names):
        return None
    return OnnxLayout(inputs[0].name, shape_in[2], shape_in[3], {int(k): str(v) for k, v in names.items()})


@dataclass(frozen=True, slots=True)
class _Letterbox:
    size: tuple[int, int]  # the scaled image's width and height on the input
    left: int
    top: int


def _letterbox(image: np.ndarray, height: int, width: int) -> tuple[np.ndarray, _Letterbox]:
    h, w = image.shape[:2]
    r = min(height / h, width / w)
    size = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (width - size[0]) / 2, (height - size[1]) / 2
    top, bottom, left, right = round(dh - 0.1), round(dh + 0.1), round(dw - 0.1), round(dw + 0.1)
    if (w, h) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    if top or bottom or left or right:
        image = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_GREY,) * 3)
    return image, _Letterbox(size, left, top)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression, as torchvision's: indexes kept, by descending score."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        order = rest[inter / (areas[i] + areas[rest] - inter) <= iou]
    return np.asarray(keep, dtype=np.int64)


class OnnxYoloDetector:
    """A YOLO detection export run by onnxruntime, persons only (see the module docstring)."""

    def __init__(
        self, weights: str | Path, session: onnxruntime.InferenceSession, *, conf: float, threads: int
    ) -> None:
        """`session` (onnx_session) runs `weights`, an export yolo_onnx_layout knows, on `threads` threads."""
        layout = yolo_onnx_layout(session)
        if layout is None:
            raise ValueError(f"{weights}: not an ultralytics detection export with a fixed input size")
        self.name = f"yolo:{Path(weights).name}"
        self.layout = layout
        self._weights = weights
        self._session = session
        self._conf = conf
        self._threads = threads

    def use_threads(self, threads: int) -> None:
        """Run with `threads` inference threads without spinning from now on (0: onnxruntime's default)."""
        if threads != self._threads:
            self._threads = threads
            self._session = onnx_session(self._weights, threads)

    def detect(self, image: np.ndarray) -> Detections:
        layout = self.layout
        boxed, box = _letterbox(image, layout.height, layout.width)
        # As ultralytics: uint8 to float32, then divided by 255 (not multiplied by 1/255: the int8 model quantizes its
        # input, and a last-bit difference can move a value across a rounding step).
        blob = np.ascontiguousarray(boxed[..., ::-1].transpose(2, 0, 1))[None].astype(np.float32) / np.float32(255)
        out = self._session.run(None, {layout.input_name: blob})[0][0].T  # anchors x (4 + classes)
        scores = out[:, 4:]
        best = scores.argmax(1)
        conf = scores[np.arange(len(best)), best]
        keep = (conf > self._conf) & (best == PERSON_CLASS)
        if not keep.any():
            return Detections.empty()
        cx, cy, w, h = out[keep, :4].T
        xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        conf = conf[keep]
        chosen = _nms(xyxy, conf, IOU)[:MAX_DETECTIONS]
        xyxy, conf = xyxy[chosen], conf[chosen]
        gain_x, gain_y = box.size[0] / image.shape[1], box.size[1] / image.shape[0]
        xyxy[:, [0, 2]] = np.clip((xyxy[:, [0, 2]] - box.left) / gain_x, 0, image.shape[1])
        xyxy[:, [1, 3]] = np.clip((xyxy[:, [1, 3]] - box.top) / gain_y, 0, image.shape[0])
        return Detections(xyxy.astype(np.float32), conf.astype(np.float32))
