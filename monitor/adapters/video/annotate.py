"""Drawing on frames: seat zones labelled with their window and state, the citizen side, person boxes, the
camera's place and time; blurring the citizen side; JPEG encoding.

Used for evidence snapshots (what the camera saw when an incident opened) and for `monitor zones`
(calibration). The pictures go to supervisors and, in the weekly notice, to every window: their labels are
Chinese (窗口 在岗/空岗, 群众区, the camera's place), drawn with Pillow and a CJK font, because OpenCV's own
fonts have no CJK glyphs. No label names a detector class. The font is found once per process
(`load_font`) and a missing one is an error (`FontError`), never a picture of empty boxes.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from shapely.geometry import Polygon as ShapelyPolygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from monitor.adapters.video.detections import Detections
from monitor.adapters.video.zones import Polygon2D, SeatReading, SeatZone, is_excluded
from monitor.core.board import STATE_LABELS
from monitor.errors import MonitorError

Color = tuple[int, int, int]
"""B, G, R (the frames' own channel order; Pillow draws on the same array and does not care)."""

OCCUPIED: Color = (60, 200, 60)
EMPTY: Color = (40, 40, 230)
UNREAD: Color = (0, 200, 255)
OTHER: Color = (200, 200, 200)
EXCLUSION: Color = (200, 120, 40)
PERSON: Color = (255, 255, 255)
GRID_FONT = cv2.FONT_HERSHEY_SIMPLEX
"""The grid's figures (0.1 … 0.9) only: digits, which OpenCV's fonts have."""

CITIZEN_SIDE = "群众区"
BAND_GAP = "　　"
"""Between the band's texts on one line (two ideographic spaces)."""
STATE_COLORS: dict[str, Color] = {"present": OCCUPIED, "absent": EMPTY, "unknown": UNREAD}

KNOWN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu: fonts-noto-cjk
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora, RHEL: google-noto-sans-cjk-fonts
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch: noto-fonts-cjk
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian: fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Debian: fonts-wqy-zenhei
)
"""Where CJK fonts are installed, most wanted first; `fc-match` is asked when none is there."""
INSTALL_HINT = (
    "install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk), or set [evidence] font to a .ttc, "
    ".ttf or .otf file that has Chinese glyphs"
)
_NOT_A_CHARACTER = "\ufdd0"
"""A noncharacter no font maps: it renders as the font's missing-glyph box (.notdef)."""


class FontError(MonitorError):
    """No font that draws Chinese: the pictures' labels cannot be drawn."""


@dataclass(frozen=True, slots=True)
class FontFile:
    path: str
    index: int
    """The face in a collection (.ttc): Simplified Chinese where the collection has it."""


@dataclass(frozen=True, slots=True)
class Label:
    """One text on a filled box. `anchor` is the box's bottom-left corner in pixels; the box is moved inside
    the picture when it would stick out."""

    text: str
    anchor: tuple[int, int]
    color: Color


def _truetype(path: str, size: int, index: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: the same glyph placement with or without libraqm (CJK needs no shaping).
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.BASIC)


def _draws_chinese(font: ImageFont.FreeTypeFont) -> bool:
    """True when 中 is a glyph of its own, not the missing-glyph box."""
    missing = font.getmask(_NOT_A_CHARACTER)
    glyph = font.getmask("中")
    return glyph.size != missing.size or bytes(glyph) != bytes(missing)


def _chinese_face(path: str) -> int | None:
    """The index of the face of `path` to draw with (Simplified Chinese first), or None when the file is
    no font or none of its faces draws Chinese."""
    faces: list[tuple[int, str]] = []
    for index in range(32):  # a collection's faces, until the index runs past them
        try:
            font = _truetype(path, 20, index)
        except OSError:
            break
        if _draws_chinese(font):
            faces.append((index, font.getname()[0] or ""))
    for index, name in faces:
        if name.endswith((" SC", " CN", " GB")) or "Micro Hei" in name or "Zen Hei" in name:
            return index
    return faces[0][0] if faces else None


def _fc_match() -> FontFile | None:
    """fontconfig's choice for Simplified Chinese, when fontconfig is installed."""
    program = shutil.which("fc-match")
    if program is None:
        return None
    try:
        found = subprocess.run(
            [program, "-f", "%{file}|%{index}", ":lang=zh-cn"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
        path, _, index = found.partition("|")
        return FontFile(path, int(index or 0)) if path else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


@functools.cache
def load_font(setting: str = "auto") -> FontFile:
    """The CJK font the labels are drawn with: `setting` (`[evidence] font`) is a font file, or "auto" for the
    first of KNOWN_FONTS installed, else fontconfig's Chinese font. Found once per process; a camera service
    calls it at start so that a missing font stops it there, not at its first incident."""
    if setting != "auto":
        if not Path(setting).is_file():
            raise FontError(f"evidence.font = {setting!r}: no such file; name an installed font, or {INSTALL_HINT}")
        index = _chinese_face(setting)
        if index is None:
            raise FontError(f"evidence.font = {setting!r}: not a font that draws Chinese; {INSTALL_HINT}")
        return FontFile(setting, index)
    for path in KNOWN_FONTS:
        if Path(path).is_file() and (index := _chinese_face(path)) is not None:
            return FontFile(path, index)
    matched = _fc_match()
    if matched is not None and Path(matched.path).is_file():
        try:
            if _draws_chinese(_truetype(matched.path, 20, matched.index)):
                return matched
        except OSError:
            pass
    raise FontError(f"no font that draws Chinese is installed (looked in {', '.join(KNOWN_FONTS)}): {INSTALL_HINT}")


@functools.lru_cache(maxsize=16)
def label_font(setting: str, size: int) -> ImageFont.FreeTypeFont:
    """The font of `setting` at `size` pixels, loaded once per size."""
    found = load_font(setting)
    return _truetype(found.path, size, found.index)


def text_size(height: int) -> int:
    """Label text height in pixels for a picture `height` pixels high: readable when printed small."""
    return max(14, round(height / 30))


def _pixels(polygon: Polygon2D, shape: tuple[int, ...]) -> np.ndarray:
    height, width = shape[0], shape[1]
    return np.array([[round(x * (width - 1)), round(y * (height - 1))] for x, y in polygon], dtype=np.int32)


def _top_left(polygon: Polygon2D, shape: tuple[int, ...]) -> tuple[int, int]:
    points = _pixels(polygon, shape)
    return int(points[:, 0].min()), int(points[:, 1].min())


def _zone_label(zone: SeatZone, reading: SeatReading | None, state: str | None) -> tuple[str, Color]:
    if state is not None:
        return f"{zone.window} {STATE_LABELS.get(state, '')}".rstrip(), STATE_COLORS.get(state, OTHER)
    if reading is not None:
        return (f"{zone.window} 有人", OCCUPIED) if reading.occupied else (f"{zone.window} 无人", EMPTY)
    return zone.window, UNREAD


def zone_labels(
    shape: tuple[int, ...],
    zones: Iterable[SeatZone],
    exclusions: Iterable[Polygon2D] = (),
    readings: Mapping[str, SeatReading] | None = None,
    states: Mapping[str, str] | None = None,
) -> list[Label]:
    """The labels of a picture of `shape`: 群众区 over each citizen-side area and, over each seat, its window
    with its state (在岗/空岗/未知…) or, without one, its reading (有人/无人). Each sits just above its
    polygon, so that blurring the citizen side (`blur_polygons`) leaves the labels readable."""
    out = [Label(CITIZEN_SIDE, _top_left(polygon, shape), EXCLUSION) for polygon in exclusions]
    for zone in zones:
        reading = readings.get(zone.window) if readings is not None else None
        state = states.get(zone.window) if states is not None else None
        text, color = _zone_label(zone, reading, state)
        out.append(Label(text, _top_left(zone.polygon, shape), color))
    return out


def info_parts(place: str, at: datetime, caption: str = "") -> list[str]:
    """The band's texts: where the camera is, the local time the frame was taken, and the caption."""
    return [part for part in (place, f"{at:%Y-%m-%d %H:%M:%S}", caption) if part]


def box_height(height: int) -> int:
    """The height of a label's box, and of a line of the band, in a picture `height` pixels high."""
    return round(text_size(height) * 1.35)


def _wrap(parts: Sequence[str], face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """`parts` as lines no wider than `width`: whole parts side by side where they fit, a part too long for a
    line of its own broken between characters."""
    lines: list[str] = []
    for part in parts:
        joined = f"{lines[-1]}{BAND_GAP}{part}" if lines else part
        if lines and face.getlength(joined) <= width:
            lines[-1] = joined
            continue
        line = ""
        for char in part:
            if line and face.getlength(line + char) > width:
                lines.append(line)
                line = ""
            line += char
        lines.append(line)
    return lines


def band_at_top(shape: tuple[int, ...], exclusions: Iterable[Polygon2D], band: int) -> bool:
    """The band (`band` pixels high) goes at the bottom, unless the citizen side reaches into it there and not
    at the top: blurring the citizen side (as a notice's photo is) would blur the band with it."""
    height = shape[0]
    spans = [_pixels(polygon, shape)[:, 1] for polygon in exclusions]
    at_bottom = any(int(ys.max()) >= height - band for ys in spans)
    at_top = any(int(ys.min()) < band for ys in spans)
    return at_bottom and not at_top


def draw_labels(
    image: np.ndarray,
    labels: Iterable[Label],
    band: Sequence[str] = (),
    *,
    exclusions: Iterable[Polygon2D] = (),
    font: str = "auto",
) -> np.ndarray:
    """A copy of `image` with each label on its filled box and the `band` texts in a dark strip across the
    picture, on as many lines as they need, clear of the citizen side (`band_at_top`); in the CJK font of
    `font` (`load_font`)."""
    out = image.copy()
    height, width = out.shape[0], out.shape[1]
    face = label_font(font, text_size(height))
    box = box_height(height)
    pad = max(2, box // 6)
    lines = _wrap(band, face, width - 4 * pad)
    top = 0
    if lines:
        strip = box * len(lines)
        top = 0 if band_at_top(out.shape, exclusions, strip) else max(height - strip, 0)
        out[top : top + strip] = (out[top : top + strip] * 0.3).astype(np.uint8)
    canvas = Image.fromarray(out)
    draw = ImageDraw.Draw(canvas)
    for label in labels:
        box_width = round(face.getlength(label.text)) + 2 * pad
        x = min(max(label.anchor[0], 0), max(width - box_width, 0))
        y = min(max(label.anchor[1], box), height)
        draw.rectangle((x, y - box, x + box_width - 1, y - 1), fill=label.color)
        draw.text((x + pad, y - box / 2), label.text, fill=(0, 0, 0), font=face, anchor="lm")
    for n, line in enumerate(lines):
        draw.text((2 * pad, top + n * box + box / 2), line, fill=(255, 255, 255), font=face, anchor="lm")
    return np.array(canvas)


def draw_grid(image: np.ndarray, step: float = 0.1) -> np.ndarray:
    """A copy of `image` with a relative-coordinate grid (0-1, every `step`), for writing zone polygons by eye."""
    out = image.copy()
    height, width = out.shape[0], out.shape[1]
    lines = out.copy()
    count = round(1 / step)
    for n in range(1, count):
        x, y = round(n * step * (width - 1)), round(n * step * (height - 1))
        cv2.line(lines, (x, 0), (x, height - 1), (255, 255, 255), 1)
        cv2.line(lines, (0, y), (width - 1, y), (255, 255, 255), 1)
    cv2.addWeighted(lines, 0.35, out, 0.65, 0, dst=out)
    scale = max(0.35, height / 1000)
    bottom = height - box_height(height) - 4  # the x figures clear of a band at the bottom (`draw_labels`)
    for n in range(1, count):
        text = f"{n * step:.1f}"
        x, y = round(n * step * (width - 1)), round(n * step * (height - 1))
        cv2.putText(out, text, (x + 2, bottom), GRID_FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
        cv2.putText(out, text, (2, y - 2), GRID_FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def draw_zones(
    image: np.ndarray,
    zones: Iterable[SeatZone],
    exclusions: Iterable[Polygon2D] = (),
    readings: Mapping[str, SeatReading] | None = None,
    states: Mapping[str, str] | None = None,
) -> np.ndarray:
    """A copy of `image` with the citizen side shaded and outlined and each seat outlined in the colour of its
    state (green 在岗, red 空岗, yellow 未知), else of its reading, else yellow; no text (`zone_labels`)."""
    out = image.copy()
    exclusions = list(exclusions)
    shade = out.copy()
    for polygon in exclusions:
        cv2.fillPoly(shade, [_pixels(polygon, out.shape)], EXCLUSION)
    cv2.addWeighted(shade, 0.35, out, 0.65, 0, dst=out)
    for polygon in exclusions:
        cv2.polylines(out, [_pixels(polygon, out.shape)], True, EXCLUSION, 1, cv2.LINE_AA)
    thickness = max(1, out.shape[0] // 300)
    for zone in zones:
        reading = readings.get(zone.window) if readings is not None else None
        state = states.get(zone.window) if states is not None else None
        _, color = _zone_label(zone, reading, state)
        cv2.polylines(out, [_pixels(zone.polygon, out.shape)], True, color, thickness + 1, cv2.LINE_AA)
    return out


def draw_detections(image: np.ndarray, detections: Detections) -> np.ndarray:
    """A copy of `image` with each person's box (no class name, no score: the picture is for people)."""
    out = image.copy()
    for x1, y1, x2, y2 in detections.xyxy.tolist():
        cv2.rectangle(out, (round(x1), round(y1)), (round(x2), round(y2)), PERSON, 1, cv2.LINE_AA)
    return out


def annotate(
    image: np.ndarray,
    *,
    place: str,
    at: datetime,
    zones: Iterable[SeatZone],
    exclusions: Iterable[Polygon2D] = (),
    detections: Detections | None = None,
    readings: Mapping[str, SeatReading] | None = None,
    states: Mapping[str, str] | None = None,
    caption: str = "",
    font: str = "auto",
) -> np.ndarray:
    """The evidence picture: the citizen side shaded, the seats outlined and labelled with their window and
    state (`states`: window -> presence state) or reading, the person boxes, and a band with the camera's
    `place` (`CameraConfig.place`), the local time `at` and the `caption` (such as "09:03:41 到岗"), in the
    CJK font of `font` (`[evidence] font`)."""
    zones, exclusions = list(zones), list(exclusions)
    out = draw_zones(image, zones, exclusions, readings, states)
    if detections is not None:
        out = draw_detections(out, detections)
    labels = zone_labels(out.shape, zones, exclusions, readings, states)
    return draw_labels(out, labels, info_parts(place, at, caption), exclusions=exclusions, font=font)


@functools.lru_cache(maxsize=64)
def _citizen_side(exclusions: tuple[Polygon2D, ...]) -> BaseGeometry:
    """The camera's citizen side as one shape (a camera's exclusions do not change: made once)."""
    return unary_union([ShapelyPolygon(p) for p in exclusions])


def citizen_areas(
    shape: tuple[int, ...], exclusions: Iterable[Polygon2D], detections: Detections | None = None
) -> tuple[Polygon2D, ...]:
    """What the camera service blurs with `[evidence] blur_citizens`: the citizen side and the box of every
    person standing on it (`is_excluded`), whose head rises above the floor the polygon covers, relative."""
    exclusions = tuple(exclusions)
    if not exclusions or detections is None or not len(detections.xyxy):
        return exclusions
    height, width = float(shape[0]), float(shape[1])
    side = _citizen_side(exclusions)
    boxes = [(x1 / width, y1 / height, x2 / width, y2 / height) for x1, y1, x2, y2 in detections.xyxy.tolist()]
    citizens = [b for b in boxes if is_excluded(b, side)]
    return exclusions + tuple(
        tuple((min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)) for x, y in ((x1, y1), (x2, y1), (x2, y2), (x1, y2)))
        for x1, y1, x2, y2 in citizens
    )


def blur_polygons(image: np.ndarray, polygons: Iterable[Polygon2D]) -> np.ndarray:
    """A copy of `image` with the inside of each polygon (relative coordinates, as the zones) blurred past
    recognition: the picture there is averaged over cells of a fortieth of its longer side (a face at a
    counter covers two or three cells), the cells mixed with their neighbours, then enlarged back smoothly."""
    out = image.copy()
    polygons = list(polygons)
    if not polygons:
        return out
    height, width = out.shape[0], out.shape[1]
    cell = max(4, round(max(height, width) / 40))
    # Each polygon within its bounding rectangle, on the same grid of cells as the whole picture: a camera service
    # blurs every clip frame, and most of a picture is not the citizen side.
    for polygon in polygons:
        points = _pixels(polygon, out.shape)
        x, y, w, h = cv2.boundingRect(points)
        x0, y0 = (x // cell) * cell, (y // cell) * cell
        x1, y1 = min(width, -(-(x + w) // cell) * cell), min(height, -(-(y + h) // cell) * cell)
        if x1 <= x0 or y1 <= y0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [points - np.array([x0, y0], np.int32)], 255)
        region = out[y0:y1, x0:x1]
        cells = (max(1, (x1 - x0) // cell), max(1, (y1 - y0) // cell))
        small = cv2.GaussianBlur(cv2.resize(region, cells, interpolation=cv2.INTER_AREA), (0, 0), 1.0)
        blurred = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)  # neighbours mixed
        cv2.copyTo(blurred, mask, region)  # far cheaper than boolean indexing
    return out
    x0, y0 = (x // cell) * cell, (y // cell) * cell
    x1, y1 = min(width, -(-(x + w) // cell) * cell), min(height, -(-(y + h) // cell) * cell)
    region = out[y0:y1, x0:x1]
    small = cv2.resize(region, (max(1, (x1 - x0) // cell), max(1, (y1 - y0) // cell)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 1.0)  # mixes neighbouring cells: no cell keeps a feature of its own
    blurred = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    cv2.copyTo(blurred, mask[y0:y1, x0:x1], region)  # far cheaper than boolean indexing
    return out


def decode_jpeg(data: bytes) -> np.ndarray:
    """A JPEG's picture (BGR); ValueError when the bytes are no picture."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise ValueError("not a readable image")
    return image


def blur_jpeg(data: bytes, polygons: Iterable[Polygon2D], quality: int = 90) -> bytes:
    """`data` (a JPEG) with `polygons` blurred (`blur_polygons`), encoded again; the same bytes without
    polygons. ValueError when `data` is no picture: it must not leave unblurred."""
    polygons = list(polygons)
    if not polygons:
        return data
    return encode_jpeg(blur_polygons(decode_jpeg(data), polygons), quality)


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot encode a {image.shape} image as JPEG")
    return data.tobytes()
