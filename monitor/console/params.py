"""The query parameters pages take (page numbers, days, months, spans), bounded, and the Chinese answer to a bad one.

A parameter out of range must be refused with a reason, not reach the store or the calendar: a page number of
twenty digits overflowed the database driver and a year of 9999 the date arithmetic, each a 500. Each parameter
is declared here with its bounds; FastAPI refuses a bad one with RequestValidationError before the page runs, and
`validation_message` turns that into one Chinese sentence for the error page (answered 400). A parameter left
empty (a form's blank date) means its default, as before.

Periods are picked as people pick them: a day by its date, a Monday–Sunday week by any of its days, a month by
the month picker (`PeriodQuery`, `Period`); the ISO week (2020-W49) older links carry is still understood but
never shown. A period that does not fit the span asked for (a month for a week) is refused, never replaced by
another period.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request
from pydantic import BeforeValidator

from monitor.console.context import Console, console_of
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
    "week": "周",
    "period": "期间",
    "kind": "类型",
    "user": "账号",
    "action": "操作",
    "department": "部门",
    "state": "状态",
    "number": "文号",
    "reason": "确认理由",
    "view": "看板样式",
    "only": "显示范围",
    "window": "窗口",
    "staff": "人员",
    "camera": "来源",
    "category": "撤销理由",
    "at": "发现时间",
    "minutes": "分钟数",
    "note": "说明",
    "start": "开始时间",
    "end": "结束时间",
    "queue": "审核队列",
    "incident": "违纪记录",
    "id": "记录",
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


_WRITTEN_AS_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WRITTEN_AS_MONTH = re.compile(r"^\d{4}-\d{2}$")
_WRITTEN_AS_WEEK = re.compile(r"^\d{4}-W\d{2}$")
"""How a day, a month and an ISO week are written, to tell one that does not exist from one written wrong."""


def check_day(value: object) -> dt.date | None:
    """A day written YYYY-MM-DD that exists, between FIRST_DAY and LAST_DAY; None when left empty."""
    if _blank(value):
        return None
    if isinstance(value, dt.date):
        day = value
    else:
        text = str(value).strip()
        try:
            day = periods.check_day(text)
        except InputError as exc:
            if _WRITTEN_AS_DAY.match(text):
                raise ValueError(f"日期“{text}”不存在：请选择日历上有的日期") from None
            raise ValueError(str(exc).replace(text, _shown(text))) from None
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
    """A month written YYYY-MM that exists; None when left empty."""
    text = "" if _blank(value) else str(value).strip()
    if _WRITTEN_AS_MONTH.match(text) and not 1 <= int(text[5:]) <= 12:
        raise ValueError(f"月份“{text}”不存在：一年只有 1 至 12 月")
    return _period(periods.check_month, "月份", value)


def check_week(value: object) -> str | None:
    """An ISO week written YYYY-Www that exists (as older links carry it; pages pick a week by a day of it); None
    when left empty."""
    if not _blank(value) and not _WRITTEN_AS_WEEK.match(str(value).strip()):
        raise ValueError(f"周“{_shown(value)}”无效：按周查看{EXPECTED['week']}")
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


def check_span(value: object) -> PeriodKind | None:
    """A span (day, week, month) as a page's 范围 picker sends it; None when left empty."""
    if _blank(value):
        return None
    text = str(value).strip()
    for kind in SPAN_WORDS:
        if text == kind:
            return kind
    raise ValueError(f"范围“{_shown(value)}”无效：应为按日、按周或按月")


def span_or_month(value: object) -> PeriodKind:
    """A span, month when left empty."""
    return check_span(value) or "month"


Page = Annotated[int, Query(ge=0, le=MAX_PAGE)]
"""A page number of a paged list, from 0."""
Day = Annotated[dt.date | None, BeforeValidator(check_day), Query()]
"""A day (YYYY-MM-DD); None (today) when absent or empty."""
Month = Annotated[str | None, BeforeValidator(check_month), Query()]
"""A month (YYYY-MM); None (this month) when absent or empty."""
Week = Annotated[str | None, BeforeValidator(check_week), Query()]
"""An ISO week (YYYY-Www) as older links carry it; None when absent or empty."""
Span = Annotated[PeriodKind, BeforeValidator(span_or_month), Query()]
"""Day, week or month; month when absent or empty."""
Text = Annotated[str, Query(max_length=TEXT_LENGTH)]
"""A free-text filter, at most TEXT_LENGTH characters."""


SPAN_WORDS: dict[PeriodKind, str] = {"day": "日", "week": "周", "month": "月"}
"""Each span as a page's 范围 picker names it (按日, 按周, 按月)."""
EXPECTED: dict[PeriodKind, str] = {
    "day": "请选择日期",
    "week": "请选择该周中的任一天（即看该天所在的周一至周日）",
    "month": "请选择月份",
}
"""What a page expects for each span, said when it was given something else (after 按周查看, 周通报…)."""
ONE: dict[PeriodKind, str] = {"day": "一天", "week": "一周", "month": "一个月"}
"""One period of each span, as a refusal names it (不是一周)."""


@dataclass(frozen=True, slots=True)
class Period:
    """A day, a Monday–Sunday week or a month of the hall's calendar (monitor.core.periods), as a page picked it."""

    kind: PeriodKind
    first: dt.date
    last: dt.date
    """The period's last day (a week's Sunday, a month's last day)."""

    @classmethod
    def containing(cls, kind: PeriodKind, day: dt.date) -> Period:
        """The day, week or month that contains `day`."""
        start, end = periods.containing(kind, day, _NAIVE)
        return cls(kind, start.date(), (end - dt.timedelta(days=1)).date())

    @property
    def key(self) -> str:
        """The period as the calendar, the store and the notices' files write it (2020-12-01, 2020-W49, 2020-12);
        never shown to a person."""
        if self.kind == "week":
            return periods.iso_week(self.first)
        if self.kind == "month":
            return periods.month_of(self.first)
        return self.first.isoformat()

    @property
    def words(self) -> str:
        """The period as the hall says it: 2020年12月1日, 2020年11月30日至12月6日, 2020年11月."""
        if self.kind == "week":
            return periods.week_words(self.key)
        if self.kind == "month":
            return periods.month_words(self.key)
        return periods.chinese_date(self.first)

    @property
    def month(self) -> str:
        """The month picker's value (YYYY-MM) for the month the period starts in."""
        return periods.month_of(self.first)

    def bounds(self, tz: ZoneInfo) -> periods.Span:
        """[start, end) in the hall's timezone."""
        return periods.period_bounds(self.kind, self.key, tz)

    def query(self, **others: str) -> str:
        """The period as a page's query string picks it (span and date, or span and month), with `others`."""
        picked = {"month": self.month} if self.kind == "month" else {"date": self.first.isoformat()}
        return urllib.parse.urlencode({**others, "span": self.kind, **picked})


_NAIVE = ZoneInfo("UTC")
"""Any timezone: a period's days do not depend on it."""


def pick_period(
    kind: PeriodKind,
    default: Period,
    *,
    date: dt.date | None = None,
    month: str | None = None,
    week: str | None = None,
    what: str = "",
) -> Period:
    """The `kind` of period a page was asked for, from the parameters as checked above: a day or week by `date` (a
    week by any of its days), a month by `month` or else by a `date` in it, a week by `week` as older links wrote
    it; `default` when none is given (a form sends both a date and a month: the one of its kind counts). A
    parameter that does not fit the kind (a month for a week, a week for a month) is BadParameter, naming it and
    saying what is expected (`what`: how the page names the kind, e.g. 周通报)."""
    expected = (what or f"按{SPAN_WORDS[kind]}查看") + EXPECTED[kind]
    if week is not None:
        asked = Period.containing("week", dt.date.fromisoformat(f"{week}-1"))
        if kind != "week":
            raise BadParameter(f"给出的是一周（{asked.words}），不是{ONE[kind]}：{expected}")
        if date is not None and not asked.first <= date <= asked.last:
            raise BadParameter(f"日期 {periods.chinese_date(date)} 不在给出的周（{asked.words}）内")
        return asked
    if month is not None and kind == "month":
        return Period.containing("month", dt.date.fromisoformat(f"{month}-01"))
    if date is not None:
        return Period.containing(kind, date)
    if month is not None:
        raise BadParameter(f"月份“{month}”是一个月，不是{ONE[kind]}：{expected}")
    return default


def written_period(kind: PeriodKind, text: str, what: str) -> str:
    """A period written as the calendar writes it (a notice's path or an older link: 2020-W49, 2020-11), checked
    against `kind`: BadParameter naming what was given and what `what` (周通报, 月度通报) expects."""
    text = text.strip()
    try:
        if kind == "week":
            if _WRITTEN_AS_MONTH.match(text):
                raise ValueError(f"{what}的期间“{_shown(text)}”是一个月，不是一周：{what}{EXPECTED['week']}")
            checked = check_week(text)
        else:
            if _WRITTEN_AS_WEEK.match(text):
                raise ValueError(f"{what}的期间“{_shown(text)}”是一周，不是一个月：{what}{EXPECTED['month']}")
            checked = check_month(text)
    except ValueError as exc:
        raise BadParameter(str(exc)) from None
    if checked is None:
        raise BadParameter(f"缺少{what}的期间")
    return checked


def today_of(console: Console) -> dt.date:
    """Today in the hall's timezone, by the console's clock."""
    return console.now().astimezone(console.config.hall.tz).date()


def period_asked(
    request: Request, span: Span = "month", date: Day = None, month: Month = None, week: Week = None
) -> Period:
    """The period a page with a 范围 (day, week, month) was asked for: the one containing today when none is given.
    A week given by an older link sets the span to a week unless another span is named."""
    named = request.query_params.get("span", "").strip()
    kind: PeriodKind = "week" if week is not None and not named else span
    return pick_period(kind, Period.containing(kind, today_of(console_of(request))), date=date, month=month, week=week)


PeriodQuery = Annotated[Period, Depends(period_asked)]
"""The period of a page that takes a 范围 with a date, a month or (older links) a week: `period_asked`."""


def month_asked(request: Request, month: Month = None, date: Day = None, week: Week = None) -> Period:
    """The month a page that takes only a month was asked for (a date names its month): this month when none is
    given. A week, or a span other than a month, is refused: the page would show another period."""
    named = check_span(request.query_params.get("span"))
    if named not in (None, "month"):
        raise BadParameter(f"本页按月查看，不能按{SPAN_WORDS[named]}查看：{EXPECTED['month']}")
    default = Period.containing("month", today_of(console_of(request)))
    return pick_period("month", default, date=date, month=month, week=week)


MonthQuery = Annotated[Period, Depends(month_asked)]
"""The month of a page that takes only a month (the month picker): `month_asked`."""


PERIOD_CHECKS: dict[str, Callable[[object], object]] = {
    "date": check_day,
    "month": check_month,
    "week": check_week,
    "span": check_span,
}
"""The query parameters that name a period, wherever they appear, and how each is checked."""


def periods_checked(request: Request) -> None:
    """Every page's period parameters valid, whether the page reads them or not: an invalid date, month, week or span
    is BadParameter naming it, never silently ignored for another period (an app-wide dependency; empty means the
    page's default, as its own parameters take it)."""
    if request.method not in ("GET", "HEAD"):
        return
    for name, check in PERIOD_CHECKS.items():
        for value in request.query_params.getlist(name):
            try:
                check(value)
            except ValueError as exc:
                raise BadParameter(str(exc)) from None


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
