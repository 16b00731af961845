"""The recorder against real brokers and databases (see conftest.py for which run where)."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from sqlmodel import Session, func, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import DismissalRow, EvidenceRow, IncidentEventRow, IncidentRow, LeaveRow
from monitor.config import MonitorConfig, WebhookConfig
from monitor.contract import Alert, Dismissal, IncidentEvent, LeaveGrant, Rejection, Topics
from monitor.core.periods import month_bounds
from monitor.core.scoring import score_month
from monitor.core.signature import Record
from monitor.services.recorder import Recorder
from tests.support.config import SUPERVISOR, hall_config, signed
from tests.support.mqtt import Subscriber, publish
from tests.support.recorder import subscribed_holder
from tests.support.waiting import wait_for

TZ = dt.timezone(dt.timedelta(hours=8))


def late(incident_id: str, window: str, day: int, *, event: str = "new", seq: int = 0, hour: int = 9) -> IncidentEvent:
    return IncidentEvent(
        id=incident_id,
        event=event,  # type: ignore[arg-type]
        seq=seq,
        kind="late_arrival",
        window=window,
        started_at=dt.datetime(2020, 11, day, hour, 12, tzinfo=TZ),
        minutes=12,
        source=f"patrol:{SUPERVISOR}",
    )


def js(config: MonitorConfig, record: Record) -> bytes:
    """The record as the hall's supervisor signs and sends it."""
    return signed(config, record).to_json()


@pytest.fixture
def running(db_url: str, broker_url: str, tmp_path: Path) -> Iterator[tuple[MonitorConfig, Recorder]]:
    config, _ = hall_config(tmp_path, db_url=db_url, mqtt_url=broker_url)
    recorder = Recorder(config, open_database(db_url))
    recorder.start()
    try:
        yield config, recorder
    finally:
        recorder.stop()
        recorder.engine.dispose()


def count(recorder: Recorder, table: type) -> int:
    with Session(recorder.engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def month_scores(config: MonitorConfig, recorder: Recorder):  # type: ignore[no-untyped-def]
    from monitor.adapters.store.incidents import load_incidents

    start, end = month_bounds("2020-11", config.hall.tz)
    with Session(recorder.engine) as session:
        return score_month(config, "2020-11", load_incidents(session, start, end))


def staff_discipline(scores, window: str):  # type: ignore[no-untyped-def]
    return next(r for r in scores.staff if r.key == window).scores["工作纪律"]


def test_duplicate_delivery_deducts_once(running: tuple[MonitorConfig, Recorder]) -> None:
    config, recorder = running
    topics = Topics(config.mqtt.topic_prefix)
    first = late("cam-1-c20", "C20", 4)
    publish(config.mqtt.url, topics.incidents, [js(config, first), js(config, first), js(config, first)])
    # A later lifecycle event of the same incident is recorded but deducts nothing more.
    update = late("cam-1-c20", "C20", 4, event="end", seq=1)
    publish(config.mqtt.url, topics.incidents, [js(config, update), js(config, update)])
    wait_for(lambda: count(recorder, IncidentEventRow) == 2, what="two distinct events")
    marker = late("cam-1-marker", "C21", 5)
    publish(config.mqtt.url, topics.incidents, [js(config, marker)])  # processed after all of the above
    wait_for(lambda: count(recorder, IncidentRow) == 2, what="the marker incident")
    assert count(recorder, IncidentEventRow) == 3
    scores = month_scores(config, recorder)
    assert staff_discipline(scores, "C20") == 39
    department = next(r for r in scores.departments if r.department == "应急管理局")
    assert department.scores["窗口出勤"] == 29


def test_bad_messages_are_rejected_with_a_reason_and_nothing_is_written(
    running: tuple[MonitorConfig, Recorder],
) -> None:
    config, recorder = running
    topics = Topics(config.mqtt.topic_prefix)
    rejected = Subscriber(config.mqtt.url, topics.rejected)
    try:
        wrong_version = json.loads(js(config, late("v2", "C20", 4)))
        wrong_version["schema"] = 2
        bad = [
            b"{not json",
            json.dumps(wrong_version).encode(),
            js(config, late("unknown-window", "Z99", 4)),
            js(config, late("lunch", "C20", 4, hour=12)),
            js(
                config,
                IncidentEvent(
                    id="holiday",
                    event="new",
                    kind="empty_post",
                    window="C20",
                    started_at=dt.datetime(2020, 10, 1, 9, 30, tzinfo=TZ),
                    source=f"patrol:{SUPERVISOR}",
                ),
            ),
        ]
        publish(config.mqtt.url, topics.incidents, bad)
        wait_for(lambda: len(rejected.payloads()) == len(bad), what="five rejections")
        reasons = [Rejection.from_json(p).reason for p in rejected.payloads()]
        assert "not JSON" in reasons[0]
        assert "schema version 2 is not supported" in reasons[1]
        assert "unknown window 'Z99'" in reasons[2]
        assert "outside the duty sessions" in reasons[3]
        assert "not a working day" in reasons[4]
        assert Rejection.from_json(rejected.payloads()[2]).topic == topics.incidents
        # The recorder keeps going: a good message after the bad ones is recorded.
        publish(config.mqtt.url, topics.incidents, [js(config, late("good", "C20", 10))])
        wait_for(lambda: count(recorder, IncidentRow) == 1, what="the good incident")
        assert count(recorder, IncidentEventRow) == 1
    finally:
        rejected.close()


def test_make_up_saturday_is_recorded(running: tuple[MonitorConfig, Recorder]) -> None:
    config, recorder = running
    saturday = IncidentEvent(
        id="sat",
        event="new",
        kind="late_arrival",
        window="C20",
        started_at=dt.datetime(2020, 10, 10, 9, 20, tzinfo=TZ),
        minutes=20,
        source=f"patrol:{SUPERVISOR}",
    )
    publish(config.mqtt.url, Topics(config.mqtt.topic_prefix).incidents, [js(config, saturday)])
    wait_for(lambda: count(recorder, IncidentRow) == 1, what="the Saturday incident")


def test_dismissal_restores_the_points_and_keeps_the_record(running: tuple[MonitorConfig, Recorder]) -> None:
    config, recorder = running
    topics = Topics(config.mqtt.topic_prefix)
    empty = IncidentEvent(
        id="c25-empty",
        event="new",
        kind="empty_post",
        window="C25",
        started_at=dt.datetime(2020, 11, 24, 14, 10, tzinfo=TZ),
        minutes=40,
        source=f"patrol:{SUPERVISOR}",
    )
    publish(config.mqtt.url, topics.incidents, [js(config, empty)])
    wait_for(lambda: count(recorder, IncidentRow) == 1, what="the empty post")
    assert staff_discipline(month_scores(config, recorder), "C25") == 30
    decision = Dismissal(incident_id="c25-empty", reason="已请假，申诉成立", by=SUPERVISOR, at=dt.datetime.now(dt.UTC))
    publish(config.mqtt.url, topics.dismissals, [js(config, decision), js(config, decision)])
    wait_for(lambda: count(recorder, DismissalRow) == 1, what="the dismissal")
    assert staff_discipline(month_scores(config, recorder), "C25") == 40
    assert count(recorder, IncidentRow) == 1  # nothing deleted
    with Session(recorder.engine) as session:
        audit = session.exec(select(DismissalRow)).one()
    assert (audit.reason, audit.by) == ("已请假，申诉成立", SUPERVISOR)


def test_alerts_reach_mqtt_in_chinese(running: tuple[MonitorConfig, Recorder]) -> None:
    config, _recorder = running
    topics = Topics(config.mqtt.topic_prefix)
    alerts = Subscriber(config.mqtt.url, topics.alerts)
    try:
        publish(config.mqtt.url, topics.incidents, [js(config, late("alert-1", "C11", 4))])
        wait_for(lambda: len(alerts.payloads()) == 1, what="the alert")
        alert = Alert.from_json(alerts.payloads()[0])
        assert (
            alert.message
            == "【纪律提醒】11月04日 09:12 C11窗口（不动产登记交易中心 尤洪粉）迟到12分钟，扣1分。来源：巡查 · 巡查员"
        )
        assert (alert.points, alert.label) == ("1", "迟到")
    finally:
        alerts.close()


class FlakyRobot(http.server.BaseHTTPRequestHandler):
    """A group robot that fails its first two calls, then accepts (errcode 0)."""

    calls: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FlakyRobot.calls.append(body)
        ok = len(FlakyRobot.calls) > 2
        self.send_response(200 if ok else 502)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"errcode": 0 if ok else 1}).encode())

    def log_message(self, *_args: object) -> None:
        pass


def test_failing_webhook_is_retried_without_blocking_recording(tmp_path: Path, broker_url: str) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), FlakyRobot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FlakyRobot.calls = []
    webhook = WebhookConfig(name="值班群", url=f"http://127.0.0.1:{server.server_port}/send", style="wecom")
    config, _ = hall_config(
        tmp_path, mqtt_url=broker_url, alerts={"webhooks": [webhook], "retry_initial": dt.timedelta(milliseconds=100)}
    )
    recorder = Recorder(config, open_database(config.database.url))
    recorder.start()
    try:
        topics = Topics(config.mqtt.topic_prefix)
        publish(broker_url, topics.incidents, [js(config, late("w1", "C20", 4)), js(config, late("w2", "C21", 4))])
        wait_for(lambda: count(recorder, IncidentRow) == 2, what="both incidents recorded")
        wait_for(lambda: len(FlakyRobot.calls) >= 4, timeout=30, what="webhook retries and deliveries")
        texts = [c["text"]["content"] for c in FlakyRobot.calls]  # type: ignore[index]
        assert {t for t in texts[2:]} == {t for t in texts}  # the failed alerts came again
        assert all(c["msgtype"] == "text" and "【纪律提醒】" in str(c["text"]) for c in FlakyRobot.calls)
    finally:
        recorder.stop()
        server.shutdown()


def _recorder_process(config_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config_path), "recorder"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_recorder_killed_and_restarted_loses_nothing(db_url: str, mosquitto_url: str, tmp_path: Path) -> None:
    config, path = hall_config(tmp_path, db_url=db_url, mqtt_url=mosquitto_url)
    topics = Topics(config.mqtt.topic_prefix)
    availability = Subscriber(mosquitto_url, topics.availability("recorder"))
    engine = open_database(db_url)
    windows = [w.id for w in config.window_list][:30]
    events = [js(config, late(f"kill-{n}", window, 4 + n % 3)) for n, window in enumerate(windows)]
    process = _recorder_process(path)
    try:
        wait_for(lambda: subscribed_holder(engine) == process.pid, what="the recorder subscribed")
        publish(mosquitto_url, topics.incidents, events[:10])
        process.send_signal(signal.SIGKILL)  # no chance to finish, acknowledge or say goodbye
        process.wait(10)
        wait_for(lambda: availability.payloads()[-1:] == [b"offline"], what="the last will 'offline'")
        publish(mosquitto_url, topics.incidents, events[10:])  # published while it is down
        process = _recorder_process(path)

        def recorded() -> int:
            with Session(engine) as session:
                return int(session.exec(select(func.count()).select_from(IncidentRow)).one())

        wait_for(lambda: recorded() == 30, timeout=40, what="all 30 incidents")
        with Session(engine) as session:
            assert int(session.exec(select(func.count()).select_from(IncidentEventRow)).one()) == 30
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
        availability.close()
        engine.dispose()
    # A clean stop says "offline" too.
    assert process.returncode == 0, process.stderr.read().decode() if process.stderr else ""


def test_evidence_is_kept_once_only_as_announced_and_purged_after_retention(
    running: tuple[MonitorConfig, Recorder],
) -> None:
    import hashlib

    import cv2
    import numpy as np

    config, recorder = running
    topics = Topics(config.mqtt.topic_prefix)
    ok, jpeg = cv2.imencode(".jpg", np.full((24, 32, 3), 128, np.uint8))
    assert ok
    image = jpeg.tobytes()
    announced = late("ev-1", "C25", 4).model_copy(
        update={
            "evidence": ["threshold.jpg", "arrival.jpg"],
            "digests": {"threshold.jpg": hashlib.sha256(image).hexdigest()},
        }
    )
    rejected = Subscriber(config.mqtt.url, topics.rejected)
    try:
        publish(config.mqtt.url, topics.evidence("nobody", "threshold.jpg"), [image])  # no such incident
        publish(config.mqtt.url, topics.incidents, [js(config, announced)])
        wait_for(lambda: count(recorder, IncidentRow) == 1, what="the incident")
        publish(config.mqtt.url, topics.evidence("ev-1", "threshold.jpg"), [image, image])
        publish(config.mqtt.url, topics.evidence("ev-1", "bad.jpg"), [b"\x00\x01 not an image"])
        publish(config.mqtt.url, topics.evidence("ev-1", "other.jpg"), [image])  # not announced
        publish(config.mqtt.url, topics.evidence("ev-1", "arrival.jpg"), [image + b"x" * config.evidence.max_bytes])
        wait_for(lambda: len(rejected.payloads()) == 4, what="four refusals")
        reasons = [Rejection.from_json(p).reason for p in rejected.payloads()]
        assert "'nobody', which is not a recorded incident" in reasons[0]
        assert reasons[1] == "evidence is neither a JPEG picture nor (named .mp4) an MP4 clip"
        assert "'other.jpg' is not announced by incident ev-1" in reasons[2]
        assert "more than [evidence] max_bytes" in reasons[3]
        assert count(recorder, EvidenceRow) == 1
        with Session(recorder.engine) as session:
            assert session.exec(select(EvidenceRow)).one().data == image
        # A picture other than the one the incident's signed event describes is refused.
        forged = image[:100] + bytes([image[100] ^ 0xFF]) + image[101:]
        publish(config.mqtt.url, topics.evidence("ev-1", "threshold.jpg"), [forged])
        wait_for(lambda: len(rejected.payloads()) == 5, what="the forged picture refused")
        assert "does not match the digest" in Rejection.from_json(rejected.payloads()[4]).reason
        assert recorder.purge_expired_evidence() == 0  # still within the retention period
        recorder.clock = lambda: dt.datetime.now(dt.UTC) + config.evidence.retention + dt.timedelta(minutes=1)
        assert recorder.purge_expired_evidence() == 1
        assert count(recorder, EvidenceRow) == 0
    finally:
        rejected.close()


def test_incidents_inside_approved_leave_are_refused(running: tuple[MonitorConfig, Recorder]) -> None:
    config, recorder = running
    topics = Topics(config.mqtt.topic_prefix)
    rejected = Subscriber(config.mqtt.url, topics.rejected)
    try:
        grant = LeaveGrant(
            id="leave-1",
            window="C20",
            start=dt.datetime(2020, 11, 4, 9, 0, tzinfo=TZ),
            end=dt.datetime(2020, 11, 4, 12, 0, tzinfo=TZ),
            reason="公出：参加业务培训",
            by=SUPERVISOR,
            at=dt.datetime.now(dt.UTC),
        )
        publish(config.mqtt.url, topics.leaves, [js(config, grant), js(config, grant)])
        wait_for(lambda: count(recorder, LeaveRow) == 1, what="the leave")
        publish(
            config.mqtt.url,
            topics.incidents,
            [js(config, late("on-leave", "C20", 4)), js(config, late("next-day", "C20", 5))],
        )
        wait_for(lambda: count(recorder, IncidentRow) == 1, what="the next day's incident")
        wait_for(lambda: len(rejected.payloads()) == 1, what="the refusal")
        assert "approved leave" in Rejection.from_json(rejected.payloads()[0]).reason
        with Session(recorder.engine) as session:
            assert session.exec(select(IncidentRow.id)).one() == "next-day"
    finally:
        rejected.close()
