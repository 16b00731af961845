from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from monitor.config import MonitorConfig
from monitor.config.rules import DeductionConfig, TierConfig
from monitor.core.incident import Incident
from monitor.core.periods import month_bounds
from monitor.core.scoring import EnteredScores, deductions_for, score_month

TZ = dt.timezone(dt.timedelta(hours=8))


def incident(
    window: str, department: str, kind: str, day: int, *, minutes: int | None = None, **kw: object
) -> Incident:
    return Incident(
        id=f"{window}-{kind}-{day}-{minutes}",
        kind=kind,
        window=window,
        department=department,
        started_at=dt.datetime(2020, 11, day, 9, 10, tzinfo=TZ),
        minutes=minutes,
        **kw,  # type: ignore[arg-type]
    )


SEED = [
    incident("C20", "应急管理局", "late_arrival", 4, minutes=8),
    incident("C29", "临沂市测绘院", "late_arrival", 11, minutes=15),
    incident("D05", "邮政快递", "late_arrival", 19, minutes=11),
    incident("C25", "卫健局", "empty_post", 24, minutes=40),
]


def _dept(scores, name):  # type: ignore[no-untyped-def]
    return next(r for r in scores.departments if r.department == name)


def _staff(scores, window):  # type: ignore[no-untyped-def]
    return next(r for r in scores.staff if r.key == window)


def test_seed_incidents_give_the_seed_figures(hedong: MonitorConfig) -> None:
    scores = score_month(hedong, "2020-11", SEED)
    for window, discipline in [("C20", 39), ("C29", 39), ("D05", 39), ("C25", 30)]:
        assert _staff(scores, window).scores["工作纪律"] == discipline
    for department, attendance in [("应急管理局", 29), ("临沂市测绘院", 29), ("邮政快递", 29), ("卫健局", 20)]:
        assert _dept(scores, department).scores["窗口出勤"] == attendance
    untouched = [r for r in scores.staff if r.key not in {"C20", "C29", "D05", "C25"}]
    assert len(untouched) == 89
    assert all(r.scores["工作纪律"] == 40 and r.total == 100 for r in untouched)
    assert list(_staff(scores, "C25").scores) == ["工作纪律", "人员出勤", "规范服务", "综合评议", "加分"]
    assert list(_dept(scores, "卫健局").scores) == ["窗口出勤", "办件管理", "综合管理", "好差评", "加分"]
    assert scores.departments[-1].department == "卫健局" and scores.departments[-1].total == 90


def test_seed_attachment_1_with_entered_points_reproduces_order_and_totals(hedong: MonitorConfig) -> None:
    # 好差评 points and 加分 as the seed's Attachment 1 prints them.
    entered = {
        "不动产登记交易中心": (10, "2"),
        "行政审批服务局": (10, "2"),
        "人社局": (10, "2"),
        "医保局": (10, "2"),
        "公积金服务中心": (9, "2"),
        "税务局": (9, "2"),
        "奥德燃气": (8, "2"),
        "公交公司": (8, "2"),
        "市场监管局": (8, "1.2"),
        "交通运输分局": (8, "1.2"),
        "自然资源局": (8, "1.2"),
        "凤凰水业": (8, "1.2"),
        "临沂市测绘院": (8, "2"),
        "农业银行": (8, "0.8"),
        "住建局": (8, "0.8"),
        "广电网络": (8, "0.6"),
        "临沂建行": (8, "0.6"),
        "商务局": (8, "0.4"),
        "供电公司": (8, "0.4"),
        "临商银行": (8, "0.4"),
        "司法局": (8, "0"),
        "公章刻制": (6, "2"),
        "教育和体育局": (8, "0"),
        "生态环境局": (8, "0"),
        "邮政快递": (8, "0.8"),
        "应急管理局": (8, "0.4"),
        "卫健局": (8, "0"),
    }
    scores = score_month(
        hedong,
        "2020-11",
        SEED,
        EnteredScores(departments={k: {"好差评": Decimal(p), "加分": Decimal(b)} for k, (p, b) in entered.items()}),
    )
    assert [r.department for r in scores.departments] == list(entered)  # the seed's order, ties kept
    assert [str(r.total) for r in scores.departments][:5] == ["102", "102", "102", "102", "101"]
    assert _dept(scores, "市场监管局").total == Decimal("99.2")
    assert _dept(scores, "卫健局").total == 88
    assert [r.rank for r in scores.departments] == list(range(1, 28))


def test_dismissed_incidents_deduct_nothing(hedong: MonitorConfig) -> None:
    dismissed = [dataclasses.replace(i, dismissed=True) for i in SEED]
    scores = score_month(hedong, "2020-11", dismissed)
    assert all(r.total == 100 for r in scores.staff)
    assert deductions_for(dismissed, hedong) == []


def test_categories_never_go_below_the_floor(hedong: MonitorConfig) -> None:
    many = [incident("C25", "卫健局", "empty_post", day, minutes=30) for day in (2, 3, 4, 5, 6)]
    scores = score_month(hedong, "2020-11", many)
    assert _staff(scores, "C25").scores["工作纪律"] == 0
    assert _dept(scores, "卫健局").scores["窗口出勤"] == 0
    assert _dept(scores, "卫健局").total == 70


def test_incidents_outside_the_month_are_ignored(hedong: MonitorConfig) -> None:
    october = dataclasses.replace(SEED[0], started_at=dt.datetime(2020, 10, 31, 15, 59, 59, tzinfo=TZ))
    december = dataclasses.replace(SEED[1], started_at=dt.datetime(2020, 12, 1, 0, 0, tzinfo=TZ))
    # 2020-11-01 00:30 in the hall is 2020-10-31 16:30 UTC: it belongs to November.
    early = dataclasses.replace(SEED[2], started_at=dt.datetime(2020, 10, 31, 16, 30, tzinfo=dt.UTC))
    scores = score_month(hedong, "2020-11", [october, december, early])
    assert [r.key for r in scores.staff if r.deductions] == ["D05"]
    start, end = month_bounds("2020-12", hedong.hall.tz)
    assert (start.day, end.month, end.year) == (1, 1, 2021)


def test_each_deduction_is_explained_by_its_incident(hedong: MonitorConfig) -> None:
    found = deductions_for(SEED[:1], hedong)
    assert {(d.sheet, d.target, d.category, d.points) for d in found} == {
        ("staff", "C20", "工作纪律", Decimal(1)),
        ("department", "应急管理局", "窗口出勤", Decimal(1)),
    }
    assert all(d.incident_id == SEED[0].id for d in found)
    assert found[0].reason == "C20 迟到8分钟（2020-11-04 09:10）扣1分"


def test_rules_in_force_on_the_incident_date_apply(hedong: MonitorConfig) -> None:
    stricter = hedong.rules[0].model_copy(
        update={
            "effective": dt.date(2020, 11, 15),
            "deductions": [
                DeductionConfig(kind="late_arrival", label="迟到", points=Decimal(2)),
                DeductionConfig(
                    kind="empty_post",
                    label="空岗",
                    points=Decimal(3),
                    tiers=[TierConfig(min_minutes=240, points=Decimal(5))],
                ),
                DeductionConfig(
                    kind="early_leave", label="早退", points=Decimal(1), repeat_after=2, repeat_points=Decimal(4)
                ),
            ],
        }
    )
    config = hedong.model_copy(update={"rules": [hedong.rules[0], stricter]})
    found = {
        d.incident_id: d.points
        for d in deductions_for(
            [
                incident("C20", "应急管理局", "late_arrival", 4, minutes=8),  # old rules: 1
                incident("C29", "临沂市测绘院", "late_arrival", 16, minutes=8),  # new rules: 2
                incident("C25", "卫健局", "empty_post", 17, minutes=30),  # 3
                incident("C26", "住建局", "empty_post", 17, minutes=250),  # tier: 5
                incident("D01", "凤凰水业", "early_leave", 16),  # first: 1
                incident("D01", "凤凰水业", "early_leave", 18),  # second at D01 this month: 4
            ],
            config,
        )
        if d.sheet == "staff"
    }
    assert list(found.values()) == [Decimal(1), Decimal(2), Decimal(1), Decimal(3), Decimal(5), Decimal(4)]


def test_bonus_is_capped(hedong: MonitorConfig) -> None:
    scores = score_month(hedong, "2020-11", [], EnteredScores(windows={"B06": {"加分": Decimal(12)}}))
    assert _staff(scores, "B06").scores["加分"] == 10


@pytest.mark.parametrize("kind", ["late_arrival", "empty_post", "early_leave"])
def test_a_kind_without_staff_category_spares_the_staff_sheet(hedong: MonitorConfig, kind: str) -> None:
    rules = hedong.rules[0]
    patched = [d.model_copy(update={"staff_category": None}) if d.kind == kind else d for d in rules.deductions]
    config = hedong.model_copy(update={"rules": [rules.model_copy(update={"deductions": patched})]})
    found = deductions_for([incident("C20", "应急管理局", kind, 4, minutes=20)], config)
    assert [d.sheet for d in found] == ["department"]
