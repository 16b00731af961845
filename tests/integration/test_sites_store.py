"""One store for the district: every record keyed by its site, each site's recorder on its own topics with its own
signers, and a single hall's database upgraded to sites with every figure, sheet and notice unchanged."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy
from alembic import command
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from monitor.adapters.store.accounts import add_user
from monitor.adapters.store.database import _alembic_config, open_database
from monitor.adapters.store.sites import for_site
from monitor.adapters.store.tables import DocRegisterRow, IncidentRow, LeaveRow, NoticeLedgerRow, WindowStateRow
from monitor.cli import _register, app
from monitor.config import MonitorConfig, SignerConfig
from monitor.config.notices import NoticesConfig
from monitor.config.sites import SiteConfig
from monitor.config.writer import write_config
from monitor.contract import Dismissal, IncidentEvent, LeaveGrant, Receipt, Rejection, Topics
from monitor.core.signature import Record, SigningKey
from monitor.services.recorder import Recorder
from tests.support.district import DISTRICT_SUPERVISOR, district_config, site_key, site_supervisor
from tests.support.mqtt import Subscriber, publish
from tests.support.waiting import wait_for

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 11, 4, 2, 0, tzinfo=dt.UTC)


def _event(incident_id: str, window: str, source: str, minute: int = 12) -> IncidentEvent:
    return IncidentEvent(
        id=incident_id,
        event="new",
        seq=0,
        kind="late_arrival",
        window=window,
        started_at=dt.datetime(2020, 11, 4, 9, minute, tzinfo=TZ),
        minutes=12,
        source=source,
    )


def _signed(key: SigningKey, record: Record) -> bytes:
    return key.sign(record).to_json()


def _sites_of(engine: sqlalchemy.Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return sorted((r.id, r.site) for r in session.exec(select(IncidentRow)))


def test_each_site_records_its_own_and_refuses_another_sites_signers(
    db_url: str, broker_url: str, tmp_path: Path
) -> None:
    district = district_config(
        tmp_path, {"xinhe": "fixture", "dongcheng": "fixture"}, db_url=db_url, mqtt_url=broker_url
    )
    engine = open_database(db_url)
    recorders = {site: Recorder(district.site(site), engine) for site in ("xinhe", "dongcheng")}
    topics = {site: Topics(district.site(site).mqtt.topic_prefix) for site in recorders}
    rejected = {site: Subscriber(broker_url, topics[site].rejected) for site in recorders}
    xinhe_cameras = site_key(tmp_path, "xinhe-cameras.key")
    dongcheng_cameras = site_key(tmp_path, "dongcheng-cameras.key")
    try:
        for recorder in recorders.values():
            assert recorder.start(wait=30)
        # Each centre's camera service, its own cameras, its own topics: recorded with the site.
        publish(
            broker_url, topics["xinhe"].incidents, [_signed(xinhe_cameras, _event("x1", "F01", "camera:xinhe-cam-f01"))]
        )
        publish(
            broker_url,
            topics["dongcheng"].incidents,
            [_signed(dongcheng_cameras, _event("d1", "F01", "camera:dongcheng-cam-f01"))],
        )
        # The district's supervisor signs at every site; a centre's supervisor at their own only.
        district_key = site_key(tmp_path, "district-supervisor.key")
        publish(
            broker_url,
            topics["xinhe"].incidents,
            [_signed(district_key, _event("p1", "F02", f"patrol:{DISTRICT_SUPERVISOR}"))],
        )
        # Forged across sites: xinhe's camera key for dongcheng's camera and window, on dongcheng's topic; xinhe's
        # supervisor at dongcheng; xinhe's camera key for a camera of its own, on dongcheng's topic.
        forged = [
            _signed(xinhe_cameras, _event("f1", "F01", "camera:dongcheng-cam-f01", minute=20)),
            _signed(
                site_key(tmp_path, "xinhe-supervisor.key"),
                _event("f2", "F03", f"patrol:{site_supervisor('xinhe')}", minute=21),
            ),
            _signed(xinhe_cameras, _event("f3", "F01", "camera:xinhe-cam-f01", minute=22)),
        ]
        publish(broker_url, topics["dongcheng"].incidents, forged)
        wait_for(lambda: len(rejected["dongcheng"].payloads()) == 3, what="three forged records refused")
        reasons = [Rejection.from_json(p).reason for p in rejected["dongcheng"].payloads()]
        assert "'cameras-xinhe' is not a configured signer" in reasons[0]
        assert f"'{site_supervisor('xinhe')}' is not a configured signer" in reasons[1]
        assert "'cameras-xinhe' is not a configured signer" in reasons[2]
        wait_for(lambda: len(_sites_of(engine)) == 3, what="three incidents recorded")
        assert _sites_of(engine) == [("d1", "dongcheng"), ("p1", "xinhe"), ("x1", "xinhe")]
        # Each site's sessions see that site's records only; the district's sees all.
        with Session(for_site(engine, "xinhe")) as session:
            assert sorted(r.id for r in session.exec(select(IncidentRow))) == ["p1", "x1"]
            assert session.get(IncidentRow, "d1") is None
        assert not rejected["xinhe"].payloads()
    finally:
        for recorder in recorders.values():
            recorder.stop()
        for subscriber in rejected.values():
            subscriber.close()
        engine.dispose()


def test_a_record_whose_id_is_another_sites_is_refused_and_answered(
    db_url: str, broker_url: str, tmp_path: Path
) -> None:
    """Ids are the district's: a leave under an id another site's leave has is refused, and its receipt says so in
    words (the console shows them), instead of leaving the supervisor waiting for an answer."""
    district = district_config(
        tmp_path, {"xinhe": "fixture", "dongcheng": "fixture"}, db_url=db_url, mqtt_url=broker_url
    )
    engine = open_database(db_url)
    recorders = {site: Recorder(district.site(site), engine) for site in ("xinhe", "dongcheng")}
    topics = {site: Topics(district.site(site).mqtt.topic_prefix) for site in recorders}
    key = site_key(tmp_path, "district-supervisor.key")
    answers = Subscriber(broker_url, topics["dongcheng"].receipt("leave", "leave-1"))

    def leave(window: str) -> bytes:
        start = dt.datetime(2020, 11, 4, 9, 0, tzinfo=TZ)
        grant = LeaveGrant(
            id="leave-1",
            window=window,
            start=start,
            end=start + dt.timedelta(hours=3),
            kind="请假",
            reason="",
            by=DISTRICT_SUPERVISOR,
            at=start,
        )
        return _signed(key, grant)

    try:
        for recorder in recorders.values():
            assert recorder.start(wait=30)
        publish(broker_url, topics["xinhe"].leaves, [leave("F01")])
        wait_for(lambda: _leave_sites(engine) == [("leave-1", "xinhe")], what="xinhe's leave")
        publish(broker_url, topics["dongcheng"].leaves, [leave("F02")])
        wait_for(lambda: answers.payloads(), what="dongcheng's answer")
        receipt = Receipt.from_json(answers.payloads()[0])
        assert receipt.status == "rejected" and "编号已被其他记录使用" in receipt.words
        assert _leave_sites(engine) == [("leave-1", "xinhe")]
    finally:
        for recorder in recorders.values():
            recorder.stop()
        answers.close()
        engine.dispose()


def _leave_sites(engine: sqlalchemy.Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return sorted((r.id, r.site) for r in session.exec(select(LeaveRow)))


def test_a_console_account_acts_only_at_its_own_sites(db_url: str, broker_url: str, tmp_path: Path) -> None:
    """The console signs for the person logged in; the recorder checks that their account may act at its site."""
    console_key = SigningKey.generate("console")
    district = district_config(
        tmp_path, {"xinhe": "fixture", "dongcheng": "fixture"}, db_url=db_url, mqtt_url=broker_url
    )
    signers = [
        *district.config.signers,
        SignerConfig(name="console", role="console", public_key=console_key.public_text()),
    ]
    whole = MonitorConfig.model_validate({**dict(district.config), "signers": signers})
    engine = open_database(db_url)
    with Session(engine) as session:
        add_user(session, "王督查", "supervisor", "x", "test", NOW, sites="xinhe")
        add_user(session, "区主任", "admin", "x", "test", NOW)
        session.commit()
    recorders = {site: Recorder(whole.site_view(site), engine) for site in ("xinhe", "dongcheng")}
    topics = {site: Topics(whole.site_view(site).mqtt.topic_prefix) for site in recorders}
    rejected = Subscriber(broker_url, topics["dongcheng"].rejected)
    try:
        for recorder in recorders.values():
            assert recorder.start(wait=30)
        mine = _signed(console_key, _event("c1", "F01", "patrol:王督查"))
        theirs = _signed(console_key, _event("c2", "F01", "patrol:王督查"))
        district_wide = _signed(console_key, _event("c3", "F02", "patrol:区主任"))
        publish(broker_url, topics["xinhe"].incidents, [mine])
        publish(broker_url, topics["dongcheng"].incidents, [theirs, district_wide])
        wait_for(lambda: len(rejected.payloads()) == 1, what="the other site's finding refused")
        assert "王督查" in Rejection.from_json(rejected.payloads()[0]).reason
        wait_for(lambda: len(_sites_of(engine)) == 2, what="two findings recorded")
        assert _sites_of(engine) == [("c1", "xinhe"), ("c3", "dongcheng")]
        # A dismissal of xinhe's incident sent to dongcheng's recorder finds no such incident there.
        dismissal = Dismissal(id="dis-1", incident_id="c1", reason="误报", by="区主任", at=NOW)
        publish(broker_url, topics["dongcheng"].dismissals, [_signed(console_key, dismissal)])
        wait_for(lambda: len(rejected.payloads()) == 2, what="the dismissal refused at the other site")
    finally:
        for recorder in recorders.values():
            recorder.stop()
        rejected.close()
        engine.dispose()


def test_a_sites_session_reads_changes_and_deletes_its_own_rows_only(db_url: str) -> None:
    """Every ORM statement on a site's session is kept to the site: SELECT, get, count, a join, UPDATE, DELETE."""
    engine = open_database(db_url)
    now = dt.datetime(2020, 11, 4, 1, 0, tzinfo=dt.UTC)
    for site in ("xinhe", "dongcheng"):
        with Session(for_site(engine, site)) as session:
            session.add(
                IncidentRow(
                    id=f"i-{site}", kind="late_arrival", window="1", department="社保", started_at=now, recorded_at=now
                )
            )
            session.commit()
    xinhe = for_site(engine, "xinhe")
    with Session(xinhe) as session:
        assert [r.id for r in session.exec(select(IncidentRow))] == ["i-xinhe"]
        assert session.get(IncidentRow, "i-dongcheng") is None
        assert session.exec(select(sqlalchemy.func.count()).select_from(IncidentRow)).one() == 1
        joined = select(IncidentRow.id, WindowStateRow.id).join(
            WindowStateRow, WindowStateRow.window == IncidentRow.window, isouter=True
        )
        assert [i for i, _ in session.exec(joined)] == ["i-xinhe"]
        session.exec(sqlalchemy.update(IncidentRow).values(note="改"))  # type: ignore[call-overload]
        session.exec(sqlalchemy.delete(IncidentRow).where(col(IncidentRow.id) == "i-dongcheng"))  # type: ignore[call-overload]
        session.commit()
    with Session(engine) as session:
        assert sorted((r.id, r.site, r.note) for r in session.exec(select(IncidentRow))) == [
            ("i-dongcheng", "dongcheng", ""),
            ("i-xinhe", "xinhe", "改"),
        ]
    engine.dispose()


def test_natural_keys_are_per_site(db_url: str) -> None:
    """Two centres may have the same window ids and give the same 文号 from their own registers."""
    engine = open_database(db_url)
    since = dt.datetime(2020, 11, 4, 1, 0, tzinfo=dt.UTC)
    for site in ("xinhe", "dongcheng"):
        with Session(for_site(engine, site)) as session:
            session.add(WindowStateRow(window="1", state="present", since=since, camera="c", received_at=since))
            session.add(_register_row("2020-W45", since))
            session.commit()
    with Session(engine) as session:
        rows = session.exec(select(WindowStateRow.site, DocRegisterRow.site).join(DocRegisterRow, sqlalchemy.true()))
        assert sorted(set(rows)) == [
            ("dongcheng", "dongcheng"),
            ("dongcheng", "xinhe"),
            ("xinhe", "dongcheng"),
            ("xinhe", "xinhe"),
        ]
    with Session(for_site(engine, "xinhe")) as session, pytest.raises(sqlalchemy.exc.IntegrityError):
        session.add(_register_row("2020-W46", since))
        session.commit()
    engine.dispose()


def _register_row(period: str, at: dt.datetime) -> DocRegisterRow:
    return DocRegisterRow(
        doc_year=2020, doc_number=3, kind="weekly", period=period, issued_on=at.date(), state="issued", recorded_at=at
    )


WEEKS = {"2020-W45": ("16", "2020-11-09"), "2020-W46": ("17", "2020-11-16")}


def test_a_single_hall_upgraded_to_sites_shows_every_figure_sheet_and_notice_unchanged(
    db_url: str, tmp_path: Path
) -> None:
    """The seed month as the office ran it on a single-hall installation (weekly notices and the roll-up issued),
    the schema taken back to before sites and upgraded again: the scores, the notice and its 文号 are unchanged, every
    row is the hall's, and the same hall as the first site of a district shows the same, while a new centre shows none
    of it."""
    from tests.support.config import hall_config
    from tests.support.notices import import_seed, insert_incidents, seed_incidents

    config, path = hall_config(tmp_path, db_url=db_url)
    engine = open_database(db_url)
    insert_incidents(engine, seed_incidents(), dismissed=("inc-a05",))
    import_seed(config, engine)
    _register()

    def run(config_path: Path, *args: str) -> str:
        result = CliRunner().invoke(app, ["-c", str(config_path), *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    for week, (number, day) in WEEKS.items():
        run(path, "notice", "weekly", "--week", week, "--issue", "--number", number, "--date", day)
    run(path, "notice", "monthly", "--month", "2020-11", "--issue", "--number", "20", "--date", "2020-12-01")

    def figures(config_path: Path, *site: str) -> tuple[dict, dict]:
        notice = json.loads(run(config_path, *site, "notice", "monthly", "--month", "2020-11", "--json"))
        scores = json.loads(run(config_path, *site, "scores", "--month", "2020-11", "--json"))
        return notice, scores

    before = figures(path)
    assert "临东政管办发〔2020〕20号" in before[0]["text"]

    alembic = _alembic_config()
    with engine.begin() as connection:
        alembic.attributes["connection"] = connection
        command.downgrade(alembic, "0012")
    assert "site" not in {c["name"] for c in sqlalchemy.inspect(engine).get_columns("incident")}
    engine.dispose()
    engine = open_database(db_url)  # the upgrade every service runs on start

    assert figures(path) == before
    with Session(engine) as session:
        assert {r.site for r in session.exec(select(IncidentRow))} == {"hall"}
        assert {r.site for r in session.exec(select(NoticeLedgerRow))} == {"hall"}
        issued = session.exec(select(NoticeLedgerRow).where(col(NoticeLedgerRow.kind) == "monthly")).one()
        assert (issued.doc_year, issued.doc_number) == (2020, 20)

    # The same hall as the first site of a district, beside a new centre with the same windows.
    def site(site_id: str, prefix: str, numbered: str | None = None) -> SiteConfig:
        return SiteConfig(
            id=site_id,
            topic_prefix=prefix,
            hall=config.hall,
            departments=config.departments,
            windows=config.windows,
            staff=config.staff,
            notices=NoticesConfig(doc_number_format=numbered) if numbered else None,
        )

    district = MonitorConfig.model_validate(
        {
            **{name: getattr(config, name) for name in MonitorConfig.model_fields if name != "site"},
            "sites": [
                site("hall", config.mqtt.topic_prefix),
                site("xinhe", f"{config.mqtt.topic_prefix}-xinhe", "新河便民发〔{year}〕{number}号"),
            ],
        }
    )
    district_path = write_config(district, tmp_path / "district.toml")
    notice, scores = figures(district_path, "--site", "hall")
    assert (notice["text"], notice["attachments"], scores) == (before[0]["text"], before[0]["attachments"], before[1])
    xinhe_notice, xinhe_scores = figures(district_path, "--site", "xinhe")
    assert "〔2020〕20号" not in xinhe_notice["text"] and xinhe_notice["text"].startswith("【草稿】")
    assert xinhe_scores != before[1]
    engine.dispose()
