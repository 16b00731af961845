"""The camera service: the cameras of the hall in one process, live, around one shared detector.

`monitor run` runs every camera of the configuration; `monitor worker --camera ID` runs one — the same
service with one camera. Each camera has a reader thread that keeps only its latest sampled frame
(`start_reader`: a live frame that waits goes stale and is dropped, a file's frames all count), and its
own link to the broker (`CameraLink`: MQTT session with the last will on its availability, the durable
outbox, statistics). The main loop runs in rounds: it takes the frames that arrived, and with
`[detector] gating` reads the due zones of all of them in shared tiled detector calls
(monitor.services.gated); without it, each frame goes through the plain CameraPipeline.on_frame over
the same detector. A camera without frames is watched by its pipeline's no-frames watchdog (windows
unknown, status offline); the other cameras keep going. Why one process: docs/benchmarks.md (one model
in memory, one inference thread, decoding and inference release the GIL).

Messages (docs/mqtt.md): incident events on <prefix>/incidents and evidence JPEGs on
<prefix>/evidence/<incident>/<name> (QoS 1, through the outbox); the retained window state on
<prefix>/windows/<id>/state and camera status on <prefix>/cameras/<id>/status (retained, through the
outbox, so the last word always arrives); statistics on <prefix>/cameras/<id>/stats (QoS 0, best
effort; at least three times in the camera's `offline_after`: they are its sign of life to the recorder). The
process's availability (<prefix>/availability/camera-<id>, last will "offline") comes from its MqttSession
(monitor.adapters.mqtt.session). In: each camera's link subscribes to the approved
leave of its windows (<prefix>/windows/<id>/leaves, retained, from the recorder); the loop hands each
list to the presence machine at the start of its next round, so a window on leave shows `leave` and
raises nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monitor.adapters.keys import key_from
from monitor.adapters.mqtt.outbox import Outbox
from monitor.adapters.mqtt.session import MqttSession, Received
from monitor.adapters.video.detector import load_detector
from monitor.adapters.video.frames import Frame, FrameSource
from monitor.adapters.video.source import is_live, open_source
from monitor.config import CameraConfig, MonitorConfig
from monitor.contract import ContractError, Topics, WindowLeaves
from monitor.core.presence import Leave
from monitor.errors import InputError, MonitorError
from monitor.services.gated import GatedCamera, LoopStats, detect_round, gate_settings, require_stateless, tune
from monitor.services.pipeline import CameraPipeline, Message, Stats, find_camera

log = logging.getLogger(__name__)

WATCHDOG_EVERY = 1.0  # seconds of silence between two watchdog calls of a camera
IDLE_WAIT = 0.5  # seconds the loop sleeps when no camera has a frame (a new frame wakes it at once)
READER_WAIT = 2.0  # seconds a clean stop waits, for all readers together, for them to leave their sources
CLOSE_WAIT = 5.0  # seconds a clean stop waits, for all cameras together, for the broker to take their last words
TILES_PER_SIDE = 2  # the optimised loop packs up to 2 x 2 zone crops into one detector call
LEAVES_WAIT = 5.0  # seconds a camera's start waits for the broker to confirm its subscription to its windows' leave


@dataclass
class CameraLink:
    """One camera's way out: its MQTT session (last will on its availability), its durable outbox, its stats; and
    its way in: the approved leave of its windows, as the recorder last published it (`take_leaves`).

    The outbox file is per camera, so a camera moved between processes loses nothing.
    """

    config: MonitorConfig
    camera: CameraConfig

    def __post_init__(self) -> None:
        self.component = Topics.camera_component(self.camera.id)
        self.topics = Topics(self.config.mqtt.topic_prefix)
        self._leaves: queue.Queue[tuple[str, tuple[Leave, ...]]] = queue.Queue()
        # The session is clean: it subscribes again on every connection to the leave lists of the camera's windows.
        self._windows = {zone.window for zone in self.camera.windows}
        self.session = MqttSession(
            self.config.mqtt,
            self.component,
            component=self.component,
            subscriptions=[(self.topics.window_leaves(window), 1) for window in sorted(self._windows)],
            on_message=self._on_leaves,
            on_subscribed=self._on_subscribed,
        )
        self.outbox = Outbox(Path(self.config.paths.data_dir) / f"outbox-{self.camera.id}.sqlite", self.session)
        # Unreachable: keep working; the outbox holds everything until paho's background reconnect succeeds.
        if self.session.open_or_retry():
            # The broker sends the retained lists right after confirming: a file replayed from a time on leave
            # knows it before its first frames (a live camera would learn it a moment later anyway).
            if not self.session.wait_subscribed(LEAVES_WAIT) and not self.session.refused:
                log.warning("camera %s: the broker did not confirm the subscription to approved leave", self.camera.id)
        else:
            log.warning("camera %s: incidents wait in the outbox until the broker answers", self.camera.id)
        # The statistics are also the service's sign of life: the recorder takes a camera whose service has said
        # nothing for its offline_after for silent (monitor.services.recorder.liveness), so they go out at least
        # three times in that span.
        self._every = min(self.config.presence.stats_every, self.camera.offline_after / 3).total_seconds()
        self._next_stats = time.monotonic() + self._every

    def send(self, messages: list[Message]) -> None:
        for message in messages:
            self.outbox.put(message.topic, message.payload, retain=message.retain)

    def take_leaves(self) -> list[tuple[str, tuple[Leave, ...]]]:
        """The leave lists that arrived since the last call, oldest first: (window, its leave)."""
        taken: list[tuple[str, tuple[Leave, ...]]] = []
        while True:
            try:
                taken.append(self._leaves.get_nowait())
            except queue.Empty:
                return taken

    def _on_subscribed(self, refused: list[str]) -> None:
        if refused:
            log.error("camera %s: the broker refused the subscription to approved leave: check its ACL", self.camera.id)

    def _on_leaves(self, message: Received) -> None:
        """A window's leave list (the session's network thread): queued for the loop's next round."""
        addressed = self.topics.parse(message.topic)
        window = addressed.subject if addressed is not None and addressed.kind == "window_leaves" else None
        try:
            listed = WindowLeaves.from_json(message.payload)
        except ContractError as exc:
            log.warning("camera %s: approved leave on %s ignored: %s", self.camera.id, message.topic, exc)
            return
        if window is None or window not in self._windows or listed.window != window:
            log.warning("camera %s: leave of window %s on %s ignored", self.camera.id, listed.window, message.topic)
            return
        self._leaves.put((window, tuple(Leave(window, leave.start, leave.end) for leave in listed.leaves)))

    def stats_due(self, stats: Stats, source: FrameSource | None) -> None:
        """Publish the statistics (QoS 0, best effort), with how `source` decodes, when `[presence] stats_every`
        (or a third of the camera's `offline_after`, if shorter) has passed; after a stall, once."""
        moment = time.monotonic()
        if moment >= self._next_stats:
            self._next_stats = max(self._next_stats + self._every, moment)
            if source is not None:
                stats.decoding = source.decoding()
            payload = stats.payload(self.camera.id, dt.datetime.now(dt.UTC))
            self.session.publish(self.topics.camera_stats(self.camera.id), payload, qos=0)

    def close(self, last_words: list[Message], *, timeout: float = 5.0) -> None:
        """Send the clean stop's messages, wait up to `timeout` seconds for the broker to acknowledge what
        the outbox holds (the rest waits there for the next start), then leave (availability offline)."""
        self.send(last_words)
        if not self.outbox.wait_empty(timeout):
            log.warning(
                "camera %s: %d messages wait in the outbox for the next start", self.camera.id, self.outbox.pending()
            )
        self.outbox.close()
        self.session.close()


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


@dataclass
class _Camera:
    """One camera of the hall: its pipeline (and gate), its link to the broker, its frames."""

    config: CameraConfig
    pipeline: CameraPipeline
    gated: GatedCamera | None
    link: CameraLink
    frames: queue.Queue[Frame] = field(default_factory=lambda: queue.Queue(maxsize=1))
    clock: FrameClock = field(default_factory=FrameClock)
    source: FrameSource | None = None
    problem: str | None = None
    """Why the source could not be opened at all (then `source` is None)."""
    next_watch: float = 0.0

    def take(self) -> Frame | None:
        try:
            return self.frames.get_nowait()
        except queue.Empty:
            return None

    def learn_leaves(self) -> None:
        """Hand the leave lists that arrived to the presence machine, in the loop's thread: they apply from the
        camera's next reading (or watchdog tick)."""
        for window, leaves in self.link.take_leaves():
            self.pipeline.presence.set_leaves(window, leaves)
            log.info(
                "camera %s: window %s has %d approved leave(s) under way or to come",
                self.config.id,
                window,
                len(leaves),
            )

    def watch(self) -> list[Message]:
        """The no-frames watchdog, at most every WATCHDOG_EVERY seconds while the camera is silent."""
        moment = time.monotonic()
        if self.clock.silent_for() < WATCHDOG_EVERY or moment < self.next_watch:
            return []
        self.next_watch = moment + WATCHDOG_EVERY
        problem = self.problem if self.source is None else self.source.problem
        return self.pipeline.watchdog(self.clock.now(), problem)


def run_cameras(
    config: MonitorConfig,
    stop: threading.Event,
    *,
    only: Sequence[str] | None = None,
    start: dt.datetime | None = None,
) -> None:
    """The cameras of the hall (`only` those ids, default all of `config.cameras`) until `stop` is set.

    File sources are replayed from `start` (default: now), as `monitor replay --start` does; live
    streams are on the clock. A camera whose source cannot be opened is logged and stays offline
    (its windows unknown); the others run.
    """
    if not config.cameras:
        raise InputError("no cameras in the configuration: add [[cameras]] with seat zones to watch windows")
    cameras = [find_camera(config, camera_id) for camera_id in (only or [c.id for c in config.cameras])]
    signer = key_from(config.paths.signing_key)
    detector = load_detector(config.detector)
    tune(detector, config.detector)
    gate = gate_settings(config.detector)
    if gate is not None:
        require_stateless(detector)
    arrived = threading.Event()  # set by every reader after each frame: wakes the idle loop
    halt = threading.Event()  # stops the readers, however the loop ends
    readers: list[threading.Thread] = []
    hall: list[_Camera] = []
    stats = LoopStats()
    try:
        for camera in cameras:
            pipeline = CameraPipeline(config, camera, detector, signer=signer)
            gated = GatedCamera(pipeline, gate) if gate is not None else None
            member = _Camera(camera, pipeline, gated, CameraLink(config, camera))
            hall.append(member)
            try:
                member.source = open_source(camera, start=start, detect_fps=camera.detect_fps)
            except MonitorError as exc:
                log.error("camera %s: %s; its windows stay unknown", camera.id, exc)
                member.problem = str(exc).removeprefix(f"camera {camera.id}: ")
                continue
            readers.append(start_reader(camera, member.source, member.frames, halt, pipeline.stats, arrived=arrived))
        log.info(
            "cameras: %d camera(s), %d window(s), %s",
            len(hall),
            sum(len(c.windows) for c in cameras),
            "optimised loop (gated, batched)" if gate is not None else "plain pipeline",
        )
        while not stop.is_set():
            arrived.clear()
            for member in hall:
                member.learn_leaves()
            ready = [(member, frame) for member in hall if (frame := member.take()) is not None]
            if gate is not None and ready:
                round_ = [(member.gated, frame) for member, frame in ready if member.gated is not None]
                results = detect_round(round_, detector, config.detector.imgsz, TILES_PER_SIDE, stats)
            else:
                results = [member.pipeline.on_frame(frame) for member, frame in ready]
            stats.frames += len(ready)
            for (member, frame), messages in zip(ready, results, strict=True):
                if member.gated is not None and member.gated.quiet and member.source is not None:
                    member.source.hold(frame)
                member.clock.seen(frame)
                member.link.send(messages)
            fed = {id(member) for member, _ in ready}
            for member in hall:
                if id(member) not in fed:
                    member.link.send(member.watch())
                member.link.stats_due(member.pipeline.stats, member.source)
            if not ready:
                arrived.wait(IDLE_WAIT)
    finally:
        halt.set()
        deadline = time.monotonic() + READER_WAIT
        for reader in readers:  # a source is closed once its reader is out of it (or has had its time)
            reader.join(timeout=max(0.0, deadline - time.monotonic()))
        for member in hall:
            if member.source is not None:
                member.source.close()
        for member in hall:  # every camera's last words first, then one shared wait for the broker
            member.link.send(member.pipeline.close(member.clock.now()))
        deadline = time.monotonic() + CLOSE_WAIT
        for member in hall:
            member.link.close([], timeout=max(0.0, deadline - time.monotonic()))
        log.info("cameras stopped: %d frames, %d detector calls", stats.frames, stats.detector_calls)
