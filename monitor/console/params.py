"""The query parameters pages take (page numbers, days, months, spans), bounded, and the Chinese answer to a bad one.

A parameter out of range must be refused with a reason, not reach the store or the calendar: a page number of
twenty digits overflowed the database driver and a year of 9999 the date arithmetic, each a 500. Each parameter
is declared here with its bounds; FastAPI refuses a bad one with RequestValidationError before the page runs, and
`validation_message` turns that into one Chinese sentence for the error page (answered 400). A parameter left
empty (a form's blank date) means its default, as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, get_args

from fastapi import Query
from pydantic import BeforeValidator

from monitor.core import periods
from monitor.core.periods import PeriodKind
from monitor.errors import InputError

FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)
"""The days a page may ask about: any hall's records fall between, and date arithmetic stays far from year 9999."""
MAX_PAGE = 100_000
"""The last page number of a paged list (the audit log's 100 a page: ten million entries)."""
TEXT_LENGTH = 64
"""The longest free-text filter (an account name, an action, a department)."""


LABELS = {
    "page": "页码",
    "date": "日期",
    "month": "月份",
    "span": "范围",
    "period": "期间",
    "kind": "类型",
    "user": "账号",
    "action": "操作",
    "department": "部门",
    "state": "状态",
    "number": "文号",
    "reason": "确认理由",
}
"""What the error page calls each parameter."""


class BadParameter(Exception):
    """A parameter checked in a page's code (one whose form depends on another, as a notice's period on its kind):
    answered 400 with this message, like a parameter FastAPI refused."""


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:24] + "…"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_day(value: object) -> dt.date | None:
    """A day written YYYY-MM-DD between FIRST_DAY and LAST_DAY; None when left empty."""
    if _blank(value):
        return None
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"日期“{_shown(value)}”格式不对：写作 YYYY-MM-DD，例如 2020-11-03") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(
            f"日期 {day.isoformat()} 超出范围：应在 {FIRST_DAY.isoformat()} 至 {LAST_DAY.isoformat()} 之间"
        )
    return day


def _period(check: Callable[[str], str], what: str, value: object) -> str | None:
    """A period checked by the hall's calendar (monitor.core.periods), in the years of FIRST_DAY to LAST_DAY; None
    when left empty."""
    if _blank(value):
        return None
    text = str(value).strip()
    try:
        check(text)
    except InputError as exc:
        raise ValueError(str(exc)) from None
    if not FIRST_DAY.year <= int(text[:4]) <= LAST_DAY.year:
        raise ValueError(f"{what} {text} 超出范围：应在 {FIRST_DAY.year} 年至 {LAST_DAY.year} 年之间")
    return text


def check_month(value: object) -> str | None:
    """A month written YYYY-MM; None when left empty."""
    return _period(periods.check_month, "月份", value)


def check_week(value: object) -> str | None:
    """An ISO week written YYYY-Www that exists; None when left empty."""
    return _period(periods.check_week, "周", value)


def one_of(choices: Iterable[str], default: str, what: str) -> BeforeValidator:
    """A parameter that must be one of `choices` (`default` when left empty)."""
    allowed = tuple(choices)

    def check(value: object) -> str:
        if _blank(value):
            return default
        text = str(value).strip()
        if text not in allowed:
            raise ValueError(f"{what}“{_shown(value)}”无效：应为 {'、'.join(allowed)} 之一")
        return text

    return BeforeValidator(check)


Page = Annotated[int, Query(ge=0, le=MAX_PAGE)]
"""A page number of a paged list, from 0."""
Day = Annotated[dt.date | None, BeforeValidator(check_day), Query()]
"""A day (YYYY-MM-DD); None (today) when absent or empty."""
Month = Annotated[str | None, BeforeValidator(check_month), Query()]
"""A month (YYYY-MM); None (this month) when absent or empty."""
Span = Annotated[PeriodKind, one_of(get_args(PeriodKind), "month", "范围"), Query()]
"""Day, week or month; month when absent or empty."""
Text = Annotated[str, Query(max_length=TEXT_LENGTH)]
"""A free-text filter, at most TEXT_LENGTH characters."""


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """One Chinese sentence for FastAPI's validation errors: which parameter, what was wrong with it."""
    parts = [_one(error) for error in errors[:3]]
    return "请求参数有误：" + "；".join(dict.fromkeys(parts))


def _one(error: Mapping[str, Any]) -> str:
    location = error.get("loc") or ()
    name = str(location[-1]) if location else ""
    label = LABELS.get(name, f"参数 {name}" if name else "参数")
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    received = f"（收到“{_shown(error['input'])}”）" if isinstance(error.get("input"), str) else ""
    if kind == "value_error" and "error" in context:
        return str(context["error"])
    if kind in ("less_than_equal", "less_than"):
        return f"{label}超出范围：不能大于 {context.get('le', context.get('lt'))}{received}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{label}超出范围：不能小于 {context.get('ge', context.get('gt'))}{received}"
    if kind.startswith("int_"):
        return f"{label}应为整数{received}"
    if kind == "string_too_long":
        return f"{label}太长：不能超过 {context.get('max_length')} 个字符"
    if kind == "missing":
        return f"缺少{label}"
    return f"{label}无效{received}"
