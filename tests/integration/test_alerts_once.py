"""Each alert goes out once: 600 incidents through a broker restart followed by a recorder killed with SIGKILL,
and through the failover of two recorders (the holder killed with SIGKILL) — every incident stored, every alert
received by the supervisors' channels, none twice beyond what one cut round trip allows.

On the wire: an alert the killed recorder had sent is sent again by the next under the same message id, and
the broker does not deliver it twice; only the one whose last round trip the kill cut (the broker done with
it, the recorder not yet told) can arrive twice, and consumers drop it by the alert's id (docs/mqtt.md).

The broker restart is watched through the webhook robot: what Mosquitto 2.0 acknowledges to a publisher while
it is restarting does not all reach a persistent subscriber (seen with a plain paho publisher and subscriber,
no product code: docs/mqtt.md), and that is the broker's, not what is measured here.
"""

from __future__ import annotations

import collections
import datetime as dt
import signal
import subprocess
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import AlertRow, IncidentRow
from monitor.config import WebhookConfig
from monitor.contract import Alert, Topics
from tests.integration.test_integrity import Robot, patrol, robot  # noqa: F401 (the fixture)
from tests.support.config import hall_config, supervisor_key
from tests.support.mqtt import Mosquitto, Subscriber, publish
from tests.support.recorder import recorder_process, subscribed_holder
from tests.support.waiting import wait_for

INCIDENTS = 600
DAYS = [2, 3, 4, 5, 6, 9, 10, 11, 12, 13]  # working days of November 2020
EXPECTED = sorted(f"once-{n}" for n in range(INCIDENTS))


def _count(engine: object, table: type, *where: object) -> int:
    with Session(engine) as session:  # type: ignore[arg-type]
        return int(session.exec(select(func.count()).select_from(table).where(*where)).one())  # type: ignore[arg-type]


def _stop(*processes: subprocess.Popen[bytes] | None) -> None:
    for process in processes:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def _phone(phone: Subscriber) -> collections.Counter[str]:
    return collections.Counter(Alert.from_json(p).incident_id for p in phone.payloads())


def _robot() -> collections.Counter[str]:
    with Robot.lock:
        return collections.Counter(Robot.alerts)


def _once(received: collections.Counter[str], channel: str) -> None:
    """Every alert, and at most the one a kill cut more than once."""
    assert sorted(received) == EXPECTED, f"{channel}: {len(EXPECTED) - len(received)} alerts missing"
    again = {alert: n for alert, n in received.items() if n > 1}
    assert sum(received.values()) - INCIDENTS <= 1, f"{channel}: {len(again)} alerts came again: {again}"


@pytest.mark.parametrize("fault", ["broker restart, then kill -9", "failover of two recorders"])
def test_600_incidents_600_alerts_none_twice(tmp_path: Path, db_url: str, robot: WebhookConfig, fault: str) -> None:  # noqa: F811
    restart = fault.startswith("broker")
    with Mosquitto(tmp_path / "broker") as broker:
        config, path = hall_config(
            tmp_path,
            db_url=db_url,
            mqtt_url=broker.url,
            recorder={"lease": dt.timedelta(seconds=6)},
            alerts={"webhooks": [robot]},
        )
        key = supervisor_key(config)
        topics = Topics(config.mqtt.topic_prefix)
        windows = [w.id for w in config.window_list]
        events = [
            key.sign(patrol(f"once-{n}", window=windows[n % len(windows)], day=DAYS[n // len(windows)])).to_json()
            for n in range(INCIDENTS)
        ]
        phone = Subscriber(broker.url, topics.alerts, client_id=f"phone-{topics.prefix[-8:]}", qos=2)
        engine = open_database(db_url)
        log = tmp_path / "recorders.log"
        first = recorder_process(path, log)
        second: subprocess.Popen[bytes] | None = None
        try:
            wait_for(lambda: subscribed_holder(engine) == first.pid, timeout=60, what="the recorder subscribed")
            if not restart:
                second = recorder_process(path, log)
            publish(broker.url, topics.incidents, events[:300])
            wait_for(lambda: len(phone.payloads()) >= 100, timeout=60, what="the first alerts")
            if restart:
                broker.stop()  # alerts are being delivered
                broker.start()
                publish(broker.url, topics.incidents, events[300:450])
                wait_for(lambda: _count(engine, IncidentRow) >= 350, timeout=60, what="more incidents")
            first.send_signal(signal.SIGKILL)  # no chance to note, acknowledge or say goodbye
            first.wait(10)
            if second is None:
                second = recorder_process(path, log)
            publish(broker.url, topics.incidents, events[450:] if restart else events[300:])
            wait_for(lambda: _count(engine, IncidentRow) == INCIDENTS, timeout=120, what="all incidents")
            wait_for(
                lambda: _count(engine, AlertRow, AlertRow.delivered_at != None) == 2 * INCIDENTS,  # noqa: E711
                timeout=120,
                what="every alert delivered on both channels",
            )
            # Every row is noted delivered: none can be claimed and sent again.
            wait_for(lambda: len(_robot()) == INCIDENTS, timeout=30, what="every alert posted")
            if not restart:
                wait_for(lambda: len(_phone(phone)) == INCIDENTS, timeout=60, what="every alert received")
        finally:
            _stop(first, second)
            phone.close()
            engine.dispose()
    _once(_robot(), "webhook")
    if not restart:
        _once(_phone(phone), "MQTT")
    print(f"{fault}: {sum(_robot().values())} posts and {len(phone.payloads())} MQTT messages for {INCIDENTS} alerts")
