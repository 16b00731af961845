"""The monthly roll-up notice (pure): score sheets, case volumes, ratings and incidents -> the document.

Everything printed is derived from the configuration and the month's data; the seed hall's
wording lives in `NoticesConfig`. A month with missing inputs is still composed, and `missing`
names what is missing (writers mark the notice as a draft).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from monitor.config import MonitorConfig
from monitor.config.rules import SheetConfig
from monitor.core.incident import Incident
from monitor.core.inputs.types import STARS, TOTAL, CaseVolume, MonthInputs, ReviewCount
from monitor.core.notices.frame import doc_number_text, head, sign_off
from monitor.core.notices.model import Block, Notice, Table
from monitor.core.notices.numbers import growth, growth_phrase, one_decimal, percent, ratio_percent
from monitor.core.periods import month_bounds, month_words, previous_month
from monitor.core.scoring import EnteredScores, MonthScores, ScoreRow, score_month
from monitor.formatting import plain

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1..99 as the notices write counts in titles: 五, 十, 十二, 二十."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else f"{_DIGITS[tens]}十")
    return head + (_DIGITS[ones] if ones else "")


_IMPORT = "（在“数据导入”页导入{what}）"


def _to_import(what: str) -> str:
    """Where a clerk fills a missing input, as the console names it."""
    return _IMPORT.format(what=what)


def _points_missing(month: str, inputs: MonthInputs) -> tuple[str, ...]:
    return tuple(
        f"{month_words(month)}{what}" + _to_import(f"考核分的{table}")
        for entered, what, table in (
            (inputs.department_points, "部门窗口考核录入分", "部门表"),
            (inputs.window_points, "工作人员考核录入分", "窗口号表"),
        )
        if entered is None
    )


def _cases_missing(month: str) -> str:
    return f"{month_words(month)}办件量" + _to_import("办件量")


def _reviews_missing(month: str) -> str:
    return f"{month_words(month)}“好差评”评价数据" + _to_import("好差评")


def inputs_missing(month: str, inputs: MonthInputs) -> tuple[str, ...]:
    """The month's inputs not imported at all, as the notice's 缺少 lines say them (the score sheets show what
    they lack in the same words): the entered points of each sheet, the case volumes, the ratings."""
    return (
        *_points_missing(month, inputs),
        *((_cases_missing(month),) if inputs.cases is None else ()),
        *((_reviews_missing(month),) if inputs.reviews is None else ()),
    )


@dataclass(frozen=True, slots=True)
class Part:
    """A section's text, the figures it states and the inputs it had to do without."""

    text: str
    figures: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MonthlyData:
    """What a monthly notice is composed from."""

    month: str
    incidents: list[Incident]
    """The month's incidents, dismissed ones included (they are left out)."""
    inputs: MonthInputs
    previous_cases: list[CaseVolume] | None
    doc_number: int | None
    """The 文号's number when the notice is issued; None for a draft (no 文号, marked 【草稿】)."""
    issued_on: dt.date
    weeks_notified: bool
    """Whether every week with a violation had its weekly notice issued (section 四 says so only then)."""


def _header(config: MonitorConfig, name: str, full: Decimal) -> str:
    return config.notices.header_format.format(name=name, full=plain(full))


def _sheet_header(config: MonitorConfig, sheet: SheetConfig) -> list[str]:
    return [
        *(_header(config, c.name, c.full) for c in sheet.categories),
        _header(config, sheet.bonus, sheet.bonus_cap),
        "得分",
    ]


def _sheet_cells(sheet: SheetConfig, row: ScoreRow) -> list[str]:
    return [*(plain(row.scores[c.name]) for c in sheet.categories), plain(row.scores[sheet.bonus])]


def attachment_1(config: MonitorConfig, scores: MonthScores, sheet: SheetConfig) -> tuple[tuple[str, ...], ...]:
    rows = [("部门", *_sheet_header(config, sheet))]
    rows += [(r.key, *_sheet_cells(sheet, r), one_decimal(r.total)) for r in scores.departments]
    return tuple(rows)


def attachment_2(config: MonitorConfig, scores: MonthScores, sheet: SheetConfig) -> tuple[tuple[str, ...], ...]:
    rows = [("窗口号", "部门名称", *_sheet_header(config, sheet))]
    previous = None
    for r in scores.staff:
        label = config.window_by_id[r.key].label
        rows.append((r.key, "" if label == previous else label, *_sheet_cells(sheet, r), plain(r.total)))
        previous = label
    return tuple(rows)


def _with_all_departments(config: MonitorConfig, listed: list[str]) -> list[str]:
    """Imported order, then configured departments the import did not list (with zeros)."""
    return listed + [d.name for d in config.departments if d.name not in listed]


def _ranked_cases(config: MonitorConfig, cases: list[CaseVolume]) -> list[CaseVolume]:
    categories = config.notices.case_categories
    by_name = {c.department: c for c in cases}
    names = _with_all_departments(config, [c.department for c in cases])
    full = [by_name.get(n) or CaseVolume(n, dict.fromkeys(categories, 0)) for n in names]
    return sorted(full, key=lambda c: -sum(c.counts.values()))


def _case_totals(config: MonitorConfig, cases: list[CaseVolume]) -> dict[str, int]:
    counted = {d.name for d in config.departments if d.counted_in_totals}
    return {
        cat: sum(c.counts.get(cat, 0) for c in cases if c.department in counted)
        for cat in config.notices.case_categories
    }


def attachment_3(config: MonitorConfig, ranked: list[CaseVolume] | None) -> tuple[tuple[str, ...], ...]:
    categories = config.notices.case_categories
    rows = [("部门", *categories, TOTAL)]
    if ranked is None:
        return tuple(rows)
    for c in ranked:
        rows.append((c.department, *(str(c.counts[cat]) for cat in categories), str(sum(c.counts.values()))))
    totals = _case_totals(config, ranked)
    rows.append((TOTAL, *(str(totals[cat]) for cat in categories), str(sum(totals.values()))))
    return tuple(rows)


def _ranked_reviews(config: MonitorConfig, reviews: list[ReviewCount]) -> list[ReviewCount]:
    by_name = {r.department: r for r in reviews}
    names = _with_all_departments(config, [r.department for r in reviews])
    full = [by_name.get(n) or ReviewCount(n, (0, 0, 0, 0, 0)) for n in names]
    return sorted(full, key=lambda r: -r.total)


def _counted_reviews(config: MonitorConfig, reviews: list[ReviewCount]) -> list[ReviewCount]:
    counted = {d.name for d in config.departments if d.counted_in_totals}
    return [r for r in reviews if r.department in counted]


def attachment_4(config: MonitorConfig, ranked: list[ReviewCount] | None) -> tuple[tuple[str, ...], ...]:
    rows = [("部门", *STARS, TOTAL)]
    if ranked is None:
        return tuple(rows)
    for r in ranked:
        rows.append((r.department, *(str(s) for s in r.stars), str(r.total)))
    counted = _counted_reviews(config, ranked)
    sums = [sum(r.stars[i] for r in counted) for i in range(len(STARS))]
    rows.append((TOTAL, *(str(s) for s in sums), str(sum(sums))))
    return tuple(rows)


def ranking_phrase(what: str, subject: str, names: list[str], verb: str) -> str:
    """考核前五名的<subject>依次是：A、B — or, for one name, 考核第一名的<subject>是：A (never 前一名…依次)."""
    if len(names) == 1:
        return f"{what}第一名的{subject}{verb}：{names[0]}"
    return f"{what}前{chinese_number(len(names))}名的{subject}依次{verb}：{'、'.join(names)}"


def _top_staff(config: MonitorConfig, scores: MonthScores, inputs: MonthInputs) -> tuple[list[str], tuple[str, ...]]:
    """The staff section 一 names, and what is missing for them (a short honor list)."""
    wanted = config.notices.top_staff
    if inputs.honors:
        short = (
            (
                f"表彰名单只有{len(inputs.honors)}人，通报列考核前{chinese_number(wanted)}名"
                + _to_import("考核分的表彰名单"),
            )
            if len(inputs.honors) < wanted
            else ()
        )
        return [f"{h.name}（{h.department}）" for h in inputs.honors[:wanted]], short
    rank = {r.key: r.rank for r in scores.departments}
    ordered = sorted(scores.staff, key=lambda r: (-r.total, rank.get(r.department, len(rank) + 1), r.rank))
    return [f"{r.name or f'{r.key}窗口工作人员'}（{r.department}）" for r in ordered[:wanted]], ()


def _section_cases(
    config: MonitorConfig, data: MonthlyData, ranked: list[CaseVolume] | None, previous: list[CaseVolume] | None
) -> Part:
    m = int(data.month[5:])
    categories = config.notices.case_categories
    if ranked is None:
        return Part(
            f"{m}月份派驻部门窗口办件量尚未导入。具体窗口办件量见附件3。",
            missing=(_cases_missing(data.month),),
        )
    totals = _case_totals(config, ranked)
    total = sum(totals.values())
    figures: dict[str, Any] = {"cases": {"total": total, **totals}}
    missing: tuple[str, ...] = ()
    parts = [
        f"{m}月份，中心窗口办件总量{total}件，其中" + "、".join(f"{cat}类{totals[cat]}件" for cat in categories) + "。"
    ]
    if previous is None:
        last_month = previous_month(data.month)
        missing = (f"{month_words(last_month)}办件量（环比所需）" + _to_import(f"{month_words(last_month)}的办件量"),)
    else:
        last = _case_totals(config, previous)
        figures["cases_growth"] = {
            "total": growth_phrase(total, sum(last.values())),
            **{cat: growth_phrase(totals[cat], last[cat]) for cat in categories},
        }
        parts.append(
            f"本月办件总量比上月{growth_phrase(total, sum(last.values()))}，其中"
            + "，".join(f"{cat}类办件{growth_phrase(totals[cat], last[cat])}" for cat in categories)
            + "。"
        )
    busiest = [c.department for c in ranked if sum(c.counts.values()) > 0][: config.notices.top_volume]
    figures["top_volume"] = busiest
    if busiest:
        parts.append(ranking_phrase("办件量排名", "部门窗口", busiest, "为") + "。")
    if previous is not None:
        changes = _notable_changes(config, data, ranked, previous)
        parts.append(changes.text)
        figures |= changes.figures
        missing += changes.missing
    parts.append("具体窗口办件量见附件3。")
    return Part("".join(parts), figures, missing)


def _notable_changes(
    config: MonitorConfig, data: MonthlyData, ranked: list[CaseVolume], previous: list[CaseVolume]
) -> Part:
    last_by_name = {c.department: sum(c.counts.values()) for c in previous}
    reasons = {r.department: r for r in data.inputs.reasons or []}
    rises: list[str] = []
    falls: list[str] = []
    notable: list[dict[str, str]] = []
    missing: list[str] = []
    for c in ranked:
        this = sum(c.counts.values())
        change = growth(this, last_by_name.get(c.department, 0))
        if change is None or abs(change) < config.notices.notable_change:
            continue
        reason = reasons.get(c.department)
        phrase = growth_phrase(this, last_by_name[c.department])
        business = reason.business if reason else ""
        sentence = f"{c.department}窗口{business}办件量较上月{phrase}"
        if reason:
            sentence = f"{reason.reason}，{sentence}"
        else:
            missing.append(f"{c.department}办件量{phrase}的原因" + _to_import("考核分的原因表"))
        notable.append({"department": c.department, "change": phrase, "reason": reason.reason if reason else ""})
        (rises if change > 0 else falls).append(sentence)
    m = int(data.month[5:])
    text = ""
    if rises:
        text += f"{m}月份，" + "；".join(rises) + "。"
    if falls:
        text += ("另外，" if rises else f"{m}月份，") + "；".join(falls) + "。"
    return Part(text, {"notable_changes": notable}, tuple(missing))


def _section_reviews(config: MonitorConfig, ranked: list[ReviewCount] | None, month: str) -> Part:
    closing = "具体“好差评”评价情况统计见附件4。"
    if ranked is None:
        return Part(
            f"政务服务“好差评”评价数据尚未导入。{closing}",
            missing=(_reviews_missing(month),),
        )
    counted = _counted_reviews(config, ranked)
    count = sum(r.total for r in counted)
    five = sum(r.stars[0] for r in counted)
    figures: dict[str, Any] = {"reviews": {"count": count, "five_star": five}}
    text = f"根据各派驻窗口政务服务“好差评”系统满意度统计，窗口二维码评价满意数{count}件，较满意{five}件"
    if count:
        points = sum(r.stars[i] * (5 - i) for r in counted for i in range(len(STARS)))
        satisfaction = ratio_percent(points, 5 * count)
        figures["reviews"]["satisfaction"] = f"{satisfaction}%"
        text += f"，总体满意度{satisfaction}%"
    with_complaints = [r for r in counted if r.complaints is not None]
    if not with_complaints:
        lacking = f"{month_words(month)}群众投诉及回访情况" + _to_import("好差评表的投诉、二次回访率、二次满意度列")
        return Part(f"{text}。{closing}", figures, (lacking,))
    complaints = sum(r.complaints or 0 for r in with_complaints)
    figures["complaints"] = complaints
    text += f"，市民服务热线、服务台投诉电话、“找茬窗口”等，共收到群众投诉{complaints}件"
    missing: tuple[str, ...] = ()
    if complaints:
        followed = [r for r in with_complaints if r.complaints]
        if all(r.follow_up_rate is not None and r.follow_up_satisfaction is not None for r in followed):
            rate = sum(Decimal(r.complaints or 0) * (r.follow_up_rate or 0) for r in followed) / complaints
            happy = sum(Decimal(r.complaints or 0) * (r.follow_up_satisfaction or 0) for r in followed) / complaints
            figures["follow_up_rate"] = f"{percent(rate)}%"
            figures["follow_up_satisfaction"] = f"{percent(happy)}%"
            text += f"，二次回访率{percent(rate)}%，二次满意度{percent(happy)}%"
        else:
            missing = (
                f"{month_words(month)}投诉的二次回访率、二次满意度" + _to_import("好差评表的二次回访率、二次满意度列"),
            )
    return Part(f"{text}。{closing}", figures, missing)


def _section_discipline(
    config: MonitorConfig, data: MonthlyData, scores: MonthScores, standing: list[Incident]
) -> Part:
    if not standing:
        return Part(
            "根据巡查及视频监控记录，本月未发现违反中心工作纪律情况。",
            {"discipline": {"count": 0, "by_kind": {}, "departments": []}},
        )
    rules = config.rule_set_on(dt.date.fromisoformat(f"{data.month}-01"))
    order = [d.kind for d in rules.deductions]
    counts = Counter(i.kind for i in standing)
    kinds = sorted(counts, key=lambda k: (order.index(k) if k in order else len(order), k))

    def label(kind: str) -> str:
        found = next((r.deduction(kind) for r in config.rules if r.deduction(kind)), None)
        return found.label if found else kind

    department_order = [d.name for d in config.departments]
    points = {r.key: sum((d.points for d in r.deductions), Decimal(0)) for r in scores.departments}
    involved = sorted(
        {i.department for i in standing},
        key=lambda name: (
            -points.get(name, Decimal(0)),
            department_order.index(name) if name in department_order else len(department_order),
        ),
    )
    by_kind = {label(k): counts[k] for k in kinds}
    text = (
        f"根据巡查及视频监控记录，本月{'、'.join(involved)}窗口共发生违反中心工作纪律情况{len(standing)}起（次）。"
        f"具体情况为：窗口工作人员{'、'.join(f'{k}{n}人次' for k, n in by_kind.items())}。"
    )
    notified = "均已在当周进行了通报，" if data.weeks_notified else ""
    text += (
        f"以上违反纪律情况{notified}按中心考核办法给予各派驻窗口、工作人员扣分，"
        "并对出现问题的派驻窗口及工作人员提出批评。"
    )
    return Part(
        text + _corrections(config, standing),
        {"discipline": {"count": len(standing), "by_kind": by_kind, "departments": involved}},
    )


def _corrections(config: MonitorConfig, standing: list[Incident]) -> str:
    """Findings recorded after the month's notice was issued, as a correction says them (更正)."""
    late = [i for i in standing if i.correction]
    if not late:
        return ""
    tz = config.hall.tz

    def said(incident: Incident) -> str:
        local = incident.started_at.astimezone(tz)
        rule = config.rule_set_on(local.date()).deduction(incident.kind)
        label = rule.label if rule else incident.kind
        return f"{local.month}月{local.day}日{incident.window}窗口{label}（{incident.correction}）"

    return f"更正：本月通报印发后经核实补录{len(late)}起：" + "；".join(said(i) for i in late) + "。"


def _attachments(
    config: MonitorConfig,
    month: str,
    scores: MonthScores,
    cases: list[CaseVolume] | None,
    reviews: list[ReviewCount] | None,
) -> tuple[Table, ...]:
    year, m = int(month[:4]), int(month[5:])
    rules = config.rule_set_on(dt.date(year, m, 1))
    caption = f"{year}年{m}月份"
    return (
        Table("1", "附件1", f"{caption}派驻部门窗口考核统计", attachment_1(config, scores, rules.department)),
        Table(
            "2",
            "附件2",
            f"{caption}派驻窗口工作人员考核统计",
            attachment_2(config, scores, rules.staff),
            merge_down=(1,),
        ),
        Table("3", "附件3", f"{caption}派驻部门窗口办件量统计", attachment_3(config, cases), unit="单位：件"),
        Table("4", "附件4", f"{caption}派驻部门窗口“好差评”评价情况统计", attachment_4(config, reviews)),
    )


def _section_scores(config: MonitorConfig, data: MonthlyData, scores: MonthScores) -> Part:
    notices = config.notices
    inputs = data.inputs
    missing = _points_missing(data.month, inputs)
    # Without the entered points every sheet ties at full marks: a ranking would name the roster's order.
    top_departments = (
        [r.key for r in scores.departments[: notices.top_departments]] if inputs.department_points is not None else []
    )
    top_staff, short = (
        _top_staff(config, scores, inputs) if inputs.window_points is not None or inputs.honors else ([], ())
    )
    departments = (
        ranking_phrase("考核", "派驻部门窗口", top_departments, "是")
        if top_departments
        else "派驻部门窗口考核录入分尚未导入，排名待导入后确定"
    )
    staff = (
        ranking_phrase("考核", "派驻部门窗口工作人员", top_staff, "是")
        if top_staff
        else "工作人员考核录入分尚未导入，排名待导入后确定"
    )
    text = (
        f"{int(data.month[5:])}月份，{config.hall.name}根据{notices.rules_title}，对派驻部门窗口及工作人员的工作情况进行了考核，"
        f"{departments}。{staff}。具体考核情况见附件1、附件2。"
    )
    return Part(text, {"top_departments": top_departments, "top_staff": top_staff}, missing + short)


def _summary(title: str, number: str, missing: tuple[str, ...], figures: dict[str, Any]) -> str:
    """A few lines for MQTT and the group robots."""
    lines = [f"{title}（{number or '草稿'}）"]
    if missing and not number:
        lines.append("【草稿】缺少：" + "；".join(missing))
    if figures["top_departments"]:
        lines.append(
            f"考核前{chinese_number(len(figures['top_departments']))}名：{'、'.join(figures['top_departments'])}"
        )
    if "cases" in figures:
        growth_text = figures.get("cases_growth", {}).get("total", "")
        lines.append(f"办件总量{figures['cases']['total']}件" + (f"，比上月{growth_text}" if growth_text else ""))
    if "satisfaction" in figures.get("reviews", {}):
        r = figures["reviews"]
        lines.append(f"“好差评”{r['count']}件，总体满意度{r['satisfaction']}")
    discipline = figures["discipline"]
    lines.append(
        f"违反工作纪律{discipline['count']}起"
        + (f"：{'、'.join(f'{k}{n}人次' for k, n in discipline['by_kind'].items())}" if discipline["count"] else "")
    )
    return "\n".join(lines)


def compose_monthly(config: MonitorConfig, data: MonthlyData) -> Notice:
    m = int(data.month[5:])
    start, end = month_bounds(data.month, config.hall.tz)
    standing = [i for i in data.incidents if not i.dismissed and start <= i.started_at < end]
    inputs = data.inputs
    entered = EnteredScores(departments=inputs.department_points or {}, windows=inputs.window_points or {})
    scores = score_month(config, data.month, data.incidents, entered)
    cases = _ranked_cases(config, inputs.cases) if inputs.cases is not None else None
    reviews = _ranked_reviews(config, inputs.reviews) if inputs.reviews is not None else None
    sections = (
        ("一、派驻部门窗口及工作人员考核情况", _section_scores(config, data, scores)),
        (f"二、{m}月份派驻部门窗口办件情况分析", _section_cases(config, data, cases, data.previous_cases)),
        ("三、政务服务“好差评”评价情况", _section_reviews(config, reviews, data.month)),
        ("四、纪律巡查及视频监控情况", _section_discipline(config, data, scores, standing)),
    )
    missing = tuple(item for _, part in sections for item in part.missing)
    figures: dict[str, Any] = {key: value for _, part in sections for key, value in part.figures.items()}
    hall = config.hall.name
    title = config.notices.monthly_title.format(hall=hall, year=int(data.month[:4]), month=m)
    number = "" if data.doc_number is None else doc_number_text(config, data.issued_on.year, data.doc_number)
    tables = _attachments(config, data.month, scores, cases, reviews)
    blocks = [
        *head(config, title, number, missing),
        Block(
            "body",
            f"{hall}对{m}月份派驻部门窗口及工作人员考核情况、办件情况、政务服务“好差评”评价情况、"
            "纪律巡查及视频监控情况进行了统计，具体情况通报如下：",
        ),
        *(block for heading, part in sections for block in (Block("heading", heading), Block("body", part.text))),
        *sign_off(config, [t.caption for t in tables], data.issued_on),
    ]
    figures["doc_number"] = number
    figures["issued_on"] = data.issued_on.isoformat()
    return Notice(
        kind="monthly",
        period=data.month,
        title=title,
        blocks=tuple(blocks),
        tables=tables,
        summary=_summary(title, number, missing, figures),
        figures=figures,
        missing=missing,
        doc_number=number,
    )
