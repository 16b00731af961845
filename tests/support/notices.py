"""The notices, imports and scheduler tests' data: the seed's incidents and inputs in a test database,
and a small hall of another city whose every figure is worked out by hand."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from monitor.adapters.files import load_cases_file, load_reviews_file, load_scores_file
from monitor.adapters.store.accounts import mark_reviewed
from monitor.adapters.store.inputs import save_cases, save_reviews, save_scores
from monitor.adapters.store.tables import DismissalRow, IncidentRow
from monitor.config import MonitorConfig
from monitor.contract import now_utc
from monitor.core.incident import Incident
from monitor.core.periods import previous_month
from tests.support.paths import SEED

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> dt.datetime:
    """A wall-clock time in the hall's timezone: at("2020-11-03 09:12")."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def incident(
    id: str, kind: str, window: str, department: str, start: str, minutes: int, staff: str | None = None
) -> IncidentRow:
    """A stored incident (a row of the incident table)."""
    started = at(start)
    return IncidentRow(
        id=id,
        kind=kind,
        window=window,
        department=department,
        staff=staff,
        started_at=started,
        ended_at=started + dt.timedelta(minutes=minutes),
        minutes=minutes,
        source="camera-test",
        recorded_at=started,
    )


def seed_incidents() -> list[IncidentRow]:
    """The seed's four November incidents, on working days inside duty sessions, plus one dismissed."""
    return [
        incident("inc-c20", "late_arrival", "C20", "应急管理局", "2020-11-03 09:12", 12),
        incident("inc-c29", "late_arrival", "C29", "临沂市测绘院", "2020-11-10 09:05", 5),
        incident("inc-d05", "late_arrival", "D05", "邮政快递", "2020-11-17 13:41", 11),
        incident("inc-c25", "empty_post", "C25", "卫健局", "2020-11-24 10:02", 35),
        incident("inc-a05", "late_arrival", "A05", "行政审批服务局", "2020-11-05 09:20", 20),
    ]


def insert_incidents(
    engine: Engine, rows: list[IncidentRow], dismissed: tuple[str, ...] = (), *, reviewed: bool = True
) -> None:
    """Store `rows`, dismiss those named, and (by default) mark the rest reviewed, as the office had them when
    it issued its notices: a charge awaiting review holds its notice back."""
    with Session(engine) as session:
        for row in rows:
            session.add(row)
        session.commit()
        now = now_utc()
        for incident_id in dismissed:
            session.add(
                DismissalRow(incident_id=incident_id, reason="请假", by="主任", decided_at=now, recorded_at=now)
            )
        if reviewed:
            for row in rows:
                if row.id not in dismissed:
                    mark_reviewed(session, row.id, "主任", now)
        session.commit()


def import_seed(
    config: MonitorConfig, engine: Engine, now: dt.datetime | None = None, *, month: str = "2020-11"
) -> None:
    """The seed's inputs as `monitor import` reads them (CSV and XLSX files in fixtures/seed), for the seed
    month or, the same figures, for `month` (its month before gets October's case volumes)."""
    now = now or now_utc()
    with Session(engine) as session:
        save_cases(session, month, load_cases_file(config, SEED / "cases-2020-11.csv"), "seed", now)
        save_cases(session, previous_month(month), load_cases_file(config, SEED / "cases-2020-10.csv"), "seed", now)
        save_reviews(session, month, load_reviews_file(config, SEED / "reviews-2020-11.csv"), "seed", now)
        save_scores(session, month, load_scores_file(config, month, SEED / "scores-2020-11.xlsx"), "seed", now)
        session.commit()


def table(text: str) -> list[list[str]]:
    """Rows of a tab-separated transcription."""
    return [line.split("\t") for line in text.strip("\n").splitlines()]


# --- a hall of another city: other departments, categories, rules and wording

CITY_HALL = MonitorConfig.model_validate(
    {
        "hall": {"name": "市民中心", "office": "市政务服务办公室"},
        "departments": ["甲局", "乙局", {"name": "丙院", "counted_in_totals": False}, "丁公司"],
        "windows": [
            {"ids": ["A1-A2"], "departments": ["甲局"]},
            {"ids": ["B1"], "departments": ["乙局", "丁公司"]},
            {"ids": ["B2"], "departments": ["丙院"]},
            {"ids": ["C1"], "departments": ["丁公司"]},
        ],
        "staff": [{"window": "A1", "name": "张三"}, {"window": "B1", "name": "李四"}, {"window": "C1", "name": "王五"}],
        "rules": [
            {
                "effective": "2021-01-01",
                "deductions": [
                    {"kind": "late_arrival", "label": "迟到", "points": 1, "repeat_after": 3, "repeat_points": 2},
                    {"kind": "empty_post", "label": "空岗", "points": 3, "tiers": [{"min_minutes": 30, "points": 5}]},
                    {"kind": "early_leave", "label": "早退", "points": 1},
                ],
            }
        ],
        "notices": {
            "issuer": "某市政务服务办公室",
            "doc_number_format": "市政办〔{year}〕{number}号",
            "addressees": "各派驻单位",
            "case_categories": ["审批", "服务"],
            "notable_change": 30,
            "top_departments": 2,
            "top_staff": 3,
            "top_volume": 3,
        },
    }
)
"""A configuration written inline on purpose: the notices must not depend on the seed hall's data."""


def city_incident(id: str, kind: str, window: str, department: str, start: str, minutes: int, **kw: object) -> Incident:
    started = at(start)
    return Incident(id, kind, window, department, started, started + dt.timedelta(minutes=minutes), minutes, **kw)  # type: ignore[arg-type]


CITY_INCIDENTS = [
    city_incident("i1", "late_arrival", "A1", "甲局", "2021-03-02 09:10", 10, staff="张三"),
    city_incident("i2", "late_arrival", "A1", "甲局", "2021-03-09 09:05", 5, staff="张三"),
    city_incident("i3", "late_arrival", "A1", "甲局", "2021-03-16 09:03", 3, staff="张三"),  # third: 2 points
    city_incident("i4", "empty_post", "C1", "丁公司", "2021-03-10 10:00", 45, staff="王五"),  # 30+ minutes: 5 points
    city_incident("i5", "early_leave", "B2", "丙院", "2021-03-11 16:50", 10, dismissed=True),
    city_incident("i6", "late_arrival", "B1", "乙局", "2021-02-26 09:30", 30),  # February
]
"""March 2021 in the city hall (and one February incident that the month leaves out)."""
