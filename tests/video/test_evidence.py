"""Evidence that proves each charge: a fixture clip through the camera pipeline and the real detector, and what
the incident events carry — pictures of the moments that bound the charge, named and captioned by their time, in
time order, and a signed H.264 clip around the incident's start."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import av
import pytest

from monitor.adapters.video.source import open_source
from monitor.config import MonitorConfig
from monitor.contract import IncidentEvent, Topics
from monitor.core.evidence import Picture, parse_picture
from monitor.services.pipeline import CameraPipeline, Message, find_camera
from tests.support.video import clip, detector

pytestmark = pytest.mark.slow


def _replay(config: MonitorConfig, camera_id: str, name: str, fps: float) -> tuple[list[Message], Topics]:
    """The clip as the camera, its frames from the sidecar's start; the camera closes at the end."""
    truth = json.loads(clip(name.replace(".mp4", ".truth.json")).read_text())
    camera = find_camera(config, camera_id).model_copy(update={"url": str(clip(name)), "detect_fps": fps})
    pipeline = CameraPipeline(config, camera, detector(), evidence=True)
    source = open_source(camera, start=dt.datetime.fromisoformat(truth["start"]), detect_fps=fps)
    messages: list[Message] = []
    try:
        last = None
        for frame in source.frames():
            messages += pipeline.on_frame(frame)
            last = frame.at
        assert last is not None
        messages += pipeline.close(last + pipeline.interval)
    finally:
        source.close()
    return messages, pipeline.topics


def _events(messages: list[Message], topics: Topics) -> list[IncidentEvent]:
    return [IncidentEvent.from_json(m.payload) for m in messages if m.topic == topics.incidents]


def _evidence(messages: list[Message], topics: Topics, event: IncidentEvent) -> dict[str, bytes]:
    """The event's evidence as sent, each checked against the digest the event signs."""
    sent = {m.topic: m.payload for m in messages}
    out = {name: sent[topics.evidence(event.id, name)] for name in event.evidence}
    for name, data in out.items():
        assert event.digests[name] == hashlib.sha256(data).hexdigest(), name
    return out


def _timed(names: list[str]) -> list[Picture]:
    pictures = [parse_picture(name) for name in names]
    assert all(p.at is not None for p in pictures), names
    assert [p.at for p in pictures] == sorted(p.at for p in pictures if p.at is not None), "in time order"
    return pictures


def _clip_frames(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and float(container.duration or 0) > 0
        return sum(1 for _ in container.decode(stream))


def test_a_late_arrival_carries_the_empty_seat_at_the_session_start_the_arrival_and_a_clip(
    fixture_hall: MonitorConfig,
) -> None:
    # late.mp4: F02 empty from 08:58, the person sits down at 09:03:30 (the sidecar's truth).
    messages, topics = _replay(fixture_hall, "cam-f02", "late.mp4", 1.0)
    new, follow = [e for e in _events(messages, topics) if e.kind == "late_arrival"]
    # Sent at once, with its pictures: the seat at the session start and the arrival.
    assert (new.event, new.seq) == ("new", 0)
    start, arrival = _timed(new.evidence)
    assert (start.kind, arrival.kind) == ("session_start", "arrival")
    assert start.at is not None and arrival.at is not None
    nine = dt.datetime.fromisoformat("2020-11-03T09:00:00+08:00")
    assert nine <= start.at < nine + dt.timedelta(seconds=1.5), "the first frame of the session"
    assert abs(arrival.at - new.started_at) <= dt.timedelta(seconds=2), "the arrival as it was dated"
    assert start.caption(fixture_hall.hall.tz) == "上班时间 09:00:00 座位无人"
    assert arrival.caption(fixture_hall.hall.tz).endswith("到岗")
    data = _evidence(messages, topics, new)
    assert all(data[p.name][:3] == b"\xff\xd8\xff" for p in (start, arrival))
    # The clip follows once the minute after the arrival has been filmed: an update that adds it, nothing else.
    assert (follow.event, follow.seq) == ("update", 1)
    assert (follow.started_at, follow.ended_at, follow.minutes) == (new.started_at, new.ended_at, new.minutes)
    (film,) = _timed(follow.evidence)
    assert film.kind == "clip" and film.at is not None
    before, after = fixture_hall.evidence.clip_before, fixture_hall.evidence.clip_after
    assert abs(film.at - (new.started_at - before)) <= dt.timedelta(seconds=1.5)
    frames = _clip_frames(_evidence(messages, topics, follow)[film.name])
    assert abs(frames - (before + after).total_seconds()) <= 2
    incidents = [m.topic for m in messages if m.topic == topics.incidents or "/evidence/" in m.topic]
    assert incidents.index(topics.evidence(new.id, film.name)) > incidents.index(topics.evidence(new.id, arrival.name))


def test_an_empty_post_carries_ordered_pictures_its_return_when_dated_and_a_clip(fixture_hall: MonitorConfig) -> None:
    # long_absence.mp4: F03 leaves at 09:33 and is back at 09:39. The post's updates every 30 s, each with a picture
    # of the empty seat, at most 2.
    config = fixture_hall.model_copy(
        update={
            "evidence": fixture_hall.evidence.model_copy(
                update={"picture_every": dt.timedelta(seconds=30), "pictures_max": 2}
            ),
            "presence": fixture_hall.presence.model_copy(update={"update_every": dt.timedelta(seconds=30)}),
        }
    )
    messages, topics = _replay(config, "cam-f03", "long_absence.mp4", 0.5)
    events = [e for e in _events(messages, topics) if e.kind == "empty_post"]
    new, end = events[0], events[-1]
    assert new.event == "new" and end.event == "end" and end.ended_at is not None
    first = _timed(new.evidence)
    assert [p.kind for p in first] == ["clip", "last_seen", "threshold"]
    film, last_seen, threshold = first
    assert last_seen.at is not None and threshold.at is not None and film.at is not None
    assert last_seen.at < new.started_at < threshold.at
    assert abs(film.at - (new.started_at - config.evidence.clip_before)) <= dt.timedelta(seconds=2.5)
    assert _clip_frames(_evidence(messages, topics, new)[film.name]) > 30
    still_empty = [parse_picture(n) for e in events[1:-1] for n in e.evidence]
    assert len(events) > 4
    assert [p.kind for p in still_empty] == ["absent", "absent"], "bounded by pictures_max"
    (back,) = _timed(end.evidence)
    assert back.kind == "return" and back.at is not None
    assert abs(back.at - end.ended_at) <= dt.timedelta(seconds=4), "the return picture shows the return as dated"
    everything = [p for e in events for p in _timed(e.evidence)]
    assert [p.at for p in everything if not p.is_clip] == sorted(p.at for p in everything if p.at and not p.is_clip)
