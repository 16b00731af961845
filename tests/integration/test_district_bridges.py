"""Issue 22, "Done when" #1: two township centres bridged to the district, and a cut that loses nothing.

Three real Mosquittos run the shipped files: the district's deploy/mosquitto/district/district.conf, and each
centre's centre.conf filled by `fill` for its site (tests/support/bridges.py: only TLS, ports and folders replaced);
each centre's bridge reaches the district through a `Link`, a TCP forwarder the test cuts and restores (the
government extranet). The district runs each site's recorder on PostgreSQL and the console's live view of xinhe, as
their broker accounts; each centre runs its camera service, the real detector on a fixture clip, on its own broker.

dongcheng: cam-f02 on late.mp4, a late arrival at F02. xinhe: cam-f09 on two_windows.mp4, a late arrival at F10 and
an empty post at F09. xinhe's camera is held at 09:00, before either, until its windows' states have crossed the
link; then the link is cut for a minute, during which the clip runs on and both incidents arise at the centre. They
wait in the centre's broker, and come through once the link is back: every incident recorded once with its site,
every alert once at the district and at the centre. During the cut the district's board shows xinhe's windows 未知
(站点离线) since the cut, not what its camera said last.

Last, the district's authority by site: a record signed with xinhe's camera key for a dongcheng window, published on
dongcheng's topic by an account that may write there, is refused; xinhe's bridge account cannot write dongcheng's
topics at all.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack, closing
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.tables import EvidenceRow, IncidentEventRow, IncidentRow
from monitor.adapters.video.frames import FrameSource
from monitor.config import CameraConfig, MonitorConfig
from monitor.console.live import LiveHall
from monitor.contract import Alert, IncidentEvent, Rejection, Topics
from monitor.core.board import SITE_OFFLINE, compose_board
from monitor.services import camera as camera_service
from monitor.services.recorder import Recorder
from tests.conftest import PG_URL
from tests.support.bridges import (
    Link,
    Site,
    Watcher,
    as_account,
    centre_broker,
    district_broker,
    passwords_of,
    publish_as,
    wait_link,
)
from tests.support.district import District, district_config, site_key
from tests.support.video import PausingSource, running_cameras
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.mosquitto, pytest.mark.postgres]

SITES = {"xinhe": "xinhe-cam-f09", "dongcheng": "dongcheng-cam-f02"}
"""Each centre and the one camera its camera service runs (two_windows.mp4, late.mp4: from 08:58)."""
CUT = "xinhe"
CLIP_START = dt.datetime.fromisoformat("2020-11-03T08:58:00+08:00")
HELD_AT = 120
"""xinhe's camera is held after 120 frames of its 1 fps clip: at 09:00, before any incident arises."""
FRAMES = {"xinhe": 900, "dongcheng": 600}
CUT_FOR = 60.0
"""Seconds the link stays cut."""


def frames_done(watcher: Watcher, topics: Topics, camera: str) -> int:
    return max((json.loads(p)["frames"] for p in watcher.payloads(topics.camera_stats(camera))), default=0)


def alert_ids(watcher: Watcher, topics: Topics) -> Counter[str]:
    return Counter(Alert.from_json(p).id for p in watcher.payloads(topics.alerts))


def incident_alerts(watcher: Watcher, topics: Topics) -> set[str]:
    """The incidents the alerts on `topics.alerts` announce."""
    alerts = map(Alert.from_json, watcher.payloads(topics.alerts))
    return {a.incident_id for a in alerts if a.incident_id is not None}


def published_events(watcher: Watcher, topics: Topics) -> set[tuple[str, str, int]]:
    events = map(IncidentEvent.from_json, watcher.payloads(topics.incidents))
    return {(e.id, e.event, e.seq) for e in events}


def published_evidence(watcher: Watcher, topics: Topics) -> set[tuple[str, str]]:
    return {
        (parts[-2], parts[-1])
        for topic, _ in watcher.under(f"{topics.prefix}/evidence/")
        if len(parts := topic.split("/")) > 2
    }


def recorded(engine: Engine, site: str) -> dict[str, list[tuple[str, int]]]:
    """The site's incidents as the district's store holds them (all sites' view): id -> its events."""
    with Session(engine) as session:
        incidents = session.exec(select(IncidentRow.id).where(IncidentRow.site == site)).all()
        events = session.exec(
            select(IncidentEventRow.incident_id, IncidentEventRow.event, IncidentEventRow.seq).where(
                col(IncidentEventRow.incident_id).in_(incidents)
            )
        ).all()
    return {i: sorted((e, s) for incident, e, s in events if incident == i) for i in incidents}


def recorded_evidence(engine: Engine, incidents: set[str]) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(
            select(EvidenceRow.incident_id, EvidenceRow.name).where(col(EvidenceRow.incident_id).in_(incidents))
        ).all()
    return [(i, n) for i, n in rows]


def all_recorded_once(engine: Engine, site: str, at_centre: Watcher, at_hub: Watcher, topics: Topics) -> None:
    """Every incident event and piece of evidence the site's camera service sent at its centre is recorded at the
    district, under the site; every incident's alert reaches the district and the centre (repeats are counted
    later)."""
    sent = published_events(at_centre, topics)
    ids = {incident for incident, _, _ in sent}
    assert ids, f"{site}'s camera raised no incident"
    wait_for(
        lambda: sum(map(len, recorded(engine, site).values())) == len(sent),
        timeout=60,
        what=f"{site}'s incidents recorded",
    )
    stored = recorded(engine, site)
    assert set(stored) == ids
    assert sorted((i, e, s) for i, events in stored.items() for e, s in events) == sorted(sent)
    evidence = published_evidence(at_centre, topics)
    assert evidence and {i for i, _ in evidence} <= ids
    wait_for(lambda: len(recorded_evidence(engine, ids)) == len(evidence), what=f"{site}'s evidence recorded")
    assert sorted(recorded_evidence(engine, ids)) == sorted(evidence)
    wait_for(lambda: incident_alerts(at_hub, topics) == ids, what=f"{site}'s alerts at the district")
    wait_for(
        lambda: set(alert_ids(at_centre, topics)) == set(alert_ids(at_hub, topics)),
        what=f"{site}'s alerts at the centre",
    )


def camera_view(district: District, site: str, url: str, password: str, mp: pytest.MonkeyPatch) -> MonitorConfig:
    """The site's camera service at its centre: its one camera, the optimised loop, statistics every second."""
    view = district.site(site)
    return as_account(view, url, "cameras", password, mp).model_copy(
        update={
            "cameras": [c for c in view.cameras if c.id == SITES[site]],
            "detector": view.detector.model_copy(update={"gating": True, "threads": 1}),
            "presence": view.presence.model_copy(update={"stats_every": dt.timedelta(seconds=1)}),
        }
    )


@pytest.mark.parametrize(
    "db_url",
    [pytest.param("postgres", marks=pytest.mark.skipif(not PG_URL, reason="MONITOR_TEST_PG_URL not set"))],
    indirect=True,
)
def test_a_centre_cut_off_for_a_minute_loses_nothing_and_shows_offline(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    district = district_config(tmp_path / "district", dict.fromkeys(SITES, "fixture"), db_url=db_url)
    sites = [Site(site, district.site(site).mqtt.topic_prefix) for site in SITES]
    topics = {site.id: Topics(site.prefix) for site in sites}
    passwords = passwords_of(sites)
    release = threading.Event()
    real_open = camera_service.open_source

    def open_source(camera: CameraConfig, **kwargs: object) -> FrameSource:
        source = real_open(camera, **kwargs)
        return PausingSource(source, HELD_AT, release) if camera.id == SITES[CUT] else source

    monkeypatch.setattr(camera_service, "open_source", open_source)

    with ExitStack() as stack:
        hub = stack.enter_context(district_broker(tmp_path / "hub", sites, SITES, passwords))
        hub_url = f"mqtt://127.0.0.1:{hub.port}"
        links = {site.id: stack.enter_context(closing(Link(hub.port))) for site in sites}
        centres = {
            site.id: stack.enter_context(centre_broker(tmp_path / site.id, site, links[site.id], passwords))
            for site in sites
        }
        at_hub = stack.enter_context(
            Watcher(hub.port, "supervisor", passwords["supervisor"], [f"{site.prefix}/#" for site in sites])
        )
        at_centre = {
            site.id: stack.enter_context(
                Watcher(centres[site.id].port, "supervisor", passwords["supervisor"], [f"{site.prefix}/#"])
            )
            for site in sites
        }
        for site in sites:
            wait_link(at_hub, topics[site.id].link, b"1", f"{site.id}'s bridge connected to the district")

        engine = open_database(db_url)
        stack.callback(engine.dispose)
        for site in sites:
            recorder = Recorder(
                as_account(district.site(site.id), hub_url, "recorder", passwords["recorder"], monkeypatch), engine
            )
            assert recorder.start(wait=60), f"the district broker did not confirm {site.id}'s recorder's subscriptions"
            stack.callback(recorder.stop)
        board_config = as_account(district.site(CUT), hub_url, "supervisor", passwords["supervisor"], monkeypatch)
        live = LiveHall(board_config)
        live.start()
        stack.callback(live.stop)
        wait_for(lambda: live.connected, what="the district's live view of xinhe connected")

        failures = [
            stack.enter_context(
                running_cameras(
                    camera_view(district, site.id, centres[site.id].url, passwords["cameras"], monkeypatch),
                    CLIP_START,
                )
            )
            for site in sites
        ]
        stack.callback(release.set)
        cut, other = topics[CUT], topics["dongcheng"]
        windows = [zone.window for c in district.site(CUT).cameras if c.id == SITES[CUT] for zone in c.windows]
        for window in windows:  # the link works: what the camera said before the cut is at the district
            wait_for(lambda w=window: at_hub.payloads(cut.window_state(w)), what=f"{window}'s state at the district")

        links[CUT].cut()
        cut_at = time.monotonic()
        wait_link(at_hub, cut.link, b"0", "the district hearing xinhe's bridge drop (its will)")
        wait_for(lambda: live.link_down() is not None, what="the live view taking xinhe for cut off")
        release.set()
        wait_for(
            lambda: frames_done(at_centre[CUT], cut, SITES[CUT]) == FRAMES[CUT],
            timeout=150,
            what="xinhe's clip replayed during the cut",
            failure=failures[0],
        )
        raised = {incident for incident, _, _ in published_events(at_centre[CUT], cut)}
        assert len(raised) == 2, f"the late arrival at F10 and the empty post at F09 arise during the cut: {raised}"
        assert not at_hub.payloads(cut.incidents), "an incident crossed a cut link"
        time.sleep(max(0.0, CUT_FOR - (time.monotonic() - cut_at)))

        down_since = live.link_down()
        assert down_since is not None
        now = dt.datetime.now(dt.UTC)
        board = compose_board(board_config, live.windows(), live.cameras(now), {}, now, site_offline=down_since)
        tiles = [tile for row in board.rows for tile in row.tiles]
        assert {(t.state, t.note, t.since) for t in tiles} == {("unknown", SITE_OFFLINE, down_since)}, (
            "every window of the cut-off site shows 未知 (站点离线) since the cut"
        )
        assert board.counts["unknown"] == len(district.site(CUT).window_by_id)
        assert not at_hub.payloads(cut.incidents), "an incident crossed a cut link"
        assert at_hub.payloads(other.link)[-1] == b"1", "the other centre's link is its own"

        links[CUT].restore()
        wait_link(at_hub, cut.link, b"1", "xinhe's bridge connected again")
        wait_for(lambda: live.link_down() is None, what="the live view taking xinhe for connected again")

        # Every incident once, with its site; every event and piece of evidence the centre's camera sent.
        wait_for(
            lambda: frames_done(at_centre["dongcheng"], other, SITES["dongcheng"]) == FRAMES["dongcheng"],
            timeout=150,
            what="dongcheng's clip replayed",
            failure=failures[1],
        )
        for site in sites:
            all_recorded_once(engine, site.id, at_centre[site.id], at_hub, topics[site.id])
        time.sleep(2)  # a repeat would follow its first delivery within moments
        for site in sites:
            for where, watcher in (("district", at_hub), ("centre", at_centre[site.id])):
                repeated = {a: n for a, n in alert_ids(watcher, topics[site.id]).items() if n != 1}
                assert not repeated, f"{site.id}'s alerts delivered more than once at the {where}: {repeated}"
        # A board opened after the cut starts from what the camera said last, not from what it said before the cut:
        # the queued states crossed the link as retained messages.
        for window in windows:
            last = at_centre[CUT].payloads(cut.window_state(window))[-1]
            wait_for(lambda w=window, s=last: at_hub.payloads(cut.window_state(w))[-1] == s, what=f"{window}'s state")
            with Watcher(hub.port, "viewer", passwords["viewer"], [cut.window_state(window)]) as fresh:
                wait_for(lambda w=window: fresh.payloads(cut.window_state(w)), what=f"{window}'s retained state")
                assert fresh.payloads(cut.window_state(window)) == [last], f"{window}'s retained state is stale"
        with Session(engine) as session:  # the district's view: every site's rows
            sites_of = dict(session.exec(select(IncidentRow.id, IncidentRow.site)).all())
        assert set(sites_of.values()) == set(SITES), f"incidents recorded at both sites, each with its own: {sites_of}"

        # Authority by site: xinhe's camera key signs nothing at dongcheng.
        forged = site_key(tmp_path / "district", f"{CUT}-cameras.key").sign(
            IncidentEvent(
                id=f"forged-{uuid.uuid4().hex[:8]}",
                event="new",
                kind="empty_post",
                window="F02",
                started_at=CLIP_START + dt.timedelta(minutes=10),
                minutes=10,
                source=f"camera:{SITES['dongcheng']}",
            )
        )
        publish_as(hub.port, "cameras", passwords["cameras"], other.incidents, forged.to_json())
        wait_for(
            lambda: any(forged.id in Rejection.from_json(p).payload for p in at_hub.payloads(other.rejected)),
            what="the forged record refused",
        )
        (refusal,) = [r for r in map(Rejection.from_json, at_hub.payloads(other.rejected)) if forged.id in r.payload]
        assert "unauthenticated" in refusal.reason
        assert forged.id not in recorded(engine, "dongcheng")
        # ... and xinhe's bridge account writes nothing under dongcheng's prefix.
        trespass, marker = f"xinhe's bridge {uuid.uuid4().hex}".encode(), f"marker {uuid.uuid4().hex}".encode()
        publish_as(hub.port, f"bridge-{CUT}", passwords[f"bridge-{CUT}"], other.incidents, trespass)
        # Mosquitto routes a publish before acknowledging it, and delivers to a subscriber in routing order: a marker
        # published after the trespass was acknowledged arrives after it would have (on a topic no recorder reads).
        publish_as(hub.port, "scheduler", passwords["scheduler"], other.notice("weekly"), marker)
        wait_for(lambda: marker in at_hub.payloads(other.notice("weekly")), what="the marker after the trespass")
        assert trespass not in at_hub.payloads(other.incidents), "xinhe's bridge wrote dongcheng's topic"
