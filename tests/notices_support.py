"""Shared helpers of the notices, imports and scheduler tests: the seed hall on a scratch database."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from monitor.config import MonitorConfig, load_config
from monitor.contract import now_utc
from monitor.imports import (
    load_cases_file,
    load_reviews_file,
    load_scores_file,
    save_cases,
    save_reviews,
    save_scores,
)
from monitor.store.tables import DismissalRow, IncidentRow

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "seed"
SHANGHAI = ZoneInfo("Asia/Shanghai")

# What the seed hall's configuration needs for the notice's own wording (the lead's
# config/hedong.toml gets the same section).
NOTICES_TOML = """
[notices]
output_dir = "{out}"
issuer = "临沂市河东区政务服务管理办公室"
doc_number_format = "临东政管办发〔{{year}}〕{{number}}号"
doc_number_start = 20
addressees = "区直有关部门、上级驻河东有关单位，中心各窗口"
imprint = "河东区政务服务管理办公室"
"""


def _without_notices(text: str) -> str:
    """The file without its [notices] tables (ours replace them)."""
    kept, skipping = [], False
    for line in text.splitlines():
        if line.startswith("["):
            skipping = line.startswith(("[notices]", "[notices."))
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + "\n"


def seed_config(tmp_path: Path, extra: str = "") -> tuple[MonitorConfig, Path]:
    """The seed hall's configuration with its database and notices under `tmp_path`."""
    text = _without_notices((ROOT / "config" / "hedong.toml").read_text(encoding="utf-8"))
    text, replaced = re.subn(r'(?m)^url = "sqlite:[^"]*"$', f'url = "sqlite:///{tmp_path / "hall.db"}"', text)
    assert replaced == 1, "config/hedong.toml: expected one sqlite database url to redirect"
    text += NOTICES_TOML.format(out=tmp_path / "out") + extra
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path), path


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def incident(
    id: str, kind: str, window: str, department: str, start: str, minutes: int, staff: str | None = None
) -> IncidentRow:
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


def insert_incidents(engine: Engine, rows: list[IncidentRow], dismissed: tuple[str, ...] = ()) -> None:
    with Session(engine) as session:
        for row in rows:
            session.add(row)
        session.commit()
        for incident_id in dismissed:
            now = now_utc()
            session.add(
                DismissalRow(incident_id=incident_id, reason="请假", by="主任", decided_at=now, recorded_at=now)
            )
        session.commit()


def import_seed(config: MonitorConfig, engine: Engine, now: dt.datetime | None = None) -> None:
    """The seed's inputs as `monitor import` reads them (CSV and XLSX files in fixtures/seed)."""
    now = now or now_utc()
    with Session(engine) as session:
        save_cases(session, "2020-11", load_cases_file(config, SEED / "cases-2020-11.csv"), "seed", now)
        save_cases(session, "2020-10", load_cases_file(config, SEED / "cases-2020-10.csv"), "seed", now)
        save_reviews(session, "2020-11", load_reviews_file(config, SEED / "reviews-2020-11.csv"), "seed", now)
        save_scores(session, "2020-11", load_scores_file(config, "2020-11", SEED / "scores-2020-11.xlsx"), "seed", now)
        session.commit()


def table(text: str) -> list[list[str]]:
    """Rows of a tab-separated transcription."""
    return [line.split("\t") for line in text.strip("\n").splitlines()]
