"""When notices are due: the weekly and monthly times, catch-up after downtime (bounded), a first start
(the scheduler that issues them: tests/integration/test_scheduler.py)."""

from __future__ import annotations

from pathlib import Path

from monitor.config.notices import ScheduleConfig
from monitor.core.notices.due import due_notices
from monitor.services.scheduler import next_runs
from tests.support.config import hall_config
from tests.support.notices import SHANGHAI, at

SCHEDULE = ScheduleConfig()


def periods(due: list) -> list[tuple[str, str]]:
    return [(d.kind, d.period) for d in due]


def test_a_week_is_due_the_monday_after_it_with_history() -> None:
    known = {"weekly": {"2020-W47"}, "monthly": {"2020-10"}}
    # Week 48 (23–29 November) ends on Sunday; its notice is due on Monday 30 November at 09:00.
    assert due_notices(at("2020-11-29 23:59"), SCHEDULE, SHANGHAI, known) == []
    assert due_notices(at("2020-11-30 08:59"), SCHEDULE, SHANGHAI, known) == []
    assert periods(due_notices(at("2020-11-30 09:00"), SCHEDULE, SHANGHAI, known)) == [("weekly", "2020-W48")]


def test_monthly_due_on_the_first_at_eight_for_the_previous_month() -> None:
    known = {"weekly": {"2020-W48"}, "monthly": {"2020-10"}}
    assert due_notices(at("2020-12-01 07:59"), SCHEDULE, SHANGHAI, known) == []
    assert periods(due_notices(at("2020-12-01 08:00"), SCHEDULE, SHANGHAI, known)) == [("monthly", "2020-11")]


def test_catch_up_after_downtime_issues_every_missed_period_once() -> None:
    known = {"weekly": {"2020-W45"}, "monthly": {"2020-09"}}
    due = due_notices(at("2020-12-02 09:00"), SCHEDULE, SHANGHAI, known)
    assert periods(due) == [
        ("monthly", "2020-10"),
        ("weekly", "2020-W46"),
        ("weekly", "2020-W47"),
        ("weekly", "2020-W48"),
        ("monthly", "2020-11"),
    ]


def test_first_start_issues_only_the_latest_due_notices() -> None:
    due = due_notices(at("2020-12-02 09:00"), SCHEDULE, SHANGHAI, {})
    assert periods(due) == [("weekly", "2020-W48"), ("monthly", "2020-11")]


def test_catch_up_is_bounded() -> None:
    schedule = ScheduleConfig(catch_up_weeks=2, catch_up_months=0)
    due = due_notices(at("2020-12-02 09:00"), schedule, SHANGHAI, {"weekly": {"2020-W30"}, "monthly": {"2020-01"}})
    assert periods(due) == [("weekly", "2020-W47"), ("weekly", "2020-W48"), ("monthly", "2020-11")]


def test_configured_times_are_honoured() -> None:
    schedule = ScheduleConfig(weekly_day="tue", weekly_time="17:30", monthly_day=3, monthly_time="10:30")
    known = {"weekly": {"2020-W47"}, "monthly": {"2020-10"}}
    assert due_notices(at("2020-12-01 17:29"), schedule, SHANGHAI, known) == []
    assert periods(due_notices(at("2020-12-01 17:30"), schedule, SHANGHAI, known)) == [("weekly", "2020-W48")]
    known["weekly"].add("2020-W48")
    assert due_notices(at("2020-12-03 10:29"), schedule, SHANGHAI, known) == []
    assert periods(due_notices(at("2020-12-03 10:30"), schedule, SHANGHAI, known)) == [("monthly", "2020-11")]


def test_next_runs(tmp_path: Path) -> None:
    config, _ = hall_config(tmp_path)
    weekly, monthly = next_runs(config, at("2020-11-27 18:00"))
    assert weekly == at("2020-11-30 09:00")
    assert next_runs(config, at("2020-11-30 09:00"))[0] == at("2020-12-07 09:00")
    assert monthly == at("2020-12-01 08:00")
