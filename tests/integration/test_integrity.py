"""Integrity, tried as a hostile user would: no message stops the recorder, no record is forged, every
alert goes out once, and the supervisor's commands say what really happened."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from monitor.adapters.keys import write_key
from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import (
    AlertRow,
    DeadLetterRow,
    DismissalRow,
    IncidentRow,
    LeaveRow,
)
from monitor.config import CameraConfig, MonitorConfig, WebhookConfig
from monitor.contract import Alert, Dismissal, IncidentEvent, LeaveGrant, Rejection, SystemAlert, Topics
from monitor.core.incident import Incident
from monitor.core.signature import SigningKey
from monitor.services.recorder import Recorder
from tests.support.config import CAMERAS, SUPERVISOR, hall_config, signed, supervisor_key, supervisor_key_file
from tests.support.mqtt import Mosquitto, Subscriber, publish
from tests.support.recorder import recorder_process, subscribed_holder
from tests.support.waiting import wait_for

TZ = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2020, 11, 4, 9, 12, tzinfo=TZ)
WATCHED = CameraConfig.model_validate(
    {
        "id": "cam-c20",
        "url": "rtsp://camera.invalid/1",
        "windows": [{"window": "C20", "polygon": [[0, 0], [1, 0], [1, 1]]}],
    }
)


def patrol(incident_id: str, window: str = "C20", day: int = 4, **fields: object) -> IncidentEvent:
    base = {
        "id": incident_id,
        "event": "new",
        "kind": "late_arrival",
        "window": window,
        "started_at": AT.replace(day=day),
        "minutes": 12,
        "source": f"patrol:{SUPERVISOR}",
    }
    return IncidentEvent.model_validate({**base, **fields})


def count(engine: object, table: type) -> int:
    with Session(engine) as session:  # type: ignore[arg-type]
        return int(session.exec(select(func.count()).select_from(table)).one())


@pytest.fixture
def running(db_url: str, mosquitto_url: str, tmp_path: Path) -> Iterator[tuple[MonitorConfig, Recorder]]:
    config, _ = hall_config(tmp_path, db_url=db_url, mqtt_url=mosquitto_url, cameras=[WATCHED])
    recorder = Recorder(config, open_database(db_url))
    assert recorder.start()
    try:
        yield config, recorder
    finally:
        recorder.stop()
        recorder.engine.dispose()


# --- no poison message ------------------------------------------------------------------------------------


def _incident_json(config: MonitorConfig, **changes: object) -> bytes:
    """A signed patrol finding's JSON with fields changed after signing (as an attacker sends it)."""
    data = json.loads(signed(config, patrol("poison")).to_json())
    data.update(changes)
    return json.dumps(data).encode()


def _signed_json(config: MonitorConfig, record: IncidentEvent | Dismissal | LeaveGrant, **changes: object) -> bytes:
    data = json.loads(signed(config, record).to_json())
    data.update(changes)
    return json.dumps(data, ensure_ascii=False).encode()


POISON: list[object] = [
    pytest.param(
        "incidents",
        lambda c: _incident_json(c, started_at="9999-12-31T10:00:00+08:00"),
        "outside 2000–2099",
        id="year-9999",
    ),
    pytest.param(
        "incidents",
        lambda c: _incident_json(c, started_at="0001-01-01T09:10:00+08:00"),
        "outside 2000–2099",
        id="year-1",
    ),
    pytest.param(
        "incidents",
        lambda c: _incident_json(c, ended_at="9999-12-31T23:59:59+08:00"),
        "outside 2000–2099",
        id="ended-year-9999",
    ),
    pytest.param("incidents", lambda c: b"[" * 200_000, "more than 65536", id="200000-brackets"),
    pytest.param("incidents", lambda c: b"[" * 60_000, "nested too deeply", id="deep-nesting"),
    pytest.param("incidents", lambda c: b'{"schema": ' + b"1" * 5000 + b"}", "digits", id="5000-digit-schema"),
    pytest.param(
        "incidents",
        lambda c: _incident_json(c, schema=True),
        "schema: Input should be a valid integer",
        id="schema-true",
    ),
    pytest.param(
        "incidents", lambda c: _incident_json(c, seq=2**63), "less than or equal to 2147483647", id="seq-2**63"
    ),
    pytest.param(
        "incidents",
        lambda c: _incident_json(c, minutes=3_000_000_000),
        "minutes: Input should be less",
        id="minutes-3e9",
    ),
    pytest.param(
        "incidents",
        lambda c: _incident_json(c, source="patrol:" + "x" * 123),
        "at most 128 characters",
        id="source-130",
    ),
    pytest.param("incidents", lambda c: _incident_json(c, staff="张" * 70), "at most 64 characters", id="staff-70"),
    pytest.param("incidents", lambda c: _incident_json(c, note="巡查\x00发现"), "contains a NUL character", id="nul"),
    pytest.param(
        "dismissals",
        lambda c: _signed_json(c, Dismissal(incident_id="x", reason="r", by=SUPERVISOR, at=AT), by="主" * 70),
        "at most 64 characters",
        id="dismissal-by-70",
    ),
    pytest.param(
        "leaves",
        lambda c: _signed_json(
            c,
            LeaveGrant(
                id="l1", window="C20", start=AT, end=AT + dt.timedelta(hours=1), reason="公出", by=SUPERVISOR, at=AT
            ),
            by="主" * 70,
        ),
        "at most 64 characters",
        id="leave-by-70",
    ),
    pytest.param("evidence", lambda c: b"\xff\xd8\xff\xe0 jpeg", "evidence topic must be", id="evidence-id-100"),
]


@pytest.mark.parametrize(("topic", "poison", "reason"), POISON)
def test_a_poison_message_is_refused_kept_and_the_next_incident_recorded(
    running: tuple[MonitorConfig, Recorder], topic: str, poison: Callable[[MonitorConfig], bytes], reason: str
) -> None:
    config, recorder = running
    topics = Topics(config.mqtt.topic_prefix)
    target = topics.evidence("i" * 100, "shot.jpg") if topic == "evidence" else getattr(topics, topic)
    with Subscriber(config.mqtt.url, topics.rejected) as rejected:
        publish(config.mqtt.url, target, [poison(config)])
        publish(config.mqtt.url, topics.incidents, [signed(config, patrol("after")).to_json()])
        wait_for(lambda: count(recorder.engine, IncidentRow) == 1, what="the valid incident after the poison")
        wait_for(lambda: len(rejected.payloads()) == 1, what="the refusal")
    refusal = Rejection.from_json(rejected.payloads()[0])
    assert reason in refusal.reason and refusal.topic == target
    with Session(recorder.engine) as session:
        letter = session.exec(select(DeadLetterRow)).one()
        assert reason in letter.reason and letter.topic == target and letter.size == len(poison(config))
        assert session.get(IncidentRow, "after") is not None and session.get(IncidentRow, "poison") is None
    assert recorder.ready.is_set()


def test_the_same_event_with_other_content_is_a_conflict_not_a_duplicate(
    running: tuple[MonitorConfig, Recorder],
) -> None:
    config, recorder = running
    topics = Topics(config.mqtt.topic_prefix)
    with Subscriber(config.mqtt.url, topics.rejected) as rejected:
        publish(config.mqtt.url, topics.incidents, [signed(config, patrol("same")).to_json()])
        publish(config.mqtt.url, topics.incidents, [signed(config, patrol("same", window="C21")).to_json()])
        wait_for(lambda: len(rejected.payloads()) == 1, what="the conflict")
    assert "recorded with other content" in Rejection.from_json(rejected.payloads()[0]).reason
    with Session(recorder.engine) as session:
        assert session.get(IncidentRow, "same").window == "C20"  # type: ignore[union-attr]


def _mutations(config: MonitorConfig) -> st.SearchStrategy[tuple[str, bytes]]:
    """Random bytes, random JSON, and a valid signed record with one field set, removed or retyped."""
    topics = Topics(config.mqtt.topic_prefix)
    valid = json.loads(signed(config, patrol("mutant")).to_json())
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=80),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=12,
    )

    def mutated(key: str, value: object, drop: bool) -> bytes:
        data = dict(valid)
        if drop:
            data.pop(key, None)
        else:
            data[key] = value
        return json.dumps(data, ensure_ascii=False).encode()

    payloads = st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.builds(mutated, st.sampled_from(sorted(valid)), json_values, st.booleans()),
    )
    targets = st.sampled_from(
        [topics.incidents, topics.dismissals, topics.leaves, topics.evidence("mutant", "x.jpg"), f"{topics.prefix}/x"]
    )
    return st.tuples(targets, payloads)


def test_random_and_mutated_payloads_never_stop_the_recorder(db_url: str, tmp_path: Path) -> None:
    """Property: whatever comes before it, a valid incident is recorded, and the bad one is refused or
    recorded — never an error out of the recorder."""
    config, _ = hall_config(tmp_path, db_url=db_url)
    recorder = Recorder(config, open_database(db_url))  # not started: its transactions only, no broker
    key = supervisor_key(config)
    serial = iter(range(10**6))

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_mutations(config))
    def check(message: tuple[str, bytes]) -> None:
        follow = key.sign(patrol(f"valid-{next(serial)}", day=5)).to_json()
        results = recorder.apply([message, (Topics(config.mqtt.topic_prefix).incidents, follow)])
        assert results is not None
        assert results[0].status in ("recorded", "duplicate", "dismissed", "rejected")
        assert results[1].status == "recorded", results[1].detail

    try:
        check()
    finally:
        recorder.engine.dispose()


@pytest.mark.parametrize("where", ["before writing", "after writing"])
def test_an_unexpected_error_quarantines_that_message_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A fault no payload can cause today (a bug, a driver error), before the message wrote anything or
    after its incident row was written: that one message is refused and kept, nothing of it stays, and
    the rest of its batch is recorded."""
    from monitor.services.recorder import handlers as recorder_module

    config, _ = hall_config(tmp_path)
    recorder = Recorder(config, open_database(config.database.url))
    if where == "before writing":
        real_handle = recorder_module.handle_message

        def failing_handle(session: Session, config: MonitorConfig, *args: object) -> object:
            if b"boom" in args[2]:  # type: ignore[operator]
                raise RuntimeError("boom")
            return real_handle(session, config, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(recorder_module, "handle_message", failing_handle)
    else:
        real_compose = recorder_module.compose_alert

        def failing_compose(incident: Incident, *args: object) -> object:
            if incident.id == "boom":
                raise RuntimeError("boom")
            return real_compose(incident, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(recorder_module, "compose_alert", failing_compose)
    incidents = Topics(config.mqtt.topic_prefix).incidents
    batch = [(incidents, signed(config, patrol(name, note=name)).to_json()) for name in ("before", "boom", "after")]
    results = recorder.apply(batch)
    assert results is not None
    assert [r.status for r in results] == ["recorded", "rejected", "recorded"]
    assert "RuntimeError: boom" in results[1].detail
    with Session(recorder.engine) as session:
        assert sorted(session.exec(select(IncidentRow.id)).all()) == ["after", "before"]
        assert sorted(session.exec(select(AlertRow.incident_id)).all()) == ["after", "before"]
    assert count(recorder.engine, DeadLetterRow) == 1
    recorder.engine.dispose()


# --- unforgeable ---------------------------------------------------------------------------------------------


def _stranger() -> SigningKey:
    return SigningKey.generate(SUPERVISOR)  # the supervisor's name, not the supervisor's key


def _camera_key(config: MonitorConfig) -> SigningKey:
    from monitor.adapters.keys import read_key

    assert config.paths.signing_key
    return read_key(Path(config.paths.signing_key))


FORGERIES: list[object] = [
    pytest.param(
        "dismissals",
        lambda c: Dismissal(incident_id="real", reason="r", by=SUPERVISOR, at=AT).to_json(),
        "not signed",
        id="unsigned-dismissal",
    ),
    pytest.param(
        "dismissals",
        lambda c: _stranger().sign(Dismissal(incident_id="real", reason="r", by=SUPERVISOR, at=AT)).to_json(),
        f"not {SUPERVISOR}'s",
        id="dismissal-with-another-key",
    ),
    pytest.param(
        "dismissals",
        lambda c: supervisor_key(c).sign(Dismissal(incident_id="real", reason="r", by="主任", at=AT)).to_json(),
        "says by '主任'",
        id="dismissal-in-another-name",
    ),
    pytest.param(
        "leaves",
        lambda c: LeaveGrant(
            id="l", window="C20", start=AT, end=AT + dt.timedelta(hours=1), reason="公出", by=SUPERVISOR, at=AT
        ).to_json(),
        "not signed",
        id="unsigned-leave",
    ),
    pytest.param(
        "incidents",
        lambda c: _camera_key(c).sign(patrol("forged")).to_json(),
        "does not run",
        id="camera-key-signs-a-patrol",
    ),
    pytest.param(
        "incidents",
        lambda c: supervisor_key(c).sign(patrol("forged", source="patrol:主任")).to_json(),
        "signs patrol findings as",
        id="patrol-in-another-name",
    ),
    pytest.param(
        "incidents",
        lambda c: _camera_key(c).sign(patrol("forged", window="C21", source="camera:cam-c20")).to_json(),
        "does not watch window C21",
        id="camera-reports-a-window-it-does-not-watch",
    ),
    pytest.param(
        "incidents", lambda c: _incident_json(c, minutes=40), f"not {SUPERVISOR}'s", id="changed-after-signing"
    ),
    pytest.param("incidents", lambda c: patrol("forged").to_json(), "not signed", id="unsigned-incident"),
]


@pytest.mark.parametrize(("topic", "forged", "reason"), FORGERIES)
def test_a_forged_record_is_refused_as_unauthenticated_and_nothing_is_written(
    running: tuple[MonitorConfig, Recorder], topic: str, forged: Callable[[MonitorConfig], bytes], reason: str
) -> None:
    config, recorder = running
    topics = Topics(config.mqtt.topic_prefix)
    publish(config.mqtt.url, topics.incidents, [signed(config, patrol("real")).to_json()])
    wait_for(lambda: count(recorder.engine, IncidentRow) == 1, what="the real incident")
    with Subscriber(config.mqtt.url, topics.rejected) as rejected:
        publish(config.mqtt.url, getattr(topics, topic), [forged(config)])
        wait_for(lambda: len(rejected.payloads()) == 1, what="the refusal")
    refusal = Rejection.from_json(rejected.payloads()[0]).reason
    assert refusal.startswith("unauthenticated") and reason in refusal, refusal
    assert (
        count(recorder.engine, IncidentRow),
        count(recorder.engine, DismissalRow),
        count(recorder.engine, LeaveRow),
    ) == (
        1,
        0,
        0,
    )


def test_a_camera_service_records_the_windows_its_cameras_watch(running: tuple[MonitorConfig, Recorder]) -> None:
    config, recorder = running
    event = _camera_key(config).sign(patrol("seen", source="camera:cam-c20"))
    assert event.signer == CAMERAS
    publish(config.mqtt.url, Topics(config.mqtt.topic_prefix).incidents, [event.to_json()])
    wait_for(lambda: count(recorder.engine, IncidentRow) == 1, what="the camera's incident")


# --- a truthful command line ----------------------------------------------------------------------------------


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, check=False)


ADD = ["incident", "add", "--window", "C20", "--kind", "late_arrival", "--at", "2020-11-04T09:08"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(
            ["--minutes", "3000000000"], "minutes: Input should be less than or equal to 527040", id="minutes-3e9"
        ),
        pytest.param(["--minutes", "99999999999999999999"], "minutes: Input should be less than", id="minutes-1e20"),
        pytest.param(["--note", "记" * 501], "note: String should have at most 500 characters", id="note-501"),
    ],
)
def test_an_out_of_bounds_option_is_one_clear_error(tmp_path: Path, extra: list[str], message: str) -> None:
    config, path = hall_config(tmp_path, mqtt_url="mqtt://127.0.0.1:1")
    result = monitor("--config", str(path), *ADD, *extra, "--key", str(supervisor_key_file(config)))
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_without_a_key_the_command_says_how_to_get_one(tmp_path: Path) -> None:
    _, path = hall_config(tmp_path, mqtt_url="mqtt://127.0.0.1:1")
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), *ADD],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "MONITOR_SIGNING_KEY"},
    )
    assert result.returncode == 1 and "no signing key" in result.stderr and "monitor key new" in result.stderr


def test_a_missing_ca_file_is_one_clear_error(tmp_path: Path) -> None:
    config, path = hall_config(tmp_path, mqtt_url="mqtts://127.0.0.1:1", mqtt={"ca_file": str(tmp_path / "none.pem")})
    result = monitor("--config", str(path), *ADD, "--key", str(supervisor_key_file(config)))
    assert result.returncode == 1 and "ca_file" in result.stderr and "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_recorder_means_no_success(tmp_path: Path, mosquitto_url: str) -> None:
    config, path = hall_config(tmp_path, mqtt_url=mosquitto_url)
    result = monitor("--config", str(path), *ADD, "--key", str(supervisor_key_file(config)), "--wait", "2")
    assert result.returncode == 1 and "has not confirmed" in result.stderr, result.stderr
    assert result.stdout == ""


def test_the_commands_succeed_only_on_the_recorders_word(tmp_path: Path, mosquitto_url: str) -> None:
    config, path = hall_config(tmp_path, mqtt_url=mosquitto_url)
    engine = open_database(config.database.url)
    recorder = Recorder(config, engine)
    assert recorder.start()
    key = str(supervisor_key_file(config))
    try:
        added = monitor("--config", str(path), *ADD, "--minutes", "8", "--key", key)
        assert added.returncode == 0, added.stderr
        with Session(engine) as session:  # recorded by the time the command returned
            assert session.get(IncidentRow, added.stdout.strip()) is not None
        leave = monitor(
            "--config", str(path), "leave", "add", "--window", "C21", "--from", "2020-11-05T09:00",
            "--to", "2020-11-05T12:00", "--reason", "公出", "--key", key,
        )  # fmt: skip
        assert leave.returncode == 0, leave.stderr
        with Session(engine) as session:
            grant = session.get(LeaveRow, leave.stdout.strip())
            assert grant is not None and grant.by == SUPERVISOR
        stranger = tmp_path / "stranger.key"
        write_key(stranger, _stranger())
        refused = monitor("--config", str(path), *ADD, "--key", str(stranger))
        assert refused.returncode == 1 and "the recorder refused it: unauthenticated" in refused.stderr
        assert count(engine, IncidentRow) == 1
    finally:
        recorder.stop()
        engine.dispose()


# --- every alert exactly once ---------------------------------------------------------------------------------


class Robot(http.server.BaseHTTPRequestHandler):
    """A group robot that keeps every alert posted to it."""

    alerts: ClassVar[list[str]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with Robot.lock:
            Robot.alerts.append(str(body["incident_id"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"errcode": 0}')

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def robot() -> Iterator[WebhookConfig]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Robot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Robot.alerts = []
    try:
        yield WebhookConfig(name="值班群", url=f"http://127.0.0.1:{server.server_port}/send", style="json")
    finally:
        server.shutdown()


def _delivered(engine: object) -> int:
    with Session(engine) as session:  # type: ignore[arg-type]
        return int(session.exec(select(func.count()).select_from(AlertRow).where(AlertRow.delivered_at != None)).one())  # noqa: E711


def _ids(payloads: list[bytes]) -> list[str]:
    return [Alert.from_json(p).incident_id for p in payloads]


def test_each_alert_goes_out_once_across_broker_restarts(tmp_path: Path, robot: WebhookConfig) -> None:
    with Mosquitto(tmp_path / "broker") as broker:
        config, _ = hall_config(tmp_path, mqtt_url=broker.url, alerts={"webhooks": [robot]})
        key = supervisor_key(config)
        topics = Topics(config.mqtt.topic_prefix)
        windows = [w.id for w in config.window_list][:40]
        events = [key.sign(patrol(f"r-{n}", window=w, day=4 + n % 2)).to_json() for n, w in enumerate(windows)]
        phone = Subscriber(broker.url, topics.alerts, client_id=f"phone-{topics.prefix[-8:]}", qos=2)
        engine = open_database(config.database.url)
        recorder = Recorder(config, engine)
        assert recorder.start()
        try:
            publish(broker.url, topics.incidents, events[:20])
            wait_for(lambda: count(engine, IncidentRow) >= 10, what="the first incidents")
            broker.stop()  # mid-stream: alerts are being delivered
            broker.start()
            publish(broker.url, topics.incidents, events[20:])
            broker.stop()
            broker.start()
            wait_for(lambda: count(engine, IncidentRow) == 40, timeout=60, what="all 40 incidents")
            wait_for(lambda: _delivered(engine) == 80, timeout=60, what="all 80 alert deliveries")
            wait_for(lambda: len(phone.payloads()) >= 40 and len(Robot.alerts) >= 40, what="the alerts received")
            recorder.deliver_due_alerts()  # a last round finds nothing left to send
        finally:
            recorder.stop()
            phone.close()
            engine.dispose()
    assert sorted(_ids(phone.payloads())) == sorted(f"r-{n}" for n in range(40))
    assert sorted(Robot.alerts) == sorted(f"r-{n}" for n in range(40))


@pytest.mark.parametrize("killed", ["holder", "standby"])
def test_two_recorders_on_one_database_lose_nothing_and_alert_once_when_one_is_killed(
    tmp_path: Path, db_url: str, robot: WebhookConfig, killed: str
) -> None:
    with Mosquitto(tmp_path / "broker") as broker:
        config, path = hall_config(tmp_path, db_url=db_url, mqtt_url=broker.url, alerts={"webhooks": [robot]})
        key = supervisor_key(config)
        topics = Topics(config.mqtt.topic_prefix)
        windows = [w.id for w in config.window_list][:60]
        events = [key.sign(patrol(f"two-{n}", window=w, day=4 + n % 2)).to_json() for n, w in enumerate(windows)]
        phone = Subscriber(broker.url, topics.alerts, client_id=f"phone-{topics.prefix[-8:]}", qos=2)
        engine = open_database(db_url)
        first = recorder_process(path, tmp_path / "first.log")
        processes = [first]
        try:
            wait_for(lambda: subscribed_holder(engine) == first.pid, what="the first recorder subscribed")
            second = recorder_process(path, tmp_path / "second.log")
            processes.append(second)
            publish(broker.url, topics.incidents, events[:30])
            wait_for(lambda: count(engine, IncidentRow) >= 10, what="the first incidents")
            victim = first if killed == "holder" else second
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            publish(broker.url, topics.incidents, events[30:])
            wait_for(lambda: count(engine, IncidentRow) == 60, timeout=90, what="all 60 incidents")
            wait_for(lambda: _delivered(engine) == 120, timeout=90, what="all 120 alert deliveries")
            wait_for(lambda: len(phone.payloads()) >= 60 and len(Robot.alerts) >= 60, what="the alerts received")
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(20)
            phone.close()
            engine.dispose()
    expected = sorted(f"two-{n}" for n in range(60))
    assert sorted(_ids(phone.payloads())) == expected
    assert sorted(Robot.alerts) == expected


def test_a_client_id_collision_is_detected_and_reported(tmp_path: Path, mosquitto_url: str) -> None:
    config, _ = hall_config(tmp_path / "a", mqtt_url=mosquitto_url, recorder={"lease": dt.timedelta(seconds=3)})
    other = config.model_copy(
        update={"database": config.database.model_copy(update={"url": f"sqlite:///{tmp_path / 'b.db'}"})}
    )  # another database, the same client id: a deployment mistake
    topics = Topics(config.mqtt.topic_prefix)
    with Subscriber(mosquitto_url, topics.system_alerts) as system:
        one, two = (
            Recorder(config, open_database(config.database.url)),
            Recorder(other, open_database(other.database.url)),
        )
        one.start(wait=5)
        two.start(wait=0)
        try:
            wait_for(lambda: one.collision.is_set() and two.collision.is_set(), what="both see the collision")
            wait_for(lambda: bool(system.payloads()), what="a system alert")
        finally:
            one.stop()
            two.stop()
    assert "被另一进程同时使用" in SystemAlert.from_json(system.payloads()[0]).message


def test_a_broker_that_lost_the_recorders_session_raises_a_system_alert(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    config, _ = hall_config(tmp_path, mqtt_url=broker.url)
    engine = open_database(config.database.url)
    first = Recorder(config, engine)
    try:
        assert first.start()
    finally:
        first.stop()
    broker.stop()
    for state in (tmp_path / "broker").glob("mosquitto.db*"):
        state.unlink()  # the broker comes back without its persistence: the recorder's session is gone
    broker.start()
    topics = Topics(config.mqtt.topic_prefix)
    try:
        with Subscriber(broker.url, topics.system_alerts) as system:
            again = Recorder(config, engine)
            try:
                assert again.start()
                wait_for(lambda: bool(system.payloads()), what="the system alert")
            finally:
                again.stop()
        assert "丢失了记录器的会话" in SystemAlert.from_json(system.payloads()[0]).message
    finally:
        broker.stop()
        engine.dispose()


def test_the_recorder_waits_for_a_broker_that_is_not_up_yet(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")  # not started
    config, _ = hall_config(tmp_path, mqtt_url=broker.url)
    recorder = Recorder(config, open_database(config.database.url))
    try:
        assert recorder.start(wait=1) is False
        broker.start()
        wait_for(recorder.ready.is_set, timeout=60, what="the recorder connected once the broker is up")
    finally:
        recorder.stop()
        broker.stop()
