"""The camera pipeline on real frames and the real detector: states, the no-frames watchdog, messages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json

import pytest

from monitor.adapters.video.source import open_source
from monitor.config import MonitorConfig
from monitor.contract import Topics, WindowState
from monitor.errors import InputError
from monitor.services.pipeline import CameraPipeline, Message, find_camera
from tests.support.video import clip, detector

pytestmark = pytest.mark.slow

TZ_START = dt.datetime.fromisoformat("2020-11-03T09:30:00+08:00")


def states(messages: list[Message], topics: Topics) -> list[tuple[str, str]]:
    prefix = f"{topics.prefix}/windows/"
    return [
        (WindowState.from_json(m.payload).window, WindowState.from_json(m.payload).state)
        for m in messages
        if m.topic.startswith(prefix)
    ]


def test_a_camera_that_stops_sending_frames_makes_its_windows_unknown_not_empty(fixture_hall: MonitorConfig) -> None:
    config = fixture_hall
    camera = find_camera(config, "cam-f07").model_copy(update={"url": str(clip("camera_dropout.mp4"))})
    pipeline = CameraPipeline(config, camera, detector(), evidence=True)
    topics = Topics(config.mqtt.topic_prefix)
    source = open_source(camera, start=TZ_START, detect_fps=camera.detect_fps)
    messages: list[Message] = []
    try:
        for frame in itertools.islice(source.frames(), 45):
            messages += pipeline.on_frame(frame)
            last = frame.at
    finally:
        source.close()
    assert messages[0] == Message(topics.camera_status("cam-f07"), b"online", retain=True)
    assert states(messages, topics)[-1] == ("F07", "present")
    assert all(m.retain for m in messages if "/windows/" in m.topic)

    quiet = pipeline.watchdog(last + dt.timedelta(seconds=20))
    assert quiet == []
    dark = pipeline.watchdog(last + camera.offline_after + dt.timedelta(seconds=2))
    assert Message(topics.camera_status("cam-f07"), b"offline", retain=True) in dark
    (state,) = [WindowState.from_json(m.payload) for m in dark if "/windows/" in m.topic]
    assert state.state == "unknown" and state.camera == "cam-f07"
    assert state.since == last + pipeline.interval

    later: list[Message] = []
    for minutes in range(1, 152):
        later += pipeline.watchdog(last + dt.timedelta(minutes=minutes))
    assert not [m for m in later if m.topic == topics.incidents], "unknown time is never an empty post"
    assert states(later, topics) == [("F07", "off_duty")]  # ticks still end the session at 12:00
    stats = json.loads(pipeline.stats.payload("cam-f07", last))
    assert stats["frames"] == 45 and stats["inference_ms"] > 0


def test_unknown_camera_or_zone_is_a_clear_error(fixture_hall: MonitorConfig) -> None:
    config = fixture_hall
    with pytest.raises(InputError, match="cam-f01"):
        find_camera(config, "nope")


def test_a_frame_stamped_before_a_watchdog_tick_neither_fails_nor_goes_back_in_time(
    fixture_hall: MonitorConfig,
) -> None:
    config = fixture_hall
    camera = find_camera(config, "cam-f07").model_copy(update={"url": str(clip("camera_dropout.mp4"))})
    pipeline = CameraPipeline(config, camera, detector(), evidence=False)
    topics = Topics(config.mqtt.topic_prefix)
    source = open_source(camera, start=TZ_START, detect_fps=camera.detect_fps)
    try:
        first, second = itertools.islice(source.frames(), 2)
    finally:
        source.close()
    pipeline.on_frame(first)
    dark = pipeline.watchdog(first.at + dt.timedelta(seconds=40))
    assert Message(topics.camera_status("cam-f07"), b"offline", retain=True) in dark
    # Captured at +35 s, handled after the +40 s tick (a live race): accepted, and the camera is back.
    back = pipeline.on_frame(dataclasses.replace(second, at=first.at + dt.timedelta(seconds=35)))
    assert Message(topics.camera_status("cam-f07"), b"online", retain=True) in back
