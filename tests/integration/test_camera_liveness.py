"""The recorder judges the cameras from what their services publish (monitor/services/recorder/liveness.py), on a
real broker and SQLite and PostgreSQL: a service that falls silent, or whose last will fires, has its windows
marked `unknown` in the history from the last time it vouched for (once), an alert to supervisors in duty hours
(once per outage, a recorder that takes over included), its judgement retained for the boards, and its windows'
states again once it speaks; outside duty hours the alert waits for duty to begin. Migration 0009.

The services here are stand-ins that speak as a camera service does (tests/support/liveness.py); the video tests
(tests/video/test_camera_liveness.py) kill and stop real ones."""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel, func, select

from monitor.adapters.mqtt.session import Received
from monitor.adapters.store.database import _alembic_config, open_database
from monitor.adapters.store.tables import AlertRow, CameraOutageRow, DeadLetterRow
from monitor.config import MonitorConfig, load_config
from monitor.contract import CAMERA_OFFLINE, EARLIEST, LATEST, Alert, Topics
from monitor.core.calendar import WorkCalendar
from monitor.services.duty_rate import duty_rates_between
from monitor.services.recorder import Recorder
from monitor.services.recorder.liveness import CameraWatch
from tests.support.config import hall_config
from tests.support.liveness import (
    CAMERA,
    PLACE,
    Judged,
    SpeakingService,
    duty_around_today,
    history,
    seed_camera,
    session_process,
)
from tests.support.mqtt import Subscriber, publish
from tests.support.paths import SEED_HALL
from tests.support.waiting import wait_for

S = dt.timedelta(seconds=1)
NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
FUZZ_HALL = load_config(SEED_HALL).model_copy(update={"cameras": [seed_camera(3 * S)]})
FUZZ_CALENDAR = WorkCalendar(FUZZ_HALL.calendar, FUZZ_HALL.duty, FUZZ_HALL.hall.tz)
MARGIN = 10.0
"""Seconds allowed on top of what the configuration says, for a busy 2-core machine."""


def _count(engine: sqlalchemy.Engine, table: type[SQLModel]) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def _camera_alerts(phone: Subscriber) -> list[Alert]:
    alerts = [Alert.from_json(p) for p in phone.payloads()]
    return [a for a in alerts if a.kind == CAMERA_OFFLINE]


@pytest.fixture
def hall(tmp_path: Path, db_url: str, one_broker: str, hedong: MonitorConfig) -> MonitorConfig:
    sections = duty_around_today(hedong.hall.tz)
    return hall_config(tmp_path, db_url=db_url, mqtt_url=one_broker, cameras=[seed_camera(3 * S)], **sections).config


@pytest.fixture
def recorder(hall: MonitorConfig) -> Iterator[Recorder]:
    running = Recorder(hall, open_database(hall.database.url))
    assert running.start(), "the recorder's subscriptions were not confirmed"
    yield running
    running.stop()
    running.engine.dispose()


def test_a_silent_service_is_marked_unknown_once_alerted_once_and_counted_again_when_it_speaks(
    hall: MonitorConfig, recorder: Recorder
) -> None:
    url = hall.mqtt.url
    engine = recorder.engine
    judged = Judged(url, hall)
    phone = Subscriber(url, Topics(hall.mqtt.topic_prefix).alerts, qos=2)
    service = SpeakingService(hall)
    try:
        start = dt.datetime.now(dt.UTC)
        service.state("A01", "present", start - 600 * S)
        service.state("A02", "absent", start - 300 * S)
        wait_for(lambda: judged.last() == "live" and len(history(engine, "A02")) == 1, what="the camera live")
        wait_for(lambda: service.last_frame is not None, what="statistics")

        # It hangs: alive on MQTT, saying nothing. Silent after offline_after, its windows unknown from its last word.
        vouched = service.hang()
        assert vouched is not None
        wait_for(lambda: judged.last() == "silent", timeout=3 + MARGIN, what="the camera judged silent")
        wait_for(lambda: len(history(engine, "A02")) == 2, what="the unknown marks")
        assert history(engine, "A01") == [("present", start - 600 * S), ("unknown", vouched)]
        assert history(engine, "A02") == [("absent", start - 300 * S), ("unknown", vouched)]
        silent = judged.all()[-1]
        assert silent.heard_at is not None and silent.since == vouched
        wait_for(lambda: _camera_alerts(phone), what="the supervisors' alert")
        (alert,) = _camera_alerts(phone)
        assert (alert.camera, alert.place, alert.windows) == (CAMERA, PLACE, ["A01", "A02"])
        assert f"{PLACE}摄像头服务无响应，A01、A02窗口状态未知" in alert.message

        # A recorder that takes over during the outage knows it: no second alert, no second mark.
        recorder.stop()
        second = Recorder(hall, engine)
        assert second.start(), "the second recorder's subscriptions were not confirmed"
        try:
            wait_for(lambda: judged.states() == ["live", "silent", "silent"], what="judged again by the second")
            assert _count(engine, CameraOutageRow) == 1 and len(history(engine, "A01")) == 2
            with Session(engine) as session:
                outage = session.exec(select(CameraOutageRow)).one()
            assert outage.ended_at is None and outage.alerted_at is not None

            # It speaks again: its windows' last states count again, from the time it now vouches for.
            service.resume()
            wait_for(lambda: judged.last() == "live", timeout=MARGIN, what="the camera live again")
            wait_for(lambda: len(history(engine, "A02")) == 3, what="the revived states")
            (a01_state, revived), a02 = history(engine, "A01")[-1], history(engine, "A02")[-1]
            assert a01_state == "present" and a02 == ("absent", revived) and revived > vouched
            with Session(engine) as session:
                outage = session.exec(select(CameraOutageRow)).one()
                assert outage.ended_at is not None
                # The silence counts as not observed: A01 was staffed before and after it, never during.
                rates = duty_rates_between(hall, session, start - 600 * S, revived + 60 * S)
            a01 = next(w for w in rates.windows if w.window == "A01").tally
            # (Its duty time, not the span: the support's day-long sessions end a microsecond before midnight.)
            assert a01.observed == a01.staffed == a01.duty - (revived - vouched)
        finally:
            second.stop()
        assert len(_camera_alerts(phone)) == 1
        assert _count(engine, AlertRow) == 1 and _count(engine, DeadLetterRow) == 0
    finally:
        service.close()
        phone.close()
        judged.close()


def test_a_killed_service_is_gone_at_once_by_its_last_will(
    tmp_path: Path, db_url: str, one_broker: str, hedong: MonitorConfig
) -> None:
    """offline_after is long here: only the last will can explain a mark within seconds."""
    sections = duty_around_today(hedong.hall.tz)
    config, path = hall_config(tmp_path, db_url=db_url, mqtt_url=one_broker, cameras=[seed_camera(120 * S)], **sections)
    engine = open_database(config.database.url)
    recorder = Recorder(config, engine)
    assert recorder.start()
    judged = Judged(one_broker, config)
    process = session_process(path, CAMERA, tmp_path / "service.log")
    service = SpeakingService(config, announce=False)  # its statistics and states; the process holds its session
    try:
        since = dt.datetime.now(dt.UTC) - 60 * S
        service.state("A01", "present", since)
        wait_for(lambda: len(history(engine, "A01")) == 1 and service.last_frame, what="the first state")
        wait_for(lambda: (tmp_path / "service.log").read_text().strip() == "connected", what="the service")
        vouched = service.hang()
        assert vouched is not None
        killed = dt.datetime.now(dt.UTC)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        wait_for(lambda: judged.last() == "gone", timeout=MARGIN, what="the camera judged gone")
        wait_for(lambda: len(history(engine, "A01")) == 2, what="the unknown mark")
        assert history(engine, "A01") == [("present", since), ("unknown", vouched)]
        assert vouched <= killed
        with Session(engine) as session:
            alert = session.exec(select(AlertRow)).one()
        assert alert.outage_id is not None and "摄像头服务无响应" in alert.payload
    finally:
        if process.poll() is None:
            process.kill()
        service.close()
        judged.close()
        recorder.stop()
        engine.dispose()


def test_a_centre_cut_off_from_the_district_is_one_alert_of_its_link_not_one_per_camera(
    tmp_path: Path, db_url: str, one_broker: str, hedong: MonitorConfig
) -> None:
    """A township centre's bridge is down (its `0` on <p>/link): its cameras fall silent together. Their windows are
    unknown as any silent camera's, and the supervisors get one alert naming the link and every window, not one per
    camera blaming it."""
    second = seed_camera(3 * S).model_copy(
        update={
            "id": "cam-a-west",
            "name": "A区西侧",
            "windows": [
                w.model_copy(update={"window": n})
                for w, n in zip(seed_camera(3 * S).windows, ("A03", "A04"), strict=True)
            ],
        }
    )
    sections = duty_around_today(hedong.hall.tz)
    config = hall_config(
        tmp_path, db_url=db_url, mqtt_url=one_broker, cameras=[seed_camera(3 * S), second], **sections
    ).config
    topics = Topics(config.mqtt.topic_prefix)
    engine = open_database(config.database.url)
    recorder = Recorder(config, engine)
    assert recorder.start()
    phone = Subscriber(one_broker, topics.alerts, qos=2)
    services = [SpeakingService(config), SpeakingService(config, "cam-a-west")]
    try:
        start = dt.datetime.now(dt.UTC)
        services[0].state("A01", "present", start - 60 * S)
        services[1].state("A03", "present", start - 60 * S)
        wait_for(lambda: all(s.last_frame for s in services) and len(history(engine, "A03")) == 1, what="both live")
        publish(one_broker, topics.link, [b"0"], retain=True)  # the district's broker: the bridge's will
        for service in services:
            service.hang()
        wait_for(lambda: _count(engine, CameraOutageRow) == 2, timeout=3 + MARGIN, what="both cameras silent")
        wait_for(lambda: len(history(engine, "A03")) == 2, what="the unknown marks")
        wait_for(lambda: _camera_alerts(phone), what="the alert")
        time.sleep(2)  # time for a second alert, were there one
        (alert,) = _camera_alerts(phone)
        assert "与区平台的连接中断（站点离线），A01、A02、A03、A04窗口状态未知" in alert.message
        assert "摄像头服务无响应" not in alert.message and alert.windows == ["A01", "A02", "A03", "A04"]
        with Session(engine) as session:
            assert all(row.alerted_at is not None for row in session.exec(select(CameraOutageRow)))
            assert session.exec(select(func.count()).select_from(AlertRow)).one() == 1
    finally:
        publish(one_broker, topics.link, [b""], retain=True)
        for service in services:
            service.close()
        phone.close()
        recorder.stop()
        engine.dispose()


class Clock:
    """The recorder's clock, which the test moves on."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def test_outside_duty_hours_the_alert_waits_for_duty_to_begin(tmp_path: Path, db_url: str, one_broker: str) -> None:
    config = hall_config(tmp_path, db_url=db_url, mqtt_url=one_broker, cameras=[seed_camera(3 * S)]).config
    tz = config.hall.tz
    evening = dt.datetime(2026, 12, 7, 20, 0, tzinfo=tz)  # a Monday, after the afternoon session
    clock = Clock(evening)
    engine = open_database(config.database.url)
    recorder = Recorder(config, engine, clock=clock)
    assert recorder.start()
    judged = Judged(one_broker, config)
    try:
        clock.now = evening + 4 * S  # nothing heard since the recorder began to listen
        wait_for(lambda: judged.last() == "silent", what="the camera judged silent")
        wait_for(lambda: _count(engine, CameraOutageRow) == 1, what="the outage")
        assert _count(engine, AlertRow) == 0
        clock.now = dt.datetime(2026, 12, 8, 9, 30, tzinfo=tz)  # Tuesday morning: duty
        wait_for(lambda: _count(engine, AlertRow) == 1, what="the alert once duty began")
        with Session(engine) as session:
            alert = Alert.model_validate_json(session.exec(select(AlertRow.payload)).one())
        assert alert.message.startswith(f"【设备告警】12月07日 20:00 {PLACE}摄像头服务无响应")
        clock.now += 60 * S
        time.sleep(2)  # a few looks more: still the one alert
        assert _count(engine, AlertRow) == 1 and judged.states().count("silent") == 1
    finally:
        judged.close()
        recorder.stop()
        engine.dispose()


def test_migration_0009_matches_the_tables_and_goes_down_and_up(db_url: str) -> None:
    engine = open_database(db_url)
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert not [d for d in diffs if "outage" in repr(d) or "'alert'" in repr(d)], diffs

    def run(action, revision: str) -> None:  # type: ignore[no-untyped-def]
        config = _alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            action(config, revision)

    run(command.downgrade, "0008")
    inspector = sqlalchemy.inspect(engine)
    assert "camera_outage" not in inspector.get_table_names()
    assert "outage_id" not in {c["name"] for c in inspector.get_columns("alert")}
    run(command.upgrade, "head")
    assert "camera_outage" in sqlalchemy.inspect(engine).get_table_names()
    engine.dispose()


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["status", "stats", "availability", "state"]),
    payload=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=200).map(str.encode),
        st.fixed_dictionaries(
            {
                "last_frame": st.one_of(
                    st.text(max_size=40), st.integers(), st.none(), st.datetimes(timezones=st.timezones()).map(str)
                )
            },
            optional={"schema": st.integers(), "camera": st.text(max_size=20)},
        ).map(lambda d: json.dumps(d).encode()),
    ),
    retain=st.booleans(),
)
def test_property_whatever_a_camera_topic_carries_the_network_thread_goes_on(
    kind: str, payload: bytes, retain: bool
) -> None:
    """`hear` runs in the recorder's network thread, which must never raise: any payload on a camera's topics is
    noted or ignored, and only a window's state goes on to the inbox (where it is refused with its reason)."""
    watch = CameraWatch(FUZZ_HALL, sqlalchemy.create_engine("sqlite://"), FUZZ_CALENDAR, lambda: NOW, lambda: None)
    topics = Topics(FUZZ_HALL.mqtt.topic_prefix)
    topic = {
        "status": topics.camera_status(CAMERA),
        "stats": topics.camera_stats(CAMERA),
        "availability": topics.availability(f"camera-{CAMERA}"),
        "state": topics.window_state("A01"),
    }[kind]
    assert watch.hear(Received(topic, payload, 0, retain, 0)) is (kind != "state")
    heard = watch._watch.heard_of(CAMERA)
    if kind != "stats" or heard.vouched is None:
        return
    # Only an aware last frame within the contract's years is ever taken for a time vouched for.
    assert heard.vouched.tzinfo is not None and EARLIEST <= heard.vouched < LATEST
