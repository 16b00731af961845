"""`monitor demo`: the seed hall's November 2020, end to end, on embedded defaults.

An embedded broker, a SQLite file under var/demo/, the recorder, and the four incidents the
November 2020 notice reports (three late arrivals, one empty post) published on MQTT as patrols
would; the month's imported inputs (case volumes, ratings, entered points); then the score sheets
and the notices that result.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from importlib.resources import as_file, files
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import Engine
from sqlmodel import Session

from monitor.adapters.files import load_cases_file, load_reviews_file, load_scores_file
from monitor.adapters.keys import read_key, write_key
from monitor.adapters.mqtt.outbox import Outbox
from monitor.adapters.mqtt.session import MqttSession, Received
from monitor.adapters.passwords import hash_password
from monitor.adapters.store.accounts import add_user, mark_reviewed
from monitor.adapters.store.database import open_store
from monitor.adapters.store.incidents import load_incidents
from monitor.adapters.store.inputs import load_month_inputs, save_cases, save_reviews, save_scores
from monitor.adapters.video.detector import load_detector
from monitor.config import MonitorConfig, SignerConfig, load_config
from monitor.contract import Alert, ContractError, IncidentEvent, Topics, now_utc
from monitor.core.periods import month_bounds
from monitor.core.scoring import EnteredScores, MonthScores, score_month
from monitor.core.signature import SigningKey
from monitor.errors import MonitorError
from monitor.services.notices import issue_notice, write_notices
from monitor.services.patrol import patrol_incident, publish
from monitor.services.pipeline import Message
from monitor.services.recorder import Handled, Recorder
from monitor.services.replay import replay, video_seconds
from monitor.services.runtime import broker_for

DEMO_MONTH = "2020-11"
VIDEO_DAY = dt.date(2020, 12, 1)  # a working Tuesday after the seed month, so November stays the seed's
# Fixture clips replayed as cameras of the seed hall: (clip, fixture camera, fixture window -> seed window,
# the camera's place as the hall names it).
DEMO_CLIPS = (
    ("two_windows", "cam-f09", {"F09": "A01", "F10": "A02"}, "A区东侧"),
    ("long_absence", "cam-f03", {"F03": "B06"}, "B区西侧"),
)
DEMO_SUPERVISOR = "演示巡查员"
"""Who entered the seed's patrol findings, as the console names them (巡查 · 演示巡查员)."""
DEMO_CAMERAS = "demo-cameras"
# The seed month issued as the office did: each week's notice on the Monday after it, with 文号 16–19
# from its register, then the roll-up as 〔2020〕20号 on 17 December, the seed's own number and date (so
# section 四 reads 均已在当周进行了通报). Every charge was reviewed before its week's notice.
SEED_ISSUES = (
    ("weekly", "2020-W45", 16, dt.date(2020, 11, 9)),
    ("weekly", "2020-W46", 17, dt.date(2020, 11, 16)),
    ("weekly", "2020-W47", 18, dt.date(2020, 11, 23)),
    ("weekly", "2020-W48", 19, dt.date(2020, 11, 30)),
    ("monthly", DEMO_MONTH, 20, dt.date(2020, 12, 17)),
)
_TZ = dt.timezone(dt.timedelta(hours=8))

# The seed's section 四: 迟到 3 人次 (应急管理局 C20, 临沂市测绘院 C29, 邮政快递 D05), 空岗 1 人次 (卫健局 C25),
# as the supervisor entered them: when each was seen (the arrival; the post seen empty) and the minutes.
SEED_INCIDENTS = (
    ("seed-2020-11-c20", "late_arrival", "C20", dt.datetime(2020, 11, 4, 9, 8, tzinfo=_TZ), 8),
    ("seed-2020-11-c29", "late_arrival", "C29", dt.datetime(2020, 11, 11, 9, 15, tzinfo=_TZ), 15),
    ("seed-2020-11-d05", "late_arrival", "D05", dt.datetime(2020, 11, 19, 13, 41, tzinfo=_TZ), 11),
    ("seed-2020-11-c25", "empty_post", "C25", dt.datetime(2020, 11, 24, 14, 50, tzinfo=_TZ), 40),
)


def demo_cameras() -> str:
    """What the video part shows, as the demo says it: each camera by its place and the windows it watches."""
    seats = [f"{place}（{'、'.join(windows.values())} 窗口）" for _clip, _camera, windows, place in DEMO_CLIPS]
    return f"{len(DEMO_CLIPS)} 路摄像头：" + "；".join(seats)


def seed_events(supervisor: SigningKey) -> list[IncidentEvent]:
    """The seed month's findings, signed by the demo's supervisor."""
    return [
        supervisor.sign(
            patrol_incident(
                window=window, kind=kind, seen_at=seen_at, minutes=minutes, note="", by=supervisor.name
            ).model_copy(update={"id": incident_id})
        )
        for incident_id, kind, window, seen_at, minutes in SEED_INCIDENTS
    ]


def demo_keys(data_dir: Path) -> tuple[SigningKey, Path]:
    """The demo's signers: a supervisor (its key, in memory) and the camera service (its key file)."""
    cameras = SigningKey.generate(DEMO_CAMERAS)
    path = data_dir / "keys" / "cameras.key"
    write_key(path, cameras)
    return SigningKey.generate(DEMO_SUPERVISOR), path


def seed_hall_config(data_dir: Path, supervisor: SigningKey, camera_key: Path) -> MonitorConfig:
    """The seed hall with everything local: SQLite in data_dir, embedded broker on a free port, and the
    demo's signers (a supervisor for the patrol findings, the camera service for the video day)."""
    with as_file(files("monitor") / "halls" / "hedong.toml") as path:
        config = load_config(path)
    signers = [
        SignerConfig(name=supervisor.name, role="supervisor", public_key=supervisor.public_text()),
        SignerConfig(name=DEMO_CAMERAS, role="camera", public_key=read_key(camera_key).public_text()),
    ]
    return config.model_copy(
        update={
            "database": config.database.model_copy(update={"url": f"sqlite:///{data_dir / 'demo.db'}"}),
            "mqtt": config.mqtt.model_copy(update={"url": "embedded", "embedded_port": 0}),
            "paths": config.paths.model_copy(update={"data_dir": str(data_dir), "signing_key": str(camera_key)}),
            "notices": config.notices.model_copy(update={"output_dir": str(data_dir)}),
            # The demo replays December 2020: its cameras' incidents are years old, and accepted as such.
            "recorder": config.recorder.model_copy(update={"camera_max_age": DEMO_CAMERA_AGE}),
            "signers": signers,
        }
    )


LISTEN_WAIT = 5.0
"""Seconds the demo waits for the broker to confirm the supervisor's subscription to alerts."""


def _alert_listener(config: MonitorConfig, console: Console) -> MqttSession:
    """A supervisor's phone: prints every alert the recorder publishes, once (a redelivery has the same id)."""
    seen: set[str] = set()

    def show(message: Received) -> None:
        try:
            alert = Alert.from_json(message.payload)
        except ContractError as exc:
            console.print(f"  [red]无法读取的告警[/]：{exc}", soft_wrap=True)
            return
        if alert.id in seen:
            return
        seen.add(alert.id)
        console.print(f"  [yellow]告警[/] {alert.message}", soft_wrap=True)

    session = MqttSession(
        config.mqtt, "demo-supervisor", subscriptions=[(Topics(config.mqtt.topic_prefix).alerts, 1)], on_message=show
    )
    session.open()
    if not session.wait_subscribed(LISTEN_WAIT):
        console.print("  [yellow]告警订阅未获确认[/]：告警可能不显示 / the alerts subscription was not confirmed")
    return session


def import_seed_inputs(config: MonitorConfig, engine: Engine) -> None:
    """What cameras cannot see, as the hall imports it: case volumes (Oct and Nov), ratings, entered points."""
    with as_file(files("monitor") / "halls" / "hedong-2020-11") as folder, Session(engine) as session:
        now = now_utc()
        save_cases(session, "2020-10", load_cases_file(config, folder / "cases-2020-10.csv"), "seed", now)
        save_cases(session, "2020-11", load_cases_file(config, folder / "cases-2020-11.csv"), "seed", now)
        save_reviews(session, "2020-11", load_reviews_file(config, folder / "reviews-2020-11.csv"), "seed", now)
        scores = load_scores_file(config, "2020-11", folder / "scores-2020-11.xlsx")
        save_scores(session, "2020-11", scores, "seed", now)
        session.commit()


def video_hall_config(config: MonitorConfig, fixture: MonitorConfig) -> MonitorConfig:
    """The seed hall with the demo clips' cameras watching seed windows, named by their places there.

    The clips last minutes, so the fixture hall's short thresholds (and its detector) apply.
    """
    cameras = []
    for _clip, camera_id, windows, place in DEMO_CLIPS:
        camera = next(c for c in fixture.cameras if c.id == camera_id)
        zones = [z.model_copy(update={"window": windows[z.window]}) for z in camera.windows]
        cameras.append(camera.model_copy(update={"id": f"demo-{camera_id}", "name": place, "windows": zones}))
    return config.model_copy(update={"cameras": cameras, "presence": fixture.presence, "detector": fixture.detector})


def replay_clips(config: MonitorConfig, clips: Path, console: Console, counted: Callable[[int], None]) -> None:
    """Replay the demo clips as a working day, publishing through an outbox like a live worker.

    `counted` is told how many messages for the recorder (incidents and evidence) were published.
    """
    detector = load_detector(config.detector)
    session = MqttSession(config.mqtt, "demo-cameras")
    outbox = Outbox(Path(config.paths.data_dir) / "outbox-demo.sqlite", session)
    topics = Topics(config.mqtt.topic_prefix)
    for_recorder = 0

    def publish(message: Message) -> None:
        nonlocal for_recorder
        outbox.put(message.topic, message.payload, retain=message.retain)
        addressed = topics.parse(message.topic)
        if addressed is not None and addressed.kind in ("incidents", "evidence"):
            for_recorder += 1

    try:
        session.open()
        with Progress(console=console, transient=True) as bar:
            for clip, camera_id, _windows, _place in DEMO_CLIPS:
                video = clips / f"{clip}.mp4"
                truth = json.loads((clips / f"{clip}.truth.json").read_text(encoding="utf-8"))
                first = dt.datetime.fromisoformat(truth["start"]).astimezone(config.hall.tz)
                start = dt.datetime.combine(VIDEO_DAY, first.time(), config.hall.tz)
                task = bar.add_task(f"回放 {clip}.mp4", total=video_seconds(video))
                replay(
                    config,
                    f"demo-{camera_id}",
                    video,
                    start,
                    publish=publish,
                    progress=lambda s, task=task: bar.update(task, completed=s),
                    detector=detector,
                )
        outbox.wait_empty(30)
    finally:
        outbox.close()
        session.close()
    counted(for_recorder)


def demo_fixture() -> tuple[MonitorConfig, Path]:
    """The fixture hall the demo clips come with, and the clips' folder."""
    with as_file(files("monitor") / "halls" / "clips" / "hall.toml") as path:
        fixture = load_config(path)
        clips = Path(path).parent
    # The fixture hall names its weights relative to the repository root; the package's halls/ folder
    # mirrors it (halls/models is the repository's models/), so the demo runs from any directory.
    weights = Path(fixture.detector.weights)
    if not weights.is_absolute():
        detector = fixture.detector.model_copy(update={"weights": str(clips.parent / weights)})
        fixture = fixture.model_copy(update={"detector": detector})
    # Its cameras' files too (fixtures/videos/<clip>.mp4 in the repository): the package's copies, so that the
    # console's cameras page can read their pictures wherever the demo runs.
    cameras = [
        camera.model_copy(update={"url": str(clips / Path(camera.url).name)})
        if "://" not in camera.url and not Path(camera.url).is_absolute() and (clips / Path(camera.url).name).exists()
        else camera
        for camera in fixture.cameras
    ]
    return fixture.model_copy(update={"cameras": cameras}), clips


def _video_day(
    config: MonitorConfig, clips: Path, recorder: Recorder, handled: list[Handled], console: Console, timeout: float
) -> None:
    """The camera part: the demo clips replayed through the workers' pipeline on VIDEO_DAY."""
    console.print(f"\n[bold]视频巡查[/]：{VIDEO_DAY:%Y年%m月%d日}，{demo_cameras()}（录像回放）", soft_wrap=True)
    before = len(handled)
    expected: list[int] = []
    try:
        replay_clips(config, clips, console, expected.append)
    except MonitorError as exc:
        console.print(f"[yellow]跳过视频部分[/]：{exc}", soft_wrap=True)
        return
    deadline = time.monotonic() + timeout
    while len(handled) - before < expected[0] and time.monotonic() < deadline:
        time.sleep(0.1)
    recorder.deliver_due_alerts()


def run_demo(
    data_dir: Path, console: Console, *, video: bool = True, timeout: float = 60.0
) -> tuple[list[MonthScores], list[Path]]:
    """Run the demo; the score sheets (the seed month, then the video day's month) and the notices."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    supervisor, camera_key = demo_keys(data_dir)
    events = seed_events(supervisor)
    done = threading.Event()
    handled: list[Handled] = []

    def on_handled(_topic: str, result: Handled) -> None:
        handled.append(result)
        if len(handled) >= len(events):
            done.set()

    hall = seed_hall_config(data_dir, supervisor, camera_key)
    if video:  # the recorder knows the demo's cameras from the start: it checks what each may report
        fixture, clips = demo_fixture()
        hall = video_hall_config(hall, fixture)
    with broker_for(hall) as config:
        shown = f"，{VIDEO_DAY:%Y年%m月%d日}视频巡查（{demo_cameras()}）" if video else ""
        console.print(f"[bold]{config.hall.name}[/] — 演示：2020年11月考核通报{shown}", soft_wrap=True)
        console.print(f"数据目录 {data_dir}；内置 MQTT 服务 127.0.0.1:{config.mqtt.embedded_port}")
        console.print(f"\n[bold]纪律巡查[/]：2020年11月 {len(events)} 起，由巡查人员录入，经 MQTT 送记录器")
        engine = open_store(config)
        recorder = Recorder(config, engine, on_handled=on_handled)
        phone = _alert_listener(config, console)
        recorder.start()
        try:
            publish(config, "incidents", list(events))
            if not done.wait(timeout):
                raise TimeoutError(f"the recorder handled {len(handled)} of {len(events)} incidents in {timeout:.0f}s")
            recorder.deliver_due_alerts()
            if video:
                _video_day(config, clips, recorder, handled, console, timeout)
        finally:
            recorder.stop()
            phone.close()
    import_seed_inputs(config, engine)
    start, end = month_bounds(DEMO_MONTH, config.hall.tz)
    with Session(engine) as session:
        incidents = load_incidents(session, start, end)
        inputs = load_month_inputs(session, config, DEMO_MONTH)
        for incident in incidents:  # reviewed by the office the next working hour, before its week's notice
            mark_reviewed(session, incident.id, DEMO_ACCOUNT, incident.started_at + dt.timedelta(hours=1))
        session.commit()
    entered = EnteredScores(departments=inputs.department_points or {}, windows=inputs.window_points or {})
    sheets = [score_month(config, DEMO_MONTH, incidents, entered)]
    notices: list[Path] = []
    for kind, period, number, day in SEED_ISSUES:
        notices += issue_notice(config, engine, kind, period, now=now_utc(), number=number, day=day)[1]
    if video:
        video_month = VIDEO_DAY.strftime("%Y-%m")
        start, end = month_bounds(video_month, config.hall.tz)
        with Session(engine) as session:
            sheets.append(score_month(config, video_month, load_incidents(session, start, end)))
        year, week, _ = VIDEO_DAY.isocalendar()
        notices += write_notices(config, engine, video_month, f"{year}-W{week:02d}")[:3]
    return sheets, notices


DEMO_CAMERA_AGE = dt.timedelta(days=365 * 30)
"""The demo's `[recorder] camera_max_age`: it replays 2020 as if live."""


DEMO_ACCOUNT = "演示管理员"
"""The console account `monitor demo --serve` creates (an admin), with a password printed once."""


def console_config(data_dir: Path, *, video: bool, port: int) -> MonitorConfig:
    """The demo's hall for serving its data in the console: its signers plus the console's own key."""
    key = SigningKey.generate("demo-console")
    key_file = data_dir / "keys" / "console.key"
    write_key(key_file, key)
    hall = seed_hall_config(data_dir, SigningKey.generate(DEMO_SUPERVISOR), data_dir / "keys" / "cameras.key")
    if video:
        hall = video_hall_config(hall, demo_fixture()[0])
    console_signer = SignerConfig(name=key.name, role="console", public_key=key.public_text())
    return hall.model_copy(
        update={
            "signers": [*hall.signers, console_signer],
            "console": hall.console.model_copy(update={"port": port, "signing_key": str(key_file)}),
        }
    )


def demo_account(engine: Engine) -> str:
    """Create the demo's admin account; its password (random, shown once)."""
    password = secrets.token_urlsafe(9)
    with Session(engine) as session:
        add_user(session, DEMO_ACCOUNT, "admin", hash_password(password), "monitor demo --serve", now_utc())
        session.commit()
    return password
