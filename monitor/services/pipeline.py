"""The camera pipeline: frames of one camera -> detector -> seat zones -> presence machine -> messages.

`CameraPipeline` has no network: it turns frames (and the silence between them) into the messages to
publish, so the live camera service (monitor.services.camera) and `monitor replay` run the very same
code. Topics and payloads: docs/mqtt.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace

import numpy as np

from monitor.adapters.mqtt.client import OFFLINE, ONLINE
from monitor.adapters.video.annotate import annotate, blur_polygons, citizen_areas, encode_jpeg, load_font
from monitor.adapters.video.detections import Detections, Detector
from monitor.adapters.video.frames import Decoding, Frame
from monitor.adapters.video.zones import Polygon2D, SeatReading, exclusion_zones, read_seats, seat_zones
from monitor.config import CameraConfig, MonitorConfig
from monitor.contract import SCHEMA_VERSION, Topics
from monitor.core.calendar import WorkCalendar
from monitor.core.evidence import parse_picture, picture_name
from monitor.core.incident import EMPTY_POST
from monitor.core.presence import IncidentChange, Leave, Observation, Output, PresenceMachine, Shot, StateChange
from monitor.core.signature import SigningKey
from monitor.errors import InputError
from monitor.services.clips import ClipKeeper, Take

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message to publish (QoS 1 through the outbox)."""

    topic: str
    payload: bytes
    retain: bool = False


@dataclass(frozen=True, slots=True)
class _Seen:
    frame: Frame
    detections: Detections
    readings: dict[str, SeatReading]


@dataclass
class Stats:
    frames: int = 0
    detections: int = 0
    inference_seconds: float = 0.0
    dropped: int = 0
    decoding: Decoding | None = None
    """How the camera's source decodes its stream (set by the camera service before each report)."""
    last_frame: dt.datetime | None = None
    """The time of the last frame read."""

    def payload(self, camera: str, at: dt.datetime) -> bytes:
        mean_ms = 1000 * self.inference_seconds / self.frames if self.frames else 0.0
        document: dict[str, object] = {
            "schema": SCHEMA_VERSION,
            "camera": camera,
            "at": at.isoformat(),
            "frames": self.frames,
            "detections": self.detections,
            "inference_ms": round(mean_ms, 1),
            "dropped_frames": self.dropped,
        }
        if self.last_frame is not None:
            document["last_frame"] = self.last_frame.isoformat()
        if self.decoding is not None:
            document["decode"] = {
                "mode": self.decoding.mode,
                "stream_frames": self.decoding.packets,
                "decoded_frames": self.decoding.decoded,
                "sampled_frames": self.decoding.sampled,
                "held_frames": self.decoding.held,
            }
        return json.dumps(document).encode()


def find_camera(config: MonitorConfig, camera_id: str) -> CameraConfig:
    camera = next((c for c in config.cameras if c.id == camera_id), None)
    if camera is None:
        known = ", ".join(c.id for c in config.cameras) or "none: add [[cameras]] to the configuration"
        raise InputError(f"--camera {camera_id}: no such camera in the configuration (cameras: {known})")
    unknown = [z.window for z in camera.windows if z.window not in config.window_by_id]
    if unknown:
        raise InputError(f"camera {camera_id}: seat zone for unknown window {', '.join(unknown)} (not in [windows])")
    if not camera.windows:
        raise InputError(f"camera {camera_id}: no seat zones ([[cameras.windows]]): it watches no window")
    return camera


@dataclass
class CameraPipeline:
    """Frames of one camera in, messages out. No network; time comes with the frames (`clock` only
    stamps an event's `sent_at`)."""

    config: MonitorConfig
    camera: CameraConfig
    detector: Detector
    leaves: Collection[Leave] = ()
    evidence: bool = True
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    signer: SigningKey | None = None
    """Signs every incident event (the recorder refuses unsigned ones); None for offline replay."""
    on_incident: Callable[[IncidentChange], None] | None = None
    """Called with every incident change as it is made (replay collects them; a live worker keeps none)."""

    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        self.topics = Topics(self.config.mqtt.topic_prefix)
        self.source = f"camera:{self.camera.id}"
        self.zones = seat_zones(self.camera)
        self.exclusions = exclusion_zones(self.camera)
        calendar = WorkCalendar(self.config.calendar, self.config.duty, self.config.hall.tz)
        self.presence = PresenceMachine(
            self.camera.id,
            [z.window for z in self.zones],
            self.config.presence,
            calendar.sessions_on,
            self.config.hall.tz,
            self.leaves,
        )
        self.interval = dt.timedelta(seconds=1 / self.camera.detect_fps)
        evidence = self.config.evidence
        if self.evidence:  # a missing font stops the camera service here, not at its first incident
            load_font(evidence.font)
        presence = self.config.presence
        self.clips = ClipKeeper(
            evidence.clip_before if self.evidence else dt.timedelta(0),
            evidence.clip_after if self.evidence else dt.timedelta(0),
            keep=evidence.clip_before + max(presence.arrive_after, presence.leave_after) + 2 * self.interval,
            width=evidence.clip_width,
            fps=self.camera.detect_fps,
            hide=self._hide if evidence.blur_citizens else None,
        )
        self._last: _Seen | None = None
        self._last_seen: dict[str, _Seen] = {}
        self._run_start: dict[str, tuple[bool, _Seen]] = {}  # the first frame of each window's run of equal readings
        self._period_seen: dict[str, tuple[dt.datetime, _Seen]] = {}  # each window's first frame of its duty period
        self._filming: dict[str, tuple[IncidentChange, Take]] = {}  # incidents whose clip is still being filmed
        self._pictures: dict[str, tuple[int, dt.datetime]] = {}  # an open empty post's "still empty" pictures
        self._offline = False  # windows judged unknown for want of frames
        self._problem: str | None = None  # why the source cannot deliver, as the offline status says it
        self._started: dt.datetime | None = None
        self._floor: dt.datetime | None = None

    # -- inputs ---------------------------------------------------------------------------------

    def on_frame(
        self, frame: Frame, detections: Detections | None = None, readings: dict[str, SeatReading] | None = None
    ) -> list[Message]:
        """One frame in, its messages out. `detections` and `readings`, when given, were found for this frame
        elsewhere (the optimised loop, monitor.services.gated, reads gated zones in shared detector calls);
        by default the pipeline's detector and seat zones find them."""
        out: list[Message] = []
        if self._last is not None:
            gap = frame.at - self._last.frame.at
            if gap > self.camera.offline_after and not self._offline:
                # A file's dropout: frames are missing for longer than the watchdog allows.
                out += self._go_dark(min(self._last.frame.at + self.interval, frame.at))
            if gap > self.interval * 1.5:
                self.stats.dropped += max(0, round(gap / self.interval) - 1)
        if self._offline or self._last is None:
            self._offline = False
            self._problem = None
            out.append(self._status())
        if detections is None:
            began = time.perf_counter()
            detections = self.detector.detect(frame.image)
            self.stats.inference_seconds += time.perf_counter() - began
        self.stats.frames += 1
        self.stats.last_frame = frame.at
        self.stats.detections += len(detections)
        if readings is None:
            readings = read_seats(
                detections, self.zones, self.exclusions, frame.image.shape, min_overlap=self.camera.min_overlap
            )
        seen = _Seen(frame, detections, readings)
        self._last = seen
        self.clips.add(frame.at, frame.image, detections)
        out += self._follow_up()
        for window, reading in readings.items():
            if reading.occupied:
                self._last_seen[window] = seen
            run = self._run_start.get(window)
            if run is None or run[0] != reading.occupied:
                self._run_start[window] = (reading.occupied, seen)
            changes = self.presence.observe(Observation(window, self._time(frame.at), reading.occupied))
            start = self.presence.machines[window].period_start
            if start is not None and self._period_seen.get(window, (None,))[0] != start:
                self._period_seen[window] = (start, seen)
            out += self._emit(changes)
        return out

    def watchdog(self, now: dt.datetime, problem: str | None = None) -> list[Message]:
        """Called while no frame arrives: after `offline_after` of silence the camera's windows become unknown.

        `problem` is why the source cannot deliver, when it knows (wrong credentials, no such stream): the
        offline status says it, and says it again when it changes. Once offline, time is ticked on so that
        duty periods still start and end.
        """
        if self._started is None:
            self._started = now
        out: list[Message] = []
        last = self._last.frame.at if self._last is not None else self._started
        if not self._offline and now - last > self.camera.offline_after:
            self._problem = problem
            out += self._go_dark(min(last + self.interval, now) if self._last is not None else last)
        elif self._offline and problem is not None and problem != self._problem:
            self._problem = problem
            out.append(self._status())
        if self._offline:
            out += self._emit(self.presence.tick(self._time(now)))
        return out + self._follow_up()

    # -- outputs --------------------------------------------------------------------------------

    def close(self, at: dt.datetime) -> list[Message]:
        """The worker stops: its windows become unknown (an open empty post ends here) and the camera offline;
        clips still being filmed go with what there is of them."""
        return ([] if self._offline else self._go_dark(at)) + self._follow_up(everything=True)

    def _status(self) -> Message:
        """The retained camera status: `online`, `offline`, or `offline: <why>` when the source knows why."""
        text = ONLINE if not self._offline else OFFLINE if self._problem is None else f"{OFFLINE}: {self._problem}"
        return Message(self.topics.camera_status(self.camera.id), text.encode(), retain=True)

    def _go_dark(self, since: dt.datetime) -> list[Message]:
        self._offline = True
        out = [self._status()]
        moment = self._time(since)
        for zone in self.zones:
            out += self._emit(self.presence.observe(Observation(zone.window, moment, None)))
        self._run_start.clear()
        self._period_seen.clear()
        return out + self._follow_up(everything=True)

    def _time(self, moment: dt.datetime) -> dt.datetime:
        """Time handed to the presence machine never runs backwards (a live frame may be stamped just
        before a watchdog tick that was handled first)."""
        self._floor = moment if self._floor is None else max(self._floor, moment)
        return self._floor

    def _emit(self, changes: list[Output]) -> list[Message]:
        out: list[Message] = []
        for change in changes:  # state changes first: an incident's take opens at its window's change
            if isinstance(change, StateChange):
                payload = change.to_payload(self.camera.id).to_json()
                out.append(Message(self.topics.window_state(change.window), payload, retain=True))
                if change.state in ("present", "absent"):
                    self.clips.mark(change.window, change.since)
        for change in changes:
            if isinstance(change, IncidentChange):
                out += self._incident(change)
        return out

    def _incident(self, change: IncidentChange) -> list[Message]:
        """An incident event, sent at once with its pictures (taken now) and, for a new incident whose clip is
        complete, its clip. A clip still being filmed (a late arrival is confirmed before the minute after it
        has been seen) follows: with an empty post's next event, or for an incident with no further events in
        an `update` of its own (`_follow_up`)."""
        if self.on_incident is not None:
            self.on_incident(change)
        if not self.evidence:
            return self._send(change, [])
        shots = self._snapshots(change)
        take = self.clips.take(change.window, change.started_at) if change.event == "new" else None
        if take is None:
            take = self._filming.pop(change.id, (change, None))[1]
        if take is not None and not self.clips.complete(take) and change.event != "end":
            self._filming[change.id] = (change, take)
            return self._send(change, shots)
        return self._send(change, shots + self._clip(take))

    def _follow_up(self, *, everything: bool = False) -> list[Message]:
        """The clips now complete (all of them, `everything`, when the camera stops) of incidents that send no
        further events, each in an `update` that adds it; an empty post's waits for its own next event."""
        out: list[Message] = []
        for incident, (change, take) in list(self._filming.items()):
            if change.kind == EMPTY_POST or not (everything or self.clips.complete(take)):
                continue
            del self._filming[incident]
            follow = replace(change, event="update", seq=change.seq + 1, shots=())
            out += self._send(follow, self._clip(take))
        return out

    def _clip(self, take: Take | None) -> list[tuple[str, bytes]]:
        """The take as the incident's clip, named after its first frame; nothing without a take or frames."""
        if take is None or take.first is None:
            return []
        clip = self.clips.encode(take)
        return [(picture_name("clip", take.first), clip)] if clip is not None else []

    def _send(self, change: IncidentChange, evidence: list[tuple[str, bytes]]) -> list[Message]:
        shots = sorted(evidence)  # names lead with their moment: the event lists its evidence in time order
        event = change.to_event(self.source, evidence=[name for name, _ in shots], sent_at=self.clock())
        if shots:
            event = event.model_copy(
                update={"digests": {name: hashlib.sha256(data).hexdigest() for name, data in shots}}
            )
        if self.signer is not None:
            event = self.signer.sign(event)
        out = [Message(self.topics.incidents, event.to_json())]
        return out + [Message(self.topics.evidence(change.id, name), data) for name, data in shots]

    def _shots(self, change: IncidentChange) -> tuple[Shot, ...]:
        """The machine's pictures, and while an empty post lasts one of the empty seat every `picture_every`
        (at most `pictures_max`), taken with its updates."""
        if change.event == "end":
            self._pictures.pop(change.id, None)
            return change.shots
        if self._last is None:
            return change.shots
        now = self._last.frame.at
        if change.event == "new":
            self._pictures[change.id] = (0, now)
            return change.shots
        count, last = self._pictures.get(change.id, (0, now))
        evidence = self.config.evidence
        if change.event == "update" and count < evidence.pictures_max and now - last >= evidence.picture_every:
            self._pictures[change.id] = (count + 1, now)
            return (*change.shots, Shot("absent", "current"))
        return change.shots

    def _citizens(self, image: np.ndarray, detections: Detections) -> tuple[Polygon2D, ...]:
        """What evidence must not show with `[evidence] blur_citizens`: the citizen side and the persons on it."""
        if not self.config.evidence.blur_citizens:
            return ()
        return citizen_areas(image.shape, self.exclusions, detections)

    def _hide(self, small: np.ndarray, shape: tuple[int, ...], detections: Detections) -> np.ndarray:
        """A clip frame (scaled down from a frame of `shape`) with the citizens blurred (relative areas)."""
        return blur_polygons(small, citizen_areas(shape, self.exclusions, detections))

    def _frame_of(self, change: IncidentChange, shot: Shot) -> _Seen | None:
        window = change.window
        match shot.frame:
            case "current":
                return self._last
            case "last_seen":
                return self._last_seen.get(window)
            case "run_start":
                run = self._run_start.get(window)
                return run[1] if run is not None else self._last
            case "period_start":
                marked = self._period_seen.get(window)
                start = self.presence.machines[window].period_start
                return marked[1] if marked is not None and marked[0] == start else None

    def _snapshots(self, change: IncidentChange) -> list[tuple[str, bytes]]:
        """Each picture named after what it shows and its frame's time, captioned in Chinese (monitor.core.evidence)."""
        out: dict[str, bytes] = {}
        tz = self.config.hall.tz
        for shot in self._shots(change):
            seen = self._frame_of(change, shot)
            if seen is None:
                continue
            name = picture_name(shot.kind, seen.frame.at)
            states = self.presence.states() if shot.frame == "current" else None
            image = annotate(
                blur_polygons(seen.frame.image, self._citizens(seen.frame.image, seen.detections)),
                place=self.camera.place,
                at=seen.frame.at.astimezone(tz),
                zones=self.zones,
                exclusions=self.exclusions,
                detections=seen.detections,
                readings=seen.readings,
                states=states,
                caption=f"{change.window}窗口 {parse_picture(name).caption(tz)}",
                font=self.config.evidence.font,
            )
            out[name] = encode_jpeg(image)
        return sorted(out.items())
