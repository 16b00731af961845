"""The camera worker: source -> detector -> seat zones -> presence machine -> outbox -> MQTT.

`CameraPipeline` is the part without network: it turns frames (and the silence between them) into
the messages to publish, so the live worker and `monitor replay` run the very same code. The
live service `run_worker` adds a frame thread, the no-frames watchdog, the outbox and statistics.

Messages (docs/mqtt.md): incident events on <prefix>/incidents (QoS 1, through the outbox);
evidence JPEGs on <prefix>/evidence/<incident>/<name> (QoS 1, through the outbox); the retained
window state on <prefix>/windows/<id>/state and camera status ("online"/"offline") on
<prefix>/cameras/<id>/status (retained, through the outbox, so the last word always arrives);
statistics on <prefix>/cameras/<id>/stats (QoS 0, best effort). The process's availability
(<prefix>/availability/camera-<id>, last will "offline") comes from monitor.mqtt.client.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from monitor.calendar import WorkCalendar
from monitor.config import CameraConfig, MonitorConfig
from monitor.contract import SCHEMA_VERSION, Topics
from monitor.errors import InputError
from monitor.mqtt.client import OFFLINE, ONLINE
from monitor.presence import IncidentChange, Leave, Observation, Output, PresenceMachine, StateChange
from monitor.video.annotate import annotate, encode_jpeg
from monitor.video.detector import Detections, Detector
from monitor.video.source import Frame, FrameSource
from monitor.video.zones import SeatReading, exclusion_zones, read_seats, seat_zones

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

    def payload(self, camera: str, at: dt.datetime) -> bytes:
        mean_ms = 1000 * self.inference_seconds / self.frames if self.frames else 0.0
        return json.dumps(
            {
                "schema": SCHEMA_VERSION,
                "camera": camera,
                "at": at.isoformat(),
                "frames": self.frames,
                "detections": self.detections,
                "inference_ms": round(mean_ms, 1),
                "dropped_frames": self.dropped,
            }
        ).encode()


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

    stats: Stats = field(default_factory=Stats)
    incidents: list[IncidentChange] = field(default_factory=list)

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
        self._last: _Seen | None = None
        self._last_seen: dict[str, _Seen] = {}
        self._offline = False  # windows judged unknown for want of frames
        self._started: dt.datetime | None = None
        self._floor: dt.datetime | None = None

    # -- inputs ---------------------------------------------------------------------------------

    def on_frame(
        self, frame: Frame, detections: Detections | None = None, readings: dict[str, SeatReading] | None = None
    ) -> list[Message]:
        """One frame in, its messages out. `detections` and `readings`, when given, were found for this frame
        elsewhere (the optimised loop, monitor.video.batch, reads gated zones in shared detector calls);
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
            out.append(Message(self.topics.camera_status(self.camera.id), ONLINE.encode(), retain=True))
        if detections is None:
            began = time.perf_counter()
            detections = self.detector.detect(frame.image)
            self.stats.inference_seconds += time.perf_counter() - began
        self.stats.frames += 1
        self.stats.detections += len(detections)
        if readings is None:
            readings = read_seats(
                detections, self.zones, self.exclusions, frame.image.shape, min_overlap=self.camera.min_overlap
            )
        seen = _Seen(frame, detections, readings)
        self._last = seen
        for window, reading in readings.items():
            if reading.occupied:
                self._last_seen[window] = seen
            out += self._emit(self.presence.observe(Observation(window, self._time(frame.at), reading.occupied)))
        return out

    def watchdog(self, now: dt.datetime) -> list[Message]:
        """Called while no frame arrives: after `offline_after` of silence the camera's windows become unknown.

        Once offline, time is ticked on so that duty periods still start and end.
        """
        if self._started is None:
            self._started = now
        out: list[Message] = []
        last = self._last.frame.at if self._last is not None else self._started
        if not self._offline and now - last > self.camera.offline_after:
            out += self._go_dark(min(last + self.interval, now) if self._last is not None else last)
        if self._offline:
            out += self._emit(self.presence.tick(self._time(now)))
        return out

    # -- outputs --------------------------------------------------------------------------------

    def close(self, at: dt.datetime) -> list[Message]:
        """The worker stops: its windows become unknown (an open empty post ends here) and the camera offline."""
        return [] if self._offline else self._go_dark(at)

    def _go_dark(self, since: dt.datetime) -> list[Message]:
        self._offline = True
        out = [Message(self.topics.camera_status(self.camera.id), OFFLINE.encode(), retain=True)]
        moment = self._time(since)
        for zone in self.zones:
            out += self._emit(self.presence.observe(Observation(zone.window, moment, None)))
        return out

    def _time(self, moment: dt.datetime) -> dt.datetime:
        """Time handed to the presence machine never runs backwards (a live frame may be stamped just
        before a watchdog tick that was handled first)."""
        self._floor = moment if self._floor is None else max(self._floor, moment)
        return self._floor

    def _emit(self, changes: list[Output]) -> list[Message]:
        out: list[Message] = []
        for change in changes:
            if isinstance(change, StateChange):
                payload = change.to_payload(self.camera.id).to_json()
                out.append(Message(self.topics.window_state(change.window), payload, retain=True))
                continue
            self.incidents.append(change)
            shots = self._snapshots(change) if self.evidence else []
            event = change.to_event(self.source, evidence=[name for name, _ in shots], sent_at=self.clock())
            out.append(Message(self.topics.incidents, event.to_json()))
            out += [Message(self.topics.evidence(change.id, name), data) for name, data in shots]
        return out

    def _snapshots(self, change: IncidentChange) -> list[tuple[str, bytes]]:
        out = []
        for shot in change.shots:
            seen = self._last if shot.frame == "current" else self._last_seen.get(change.window)
            if seen is None:
                continue
            image = annotate(
                seen.frame.image,
                camera=self.camera.id,
                at=seen.frame.at.astimezone(self.config.hall.tz),
                zones=self.zones,
                exclusions=self.exclusions,
                detections=seen.detections,
                readings=seen.readings,
            )
            out.append((shot.name, encode_jpeg(image)))
        return out


@dataclass
class CameraLink:
    """One camera's way out: its MQTT client (last will on its availability), its durable outbox, its stats.

    The single-camera worker and the hall worker (monitor.hall_worker) both use it, and use the same
    outbox file per camera, so switching between the two loses nothing.
    """

    config: MonitorConfig
    camera: CameraConfig

    def __post_init__(self) -> None:
        from monitor.mqtt.client import BrokerUnreachable, broker_address, connect, make_client
        from monitor.outbox import Outbox

        self.component = f"camera-{self.camera.id}"
        self.topics = Topics(self.config.mqtt.topic_prefix)
        self.client = make_client(self.config.mqtt, self.component, component=self.component)
        self.outbox = Outbox(Path(self.config.paths.data_dir) / f"outbox-{self.camera.id}.sqlite", self.client)
        try:
            connect(self.client, self.config.mqtt)
        except BrokerUnreachable as exc:
            # Keep working: the outbox holds everything until paho's background reconnect succeeds.
            log.warning("%s; retrying in the background, incidents wait in the outbox", exc)
            address = broker_address(self.config.mqtt)
            keepalive = int(self.config.mqtt.keepalive.total_seconds())
            self.client.connect_async(address.host, address.port, keepalive=keepalive)
            self.client.loop_start()
        self._every = self.config.presence.stats_every.total_seconds()
        self._next_stats = time.monotonic() + self._every

    def send(self, messages: list[Message]) -> None:
        for message in messages:
            self.outbox.put(message.topic, message.payload, retain=message.retain)

    def stats_due(self, stats: Stats) -> None:
        """Publish the statistics (QoS 0, best effort) when `[presence] stats_every` has passed."""
        if time.monotonic() >= self._next_stats:
            self._next_stats += self._every
            payload = stats.payload(self.camera.id, dt.datetime.now(dt.UTC))
            self.client.publish(f"{self.topics.prefix}/cameras/{self.camera.id}/stats", payload, qos=0)

    def close(self, last_words: list[Message], *, timeout: float = 5.0) -> None:
        """Send the clean stop's messages, wait up to `timeout` seconds for the broker to acknowledge what
        the outbox holds (the rest waits there for the next start), then leave (availability offline)."""
        from monitor.mqtt.client import disconnect

        self.send(last_words)
        if not self.outbox.wait_empty(timeout):
            log.warning(
                "camera %s: %d messages wait in the outbox for the next start", self.camera.id, self.outbox.pending()
            )
        self.outbox.close()
        disconnect(self.client, self.config.mqtt, self.component)


class FrameClock:
    """A camera's "now" for the watchdog: silence is measured on the frames' own clock, so a file played
    faster than real time continues from its last frame rather than jumping back to the wall clock."""

    def __init__(self) -> None:
        self._created = time.monotonic()
        self._last: tuple[dt.datetime, float] | None = None  # the last frame's time and when it arrived

    def seen(self, frame: Frame) -> None:
        self._last = (frame.at, time.monotonic())

    def silent_for(self) -> float:
        """Seconds since the last frame arrived (before the first one: since the clock was made)."""
        return time.monotonic() - (self._created if self._last is None else self._last[1])

    def now(self) -> dt.datetime:
        if self._last is None:
            return dt.datetime.now(dt.UTC)
        return self._last[0] + dt.timedelta(seconds=time.monotonic() - self._last[1])


def start_reader(
    camera: CameraConfig,
    source: FrameSource,
    frames: queue.Queue[Frame],
    stop: threading.Event,
    stats: Stats,
    *,
    arrived: threading.Event | None = None,
) -> threading.Thread:
    """Start the thread that puts the source's frames into `frames` (and sets `arrived` after each).

    A live frame that waits goes stale: when the queue is full the oldest waiting frame is dropped
    (counted in the stats) so that the newest gets in. A file's frames all count: the thread waits.
    """
    from monitor.video.source import is_live

    live = is_live(camera.url)

    def feed() -> None:
        for frame in source.frames():
            while not stop.is_set():
                try:
                    frames.put(frame, block=not live, timeout=None if live else 0.5)
                    break
                except queue.Full:
                    if live:
                        try:
                            frames.get_nowait()
                            stats.dropped += 1  # detection is slower than the sampling rate
                        except queue.Empty:
                            pass
            if stop.is_set():
                return
            if arrived is not None:
                arrived.set()
        log.info("camera %s: the source ended", camera.id)

    reader = threading.Thread(target=feed, name=f"frames-{camera.id}", daemon=True)
    reader.start()
    return reader


def run_worker(config: MonitorConfig, camera_id: str, stop: threading.Event) -> None:
    """The `monitor worker` service: runs until `stop` is set."""
    from monitor.video.batch import GatedCamera, gate_settings, require_stateless, tune
    from monitor.video.detector import load_detector
    from monitor.video.source import open_source

    camera = find_camera(config, camera_id)
    detector = load_detector(config.detector)
    tune(detector, config.detector)
    gate = gate_settings(config.detector)
    if gate is not None:
        require_stateless(detector)
    link = CameraLink(config, camera)
    pipeline = CameraPipeline(config, camera, detector)
    gated = GatedCamera(pipeline, gate) if gate is not None else None
    source = open_source(camera, start=None, detect_fps=camera.detect_fps)
    frames: queue.Queue[Frame] = queue.Queue(maxsize=2)
    start_reader(camera, source, frames, stop, pipeline.stats)
    log.info("camera %s: watching %s", camera.id, ", ".join(z.window for z in camera.windows))
    clock = FrameClock()
    try:
        while not stop.is_set():
            try:
                frame = frames.get(timeout=1.0)
                if gated is not None:
                    messages = gated.process(frame, detector, canvas_size=config.detector.imgsz)
                else:
                    messages = pipeline.on_frame(frame)
                clock.seen(frame)
            except queue.Empty:
                messages = pipeline.watchdog(clock.now())
            link.send(messages)
            link.stats_due(pipeline.stats)
    finally:
        source.close()
        link.close(pipeline.close(clock.now()))
