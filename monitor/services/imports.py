"""Importing a month's inputs from a file: case volumes (办件量), ratings (好差评), entered points and lists.

All or nothing: the file is parsed whole first (every bad row is reported with its line, in Chinese) and
only a file without problems is saved, replacing that month's data of the same part.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlmodel import Session

from monitor.adapters.files import load_cases_file, load_reviews_file, load_scores_file
from monitor.adapters.store.inputs import save_cases, save_reviews, save_scores
from monitor.config import MonitorConfig
from monitor.core.inputs.departments import unlisted_departments

Part = Literal["cases", "reviews", "scores"]
PART_LABELS: dict[str, str] = {"cases": "办件量", "reviews": "好差评", "scores": "考核录入分、表彰名单、变化原因"}
_SCORE_PARTS = {
    "department_scores": "部门考核录入分",
    "window_scores": "工作人员考核录入分",
    "honors": "表彰名单",
    "reasons": "办件量变化原因",
}


@dataclass(frozen=True, slots=True)
class Imported:
    summary: str
    """What was saved, for people."""
    warning: str = ""
    """Departments the file does not list (printed as 0), when there are any."""


def import_file(
    config: MonitorConfig, session: Session, part: Part, month: str, path: Path, source: str, now: dt.datetime
) -> Imported:
    """Parse and save one file; InputError (nothing saved) lists every bad row. The caller commits."""
    listed: list[str] | None = None
    if part == "cases":
        volumes = load_cases_file(config, path)
        save_cases(session, month, volumes, source, now)
        summary, listed = f"{month} 办件量：{len(volumes)} 个部门", [v.department for v in volumes]
    elif part == "reviews":
        reviews = load_reviews_file(config, path)
        save_reviews(session, month, reviews, source, now)
        summary = f"{month} “好差评”：{len(reviews)} 个部门，{sum(r.total for r in reviews)} 件评价"
        listed = [r.department for r in reviews]
    else:
        saved = save_scores(session, month, load_scores_file(config, month, path), source, now)
        summary = f"{month} 已导入：{'、'.join(_SCORE_PARTS[s] for s in saved)}"
    missing = unlisted_departments(config, listed) if listed is not None else []
    warning = (
        f"文件没有列出 {'、'.join(missing)}，通报按 0 件列出；如有数据，请补进文件后重新导入（重新导入替换本月数据）"
        if missing
        else ""
    )
    return Imported(summary, warning)
