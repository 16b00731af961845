"""Evidence storage: idempotent on (incident, name), purged after retention."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.evidence import purge_evidence, save_evidence
from monitor.adapters.store.tables import EvidenceRow
from monitor.contract import Status

NOW = dt.datetime(2020, 11, 3, 2, 0, tzinfo=dt.UTC)


def test_save_is_idempotent_and_purge_deletes_only_old_rows(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'm.db'}")
    with Session(engine) as session:
        assert save_evidence(session, "inc-1", "threshold.jpg", b"\xff\xd8one", NOW) is Status.RECORDED
        assert save_evidence(session, "inc-1", "threshold.jpg", b"\xff\xd8one", NOW) is Status.DUPLICATE
        assert save_evidence(session, "inc-1", "threshold.jpg", b"\xff\xd8again", NOW) is Status.CONFLICT
        assert save_evidence(session, "inc-1", "return.jpg", b"\xff\xd8two", NOW + dt.timedelta(days=20))
        assert save_evidence(session, "inc-2", "threshold.jpg", b"\xff\xd8three", NOW - dt.timedelta(days=40))
        session.commit()
    with Session(engine) as session:
        rows = session.exec(select(EvidenceRow).order_by(EvidenceRow.id)).all()
        assert [(r.incident_id, r.name, r.data) for r in rows] == [
            ("inc-1", "threshold.jpg", b"\xff\xd8one"),
            ("inc-1", "return.jpg", b"\xff\xd8two"),
            ("inc-2", "threshold.jpg", b"\xff\xd8three"),
        ]
        assert rows[0].content_type == "image/jpeg" and rows[0].received_at == NOW
        assert purge_evidence(session, NOW + dt.timedelta(days=1)) == 2
        session.commit()
    with Session(engine) as session:
        assert [r.name for r in session.exec(select(EvidenceRow)).all()] == ["return.jpg"]
        assert purge_evidence(session, NOW) == 0
