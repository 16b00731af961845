"""The recorder hands approved leave to the camera services: a retained WindowLeaves per window, after a grant
commits and whenever it holds the session anew (real brokers and databases, see conftest.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session

from monitor.adapters.store.database import open_database
from monitor.adapters.store.leaves import grant_leave
from monitor.config import MonitorConfig
from monitor.contract import LeaveGrant, Receipt, Topics, WindowLeaves
from monitor.services.recorder import Recorder
from tests.support.config import SUPERVISOR, hall_config, signed
from tests.support.mqtt import Subscriber, publish
from tests.support.waiting import wait_for

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2020, 11, 4, 10, 0, tzinfo=TZ)
"""The recorder's clock: leave that ends before it is over and left out."""


def grant(grant_id: str, window: str, day: int, start: int, end: int) -> LeaveGrant:
    return LeaveGrant(
        id=grant_id,
        window=window,
        start=dt.datetime(2020, 11, day, start, 0, tzinfo=TZ),
        end=dt.datetime(2020, 11, day, end, 0, tzinfo=TZ),
        reason="请假：家中有事",
        by=SUPERVISOR,
        at=NOW,
    )


@contextmanager
def recorder_at_now(config: MonitorConfig) -> Iterator[Recorder]:
    recorder = Recorder(config, open_database(config.database.url), clock=lambda: NOW)
    assert recorder.start(wait=60), "the broker did not confirm the recorder's subscriptions"
    try:
        yield recorder
    finally:
        recorder.stop()
        recorder.engine.dispose()


def lists(watcher: Subscriber, topics: Topics, window: str) -> list[WindowLeaves]:
    return [WindowLeaves.from_json(p) for p in watcher.payloads(topics.window_leaves(window))]


def ids(listed: WindowLeaves) -> list[str]:
    return [leave.id for leave in listed.leaves]


def test_a_recorded_grant_publishes_the_windows_leave_to_come_retained_before_the_receipt(
    db_url: str, broker_url: str, tmp_path: Path
) -> None:
    config, _ = hall_config(tmp_path, db_url=db_url, mqtt_url=broker_url)
    topics = Topics(config.mqtt.topic_prefix)
    with recorder_at_now(config), Subscriber(broker_url, f"{topics.prefix}/#") as watcher:
        publish(broker_url, topics.leaves, [signed(config, grant("leave-c20-pm", "C20", 4, 14, 17)).to_json()])
        wait_for(lambda: watcher.payloads(topics.receipt("leave", "leave-c20-pm")), what="the first receipt")
        # Under way and to come, in start order; one that has ended (C20, 08:00-09:00) is left out; a duplicate
        # publishes nothing new.
        more = [grant("leave-c20-am", "C20", 4, 9, 12), grant("leave-c20-early", "C20", 4, 8, 9)]
        publish(broker_url, topics.leaves, [signed(config, g).to_json() for g in [*more, more[0]]])
        wait_for(lambda: len(watcher.payloads(topics.receipt("leave", "leave-c20-am"))) == 2, what="the receipts")
        # One list a batch that granted leave: the two grants in one batch or two (as they arrive), never one
        # more for the duplicate.
        wait_for(lambda: ids(lists(watcher, topics, "C20")[-1]) == ["leave-c20-am", "leave-c20-pm"], what="C20's")
        first, second, *rest = lists(watcher, topics, "C20")
        assert len(rest) <= 1
        assert (first.window, ids(first), first.at) == ("C20", ["leave-c20-pm"], NOW)
        assert all(ids(listed) == ["leave-c20-am", "leave-c20-pm"] for listed in (second, *rest))
        assert second.leaves[0].start == dt.datetime(2020, 11, 4, 9, 0, tzinfo=TZ)
        assert second.leaves[0].reason == "请假：家中有事"
        # The supervisor's command returns on the receipt: by then the cameras' list is out.
        order = [t for t, _, _ in watcher.snapshot()]
        assert order.index(topics.window_leaves("C20")) < order.index(topics.receipt("leave", "leave-c20-pm"))
        assert Receipt.from_json(watcher.payloads(topics.receipt("leave", "leave-c20-am"))[1]).status == "duplicate"
        # A grant of leave that is already over: the window's list is empty.
        publish(broker_url, topics.leaves, [signed(config, grant("leave-c21-past", "C21", 3, 9, 12)).to_json()])
        wait_for(lambda: lists(watcher, topics, "C21"), what="C21's list")
        assert ids(lists(watcher, topics, "C21")[0]) == []
    with Subscriber(broker_url, topics.window_leaves("+")) as late:  # a camera service starting now
        wait_for(lambda: lists(late, topics, "C20") and lists(late, topics, "C21"), what="the retained lists")
        assert all(retain for t, _, retain in late.snapshot() if t.endswith("/leaves"))
        # (amqtt may deliver a retained message twice.)
        assert {tuple(ids(listed)) for listed in lists(late, topics, "C20")} == {("leave-c20-am", "leave-c20-pm")}


def test_at_its_start_the_recorder_publishes_every_window_with_leave_not_yet_ended(
    db_url: str, broker_url: str, tmp_path: Path
) -> None:
    """Grants recorded while no list could go out (a recorder that died after the commit) reach the cameras."""
    config, _ = hall_config(tmp_path, db_url=db_url, mqtt_url=broker_url)
    topics = Topics(config.mqtt.topic_prefix)
    engine = open_database(db_url)
    with Session(engine) as session:
        for recorded in (
            grant("leave-c20", "C20", 5, 9, 12),  # to come
            grant("leave-c22", "C22", 4, 9, 12),  # under way
            grant("leave-c21", "C21", 4, 8, 9),  # over
        ):
            grant_leave(session, recorded, NOW)
        session.commit()
    engine.dispose()
    with Subscriber(broker_url, topics.window_leaves("+")) as watcher, recorder_at_now(config):
        wait_for(lambda: lists(watcher, topics, "C20") and lists(watcher, topics, "C22"), what="the lists")
        assert {tuple(ids(listed)) for listed in lists(watcher, topics, "C20")} == {("leave-c20",)}
        assert {tuple(ids(listed)) for listed in lists(watcher, topics, "C22")} == {("leave-c22",)}
        assert not lists(watcher, topics, "C21")
