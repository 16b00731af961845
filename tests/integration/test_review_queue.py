"""The review queue's store queries on SQLite and PostgreSQL: a queue of hundreds paged in SQL, newest first, its
states (待审核, 已审核, 已撤销; a reinstated incident is no longer dismissed), its filters, and an incident's
neighbours in the queue's order whether or not it is still in the queue."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from monitor.adapters.store.database import open_database
from monitor.adapters.store.review_queue import PATROL, QueueQuery, incidents_by_ids, neighbours, queue_page
from monitor.adapters.store.tables import DismissalRow, IncidentRow, ReinstatementRow, ReviewRow

START = dt.datetime(2020, 11, 2, 1, 0, tzinfo=dt.UTC)
COUNT = 250


def _row(n: int, incident_id: str) -> IncidentRow:
    at = START + dt.timedelta(hours=n)
    return IncidentRow(
        id=incident_id,
        kind="late_arrival" if n % 2 else "empty_post",
        window=f"A{n % 5 + 1:02d}",
        department="税务局" if n % 5 == 0 else "行政审批服务局",
        staff="张三" if n % 5 == 1 else None,
        started_at=at,
        source="camera:cam-a" if n % 3 == 0 else "patrol:督查员乙",
        recorded_at=at,
    )


def _rows() -> list[IncidentRow]:
    # Two incidents at the same moment (i-010, i-010b): the id breaks the tie, both ways alike.
    return [_row(n, f"i-{n:03d}") for n in range(COUNT)] + [_row(10, "i-010b")]


def test_the_queue_pages_filters_and_finds_neighbours(db_url):
    engine = open_database(db_url)
    now = START + dt.timedelta(days=30)
    with Session(engine) as session:
        session.add_all(_rows())
        session.flush()
        for n in range(0, 40):  # reviewed
            session.add(ReviewRow(incident_id=f"i-{n:03d}", by="督查员乙", at=now))
        for n in (50, 51, 52):  # dismissed; 52 then reinstated
            session.add(
                DismissalRow(incident_id=f"i-{n:03d}", reason="误检测", by="督查员乙", decided_at=now, recorded_at=now)
            )
        session.flush()
        dismissal = session.exec(select(DismissalRow).where(DismissalRow.incident_id == "i-052")).one()
        session.add(
            ReinstatementRow(
                id="r-1",
                incident_id="i-052",
                dismissal_id=dismissal.id,
                reason="复核",
                by="督查员乙",
                decided_at=now,
                recorded_at=now,
            )
        )
        session.commit()

    with Session(engine) as session:
        waiting = QueueQuery(state="new")
        first, total = queue_page(session, waiting, limit=100, offset=0)
        assert total == COUNT + 1 - 40 - 2  # not reviewed, not dismissed (the reinstated one waits again)
        assert [i.id for i in first[:2]] == ["i-249", "i-248"] and len(first) == 100
        last, _ = queue_page(session, waiting, limit=100, offset=200)
        assert len(last) == total - 200 and [i.id for i in last[-3:]] == ["i-041", "i-040", "i-010b"]
        pages = [queue_page(session, waiting, limit=100, offset=o)[0] for o in (0, 100, 200)]
        ids = [i.id for page in pages for i in page]
        assert len(ids) == len(set(ids)) == total  # every incident once, none skipped at a page's edge
        assert "i-052" in ids and "i-050" not in ids

        dismissed, count = queue_page(session, QueueQuery(state="dismissed"), limit=100, offset=0)
        assert count == 2 and [i.id for i in dismissed] == ["i-051", "i-050"] and all(i.dismissed for i in dismissed)
        _, reviewed = queue_page(session, QueueQuery(state="reviewed"), limit=1, offset=0)
        assert reviewed == 40  # i-000 to i-039 (i-010b, at i-010's moment, is not)

        people, count = queue_page(session, QueueQuery(staff="张三", kind="late_arrival"), limit=500, offset=0)
        assert count == len(people) > 0 and all(i.staff == "张三" and i.kind == "late_arrival" for i in people)
        cameras, _ = queue_page(session, QueueQuery(source="camera:cam-a", window="A01"), limit=500, offset=0)
        assert cameras and all(i.source == "camera:cam-a" and i.window == "A01" for i in cameras)
        patrols, _ = queue_page(session, QueueQuery(source=PATROL, department="税务局"), limit=500, offset=0)
        assert patrols and all(i.source.startswith("patrol:") and i.department == "税务局" for i in patrols)
        span = QueueQuery(start=START + dt.timedelta(hours=10), end=START + dt.timedelta(hours=12))
        assert [i.id for i in queue_page(session, span, limit=10, offset=0)[0]] == ["i-011", "i-010b", "i-010"]

        # Neighbours in the queue's order (newest first), the tie broken by id; a reviewed incident, no longer in
        # the 待审核 queue, still has its place.
        everything = QueueQuery()
        (tied,) = incidents_by_ids(session, ["i-010"])
        assert neighbours(session, everything, tied) == ("i-010b", "i-009")
        (other,) = incidents_by_ids(session, ["i-010b"])
        assert neighbours(session, everything, other) == ("i-011", "i-010")
        (reviewed_one,) = incidents_by_ids(session, ["i-039"])
        assert neighbours(session, waiting, reviewed_one) == ("i-040", "i-010b")
        (newest,) = incidents_by_ids(session, ["i-249"])
        assert neighbours(session, waiting, newest) == (None, "i-248")
        assert [i.id for i in incidents_by_ids(session, ["i-002", "nope", "i-001"])] == ["i-001", "i-002"]
