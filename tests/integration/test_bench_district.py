"""`monitor bench-district` on a small district: the messages it publishes are the contract's and admissible, the
shipped bridge carries a site's own topics only, and a short run records everything and reports sane figures.

Behaviour only: the recorder's lag and the board's delay at the district's size are docs/benchmarks.md's subject.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy

from monitor.adapters.mqtt.session import MqttSession, Received
from monitor.config import MqttConfig
from monitor.console.live import LiveHall
from monitor.contract import IncidentEvent
from monitor.core.admission import admit
from monitor.core.calendar import WorkCalendar
from monitor.core.signature import Unauthenticated, authorize
from monitor.errors import InputError
from monitor.tools.bench.district import DistrictSpec, run_district_bench
from monitor.tools.bench.district.brokers import DEPLOY, DistrictBrokers, adapted, filled
from monitor.tools.bench.district.sites import SimDistrict, build_district, share_out
from monitor.tools.bench.district.traffic import Cameras
from monitor.tools.bench.recorder import mosquitto_binary
from tests.support.mqtt import MOSQUITTO
from tests.support.paths import ROOT
from tests.support.waiting import wait_for

PG_URL = os.environ.get("MONITOR_TEST_PG_URL")
needs_mosquitto = pytest.mark.skipif(not MOSQUITTO, reason="mosquitto is not installed (apt-get install mosquitto)")
needs_postgres = pytest.mark.skipif(not PG_URL, reason="MONITOR_TEST_PG_URL not set (.ci/run sets it)")
SHIPPED = ROOT / DEPLOY
SMALL = {
    "centres": 2,
    "centre_windows": 5,
    "centre_cameras": 2,
    "hall_windows": 8,
    "hall_cameras": 2,
    "seconds": 6,
    "state_every": 3.0,
    "stats_every": 2.0,
    "incidents_per_window_day": 0.5,
    "gap": 1.0,
    "idle": 2.0,
}


def district(**sizes: int) -> SimDistrict:
    return build_district(
        db_url="sqlite:///unused.db", mqtt_url="mqtt://127.0.0.1:1", tag="t", data_dir="/tmp/unused", **sizes
    )


def test_the_district_is_the_seed_hall_and_twelve_centres_each_with_its_cameras_and_key() -> None:
    made = district(centres=12, centre_windows=25, centre_cameras=10, hall_windows=93, hall_cameras=24)
    assert [site.id for site in made.sites] == ["hall", *(f"centre-{n:02d}" for n in range(1, 13))]
    assert (made.cameras, made.windows) == (144, 393)
    views = made.config.site_views
    assert len(views["hall"].window_list) == 93 and len(views["centre-07"].window_list) == 25
    assert [w.id for w in views["centre-01"].window_list] == [str(n) for n in range(1, 26)]  # as a centre numbers
    assert {len(cameras) for cameras in made.site("centre-03").cameras.values()} == {2, 3}
    assert sorted(c.id for c in views["centre-03"].cameras) == sorted(made.site("centre-03").cameras)
    assert share_out(["1", "2", "3", "4", "5"], 2, "x") == {"x-cam01": ("1", "2", "3"), "x-cam02": ("4", "5")}
    with pytest.raises(InputError, match="1 to 5 cameras"):
        share_out(["1", "2", "3", "4", "5"], 6, "x")


def test_the_cameras_incidents_are_signed_by_their_site_and_admissible_there_only() -> None:
    made = district(centres=2, centre_windows=5, centre_cameras=2, hall_windows=8, hall_cameras=2)
    cameras = Cameras(made, state_every=30.0, stats_every=10.0, incidents=18, gap=5.0, seed=3)
    plan = cameras.plan(300)
    run_start = made.start
    events = [
        (planned.site, IncidentEvent.from_json(cameras.message(planned, run_start, run_start).payload))
        for planned in plan
        if planned.kind == "incident"
    ]
    assert len({event.id for _, event in events}) == 18
    assert Counter(event.event for _, event in events)["new"] == 18
    assert len({(site, event.window) for site, event in events}) == 18  # every window once: ids cannot collide
    assert {event.kind for _, event in events} == {"empty_post", "late_arrival"}
    views = made.config.site_views
    for site, event in events:
        view = views[site]
        signer = authorize(event, view)  # raises if the key is not the site's camera service's
        assert signer.name == f"cameras-{site}"
        admit(event, view, WorkCalendar(view.calendar, view.duty, view.hall.tz))  # duty hours, window, kind
        other = views["centre-01" if site != "centre-01" else "hall"]
        with pytest.raises(Unauthenticated):
            authorize(event, other)  # another site's recorder refuses it


def test_the_cameras_publish_at_the_rates_asked() -> None:
    made = district(centres=2, centre_windows=25, centre_cameras=10, hall_windows=93, hall_cameras=24)
    plan = Cameras(made, state_every=60.0, stats_every=10.0, incidents=20, gap=5.0).plan(600)
    kinds = Counter(p.kind for p in plan)
    assert kinds["stats"] == made.cameras * 60
    assert 0.8 * made.windows * 10 < kinds["state"] < 1.2 * made.windows * 10  # a change a minute, 10 minutes
    assert all(0 <= p.at < 600 for p in plan) and [p.at for p in plan] == sorted(p.at for p in plan)
    assert sum(1 for p in plan if p.kind == "incident" and p.seq == 0) == 20


def test_the_brokers_run_the_shipped_files_without_certificates_or_accounts(tmp_path: Path) -> None:
    shipped = filled(SHIPPED, "centre.conf", "centre-01", "bench/centre-01")
    conf = adapted(shipped, 18830, tmp_path, 18831)
    lines = conf.splitlines()
    assert "listener 18830 127.0.0.1" in lines and "address 127.0.0.1:18831" in lines
    assert "allow_anonymous true" in lines and "listener 8883" not in lines
    assert not [line for line in lines if line.split(" ", 1)[0] in ("password_file", "acl_file", "remote_password")]
    # Everything else as shipped: the bridge's topics, sessions and queue.
    kept = [line for line in shipped.splitlines() if line.startswith(("topic ", "cleansession", "max_queued"))]
    assert kept and all(line in lines for line in kept)
    assert "topic bench/centre-01/cameras/+/stats out 0" in lines


@needs_mosquitto
@pytest.mark.mosquitto
def test_a_centre_bridge_carries_its_own_topics_to_the_district_and_nothing_else(tmp_path: Path) -> None:
    brokers = DistrictBrokers(mosquitto_binary(), tmp_path, "t", SHIPPED)
    try:
        brokers.start([("centre-01", "bench/centre-01")])  # returns once the bridge says it is connected
        heard: list[str] = []
        lock = threading.Lock()

        def hear(message: Received) -> None:
            with lock:
                heard.append(message.topic)

        district = MqttSession(
            MqttConfig(url=brokers.district_url, topic_prefix="watch"), "watch", subscriptions=["#"], on_message=hear
        )
        district.open()
        centre = MqttSession(MqttConfig(url=brokers.url_of("centre-01"), topic_prefix="bench/centre-01"), "camera")
        centre.open()
        try:
            assert district.wait_subscribed(10)
            for topic in ("other/incidents", "bench/centre-01/notes", "bench/centre-01/incidents"):
                assert centre.publish(topic, b"{}", qos=1).wait(10)
            wait_for(lambda: "bench/centre-01/incidents" in heard, what="the incident at the district")
        finally:
            centre.close()
            district.close()
        with lock:
            assert "other/incidents" not in heard and "bench/centre-01/notes" not in heard
            assert "bench/centre-01/link" in heard  # the bridge's notification (retained)
        assert brokers.url_of("hall") == brokers.district_url  # the hall's cameras publish there directly
    finally:
        brokers.stop()


def _bench_schemas() -> set[str]:
    assert PG_URL
    admin = sqlalchemy.create_engine(PG_URL)
    try:
        with admin.connect() as connection:
            query = "select schema_name from information_schema.schemata where schema_name like 'bench_%'"
            return {str(name) for name in connection.execute(sqlalchemy.text(query)).scalars()}
    finally:
        admin.dispose()


@needs_mosquitto
@needs_postgres
@pytest.mark.mosquitto
@pytest.mark.postgres
def test_a_short_run_records_everything_at_its_site_and_reports_its_delays(tmp_path: Path) -> None:
    assert PG_URL
    before = _bench_schemas()
    stages: dict[str, tuple[float, float]] = {}
    spec = DistrictSpec(**SMALL, database=PG_URL, deploy=SHIPPED)  # type: ignore[arg-type]
    report = run_district_bench(
        spec, LiveHall, tmp_path, on_progress=lambda stage, done, total: stages.__setitem__(stage, (done, total))
    )
    assert (report.sites, report.centres, report.cameras, report.windows) == (3, 2, 6, 18)
    assert set(stages) == {"start", "run", "drain"} and stages["drain"][0] == stages["drain"][1]
    published = report.published
    assert published["stats"] >= 6 * 2 and published["state"] > 0 and published["incident"] >= spec.incidents
    # Everything the cameras sent is in the store, at its own site, once; nothing was refused.
    verified = report.verified
    assert verified.incidents == spec.incidents == sum(verified.incidents_by_site.values())
    assert set(verified.incidents_by_site) <= {"hall", "centre-01", "centre-02"}
    assert verified.events == published["incident"] and verified.incident_alerts == verified.incidents
    assert verified.dead_letters == 0 and verified.camera_alerts == 0  # every camera kept speaking
    assert set(report.recorder.statuses) <= {"recorded", "duplicate"}
    # Each recorded message's lag, through the bridges and directly; each state's delay to its board.
    lag = report.recorder_lag
    assert lag["all"].count == published["state"] + published["incident"] == lag["hall"].count + lag["centres"].count
    assert lag["hall"].count > 0 and lag["centres"].count > 0
    for spread in (*lag.values(), report.board_delay["all"]):
        assert spread.median is not None and spread.p95 is not None and spread.worst is not None
        assert 0 <= spread.median <= spread.p95 <= spread.worst < 60
    assert report.board_delay["all"].count + report.superseded == published["state"]
    run = report.recorder
    assert run.cpu_seconds > 0 and run.wall_seconds >= spec.seconds and run.batches > 0
    assert run.peak_memory_mb >= run.memory_mb > 50 and run.threads > 3 * 3  # a recorder per site, its threads
    assert report.idle_cores >= 0 and report.messages_per_second > report.recorded_per_second > 0
    assert report.database.startswith("postgresql ")
    assert _bench_schemas() <= before  # its own schema is gone


@needs_mosquitto
@needs_postgres
@pytest.mark.mosquitto
@pytest.mark.postgres
def test_monitor_bench_district_reports_json() -> None:
    assert PG_URL
    sizes = [f"--{name.replace('_', '-')}={value}" for name, value in SMALL.items() if name not in ("gap", "idle")]
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "bench-district", *sizes, "--database", PG_URL, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert (report["sites"], report["cameras"], report["windows"]) == (3, 6, 18)
    assert report["verified"]["incidents"] == 9 and report["verified"]["dead_letters"] == 0
    assert report["recorder_lag"]["all"]["count"] > 0 and report["board_delay"]["all"]["median"] is not None
    assert report["recorder_cores"] > 0 and report["messages_per_second"] > 0
    assert "committed" not in report["recorder"]  # the per-message times stay in the process
    assert report["machine"]["cores"] == str(os.cpu_count()) and report["machine"]["memory"].endswith("GiB")


def test_a_bad_spec_is_refused() -> None:
    with pytest.raises(InputError, match="--seconds"):
        DistrictSpec(seconds=0)
    with pytest.raises(InputError, match="--seconds"):
        DistrictSpec(seconds=100_000)
    with pytest.raises(InputError, match="at most one incident a window"):
        DistrictSpec(incidents_per_window_day=2)
    with pytest.raises(InputError, match="SQLite or PostgreSQL"):
        DistrictSpec(database="mysql://x@y/z")
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "bench-district", "--database", "mysql://x@y/z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "SQLite or PostgreSQL" in done.stderr and "Traceback" not in done.stderr
