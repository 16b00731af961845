"""Evidence names, captions and order (monitor.core.evidence), and a camera's clip takes (monitor.services.clips)."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import av
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from monitor.adapters.video.detections import Detections
from monitor.core.evidence import KINDS, in_order, parse_picture, picture_name
from monitor.services.clips import ClipKeeper

TZ = ZoneInfo("Asia/Shanghai")
NINE = dt.datetime(2020, 12, 1, 9, 0, tzinfo=TZ)


def test_a_name_says_what_the_picture_shows_and_when_and_the_caption_says_it_in_chinese() -> None:
    name = picture_name("session_start", NINE)
    assert name == "20201201T010000Z-session_start.jpg"
    assert parse_picture(name).caption(TZ) == "上班时间 09:00:00 座位无人"
    assert parse_picture(picture_name("arrival", NINE + dt.timedelta(minutes=3, seconds=41))).caption(TZ) == (
        "09:03:41 到岗"
    )
    clip = parse_picture(picture_name("clip", NINE))
    assert clip.is_clip and clip.name.endswith(".mp4") and clip.caption(TZ) == "录像 09:00:00 起"
    assert parse_picture("threshold.jpg").caption(TZ) == "确认空岗"  # stored before names had times
    assert parse_picture("whatever.png").caption(TZ) == "截图"


@given(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 36_000)), min_size=1, max_size=12, unique=True))
def test_evidence_comes_in_time_order_whatever_order_it_was_stored_in(shots: list[tuple[str, int]]) -> None:
    names = [picture_name(kind, NINE + dt.timedelta(seconds=s)) for kind, s in shots]  # type: ignore[arg-type]
    ordered = in_order([*reversed(names), "last_seen.jpg", "return.jpg", "odd.jpg"])
    timed = [p.at for p in ordered if p.at is not None]
    assert timed == sorted(timed) and len(timed) == len(set(names))
    assert [p.name for p in ordered[-3:]] == ["last_seen.jpg", "return.jpg", "odd.jpg"]


NOBODY = Detections.empty()


def _frame(n: int) -> np.ndarray:
    return np.full((48, 64, 3), (n * 5) % 255, np.uint8)


def test_a_take_holds_the_frames_around_a_change_and_plays_as_an_mp4() -> None:
    second = dt.timedelta(seconds=1)
    keeper = ClipKeeper(before=10 * second, after=5 * second, keep=20 * second, width=32, fps=1.0)
    for n in range(30):  # 30 s of frames; the window changed at 20 s, announced at 25 s (its confirmation)
        at = NINE + n * second
        keeper.add(at, _frame(n), NOBODY)
        if n == 25:
            keeper.mark("A01", NINE + 20 * second)
    take = keeper.take("A01", NINE + 20 * second)
    assert take is not None and keeper.complete(take)
    assert [f.at for f in take.frames] == [NINE + s * second for s in range(10, 26)]
    assert keeper.take("A01", NINE) is None and keeper.take("A02", NINE + 20 * second) is None

    clip = keeper.encode(take)
    assert clip is not None and clip[4:8] == b"ftyp"
    assert clip.index(b"moov") < clip.index(b"mdat"), "the index first: a browser plays it as it arrives"
    with av.open(io.BytesIO(clip)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert stream.codec_context.name == "h264" and (frames[0].width, frames[0].height) == (32, 24)
        assert len(frames) == 16 and float(container.duration or 0) > 0


def test_a_held_frame_reuses_the_last_picture_and_an_unfinished_take_waits() -> None:
    second = dt.timedelta(seconds=1)
    keeper = ClipKeeper(before=2 * second, after=60 * second, keep=5 * second, width=64, fps=1.0)
    image = _frame(1)
    for n in range(4):
        keeper.add(NINE + n * second, image, NOBODY)  # the same array: a held GOP
    keeper.mark("A01", NINE + 3 * second)
    take = keeper.take("A01", NINE + 3 * second)
    assert take is not None and not keeper.complete(take)
    assert len({id(f.data) for f in take.frames}) == 1


def test_no_clips_when_both_spans_are_zero() -> None:
    keeper = ClipKeeper(before=dt.timedelta(0), after=dt.timedelta(0), keep=dt.timedelta(0), width=64, fps=1.0)
    keeper.add(NINE, _frame(0), NOBODY)
    keeper.mark("A01", NINE)
    assert not keeper.enabled and keeper.take("A01", NINE) is None


def test_what_a_clip_may_not_show_is_hidden_when_it_is_written_from_what_each_frame_noted() -> None:
    second = dt.timedelta(seconds=1)
    seen: list[tuple[tuple[int, ...], int]] = []

    def hide(small: np.ndarray, shape: tuple[int, ...], detections: Detections) -> np.ndarray:
        seen.append((shape, len(detections)))
        return np.zeros_like(small)

    keeper = ClipKeeper(before=2 * second, after=2 * second, keep=5 * second, width=32, fps=1.0, hide=hide)
    one = Detections(np.array([[1, 2, 3, 4]], np.float32), np.array([0.9], np.float32))
    for n in range(6):
        keeper.add(NINE + n * second, _frame(n + 10), one if n % 2 else NOBODY)
    keeper.mark("A01", NINE + 2 * second)
    take = keeper.take("A01", NINE + 2 * second)
    assert take is not None and not seen, "nothing hidden while frames are only kept"
    clip = keeper.encode(take)
    assert clip is not None and seen == [((48, 64, 3), n % 2) for n in range(6)]
    with av.open(io.BytesIO(clip)) as container:
        assert all(f.to_ndarray(format="bgr24").max() < 20 for f in container.decode(video=0)), "all hidden"
