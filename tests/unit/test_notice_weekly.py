"""The weekly discipline notice: every standing violation of the week, points as the rules deduct them
(from the store, through the command: tests/integration/test_notice_commands.py)."""

from __future__ import annotations

import datetime as dt

from monitor.core.incident import Incident
from monitor.core.notices.weekly import WeeklyData, compose_weekly, context_start
from monitor.core.periods import week_bounds, week_words
from tests.support.notices import CITY_HALL as HALL
from tests.support.notices import CITY_INCIDENTS as INCIDENTS
from tests.support.notices import SHANGHAI, at


def test_week_bounds() -> None:
    start, end = week_bounds("2020-W45", SHANGHAI)
    assert (start, end) == (at("2020-11-02 00:00"), at("2020-11-09 00:00"))
    assert context_start("2020-W45", SHANGHAI) == at("2020-11-01 00:00")
    assert context_start("2020-W53", SHANGHAI) == at("2020-12-01 00:00")
    # A week as a hall names it: by its dates, the year repeated only when the week crosses into a new one.
    assert week_words("2020-W45") == "2020年11月2日至11月8日"
    assert week_words("2020-W53") == "2020年12月28日至2021年1月3日"


def test_repeat_points_count_the_whole_month_and_tiers_apply() -> None:
    # Week 11 of 2021 (15–21 March): A1's third late arrival of March (2 points); the earlier two were in
    # weeks 9 and 10. Week 10 has C1's 45-minute empty post (5 points) and the dismissed early leave is left out.
    week_11 = compose_weekly(HALL, WeeklyData("2021-W11", INCIDENTS, {}, dt.date(2021, 3, 19)))
    violations = week_11.tables[0]
    assert [row[2:] for row in violations.rows[1:]] == [
        ("A1", "甲局", "张三", "迟到3分钟", "09:03到岗", "2", "2", "视频")
    ]
    week_10 = compose_weekly(HALL, WeeklyData("2021-W10", INCIDENTS, {}, dt.date(2021, 3, 12)))
    rows = week_10.tables[0].rows[1:]
    assert [(r[2], r[5], r[7], r[8]) for r in rows] == [("A1", "迟到5分钟", "1", "1"), ("C1", "空岗45分钟", "5", "5")]
    assert week_10.tables[1].rows[1:] == (("迟到", "1", "1", "1"), ("空岗", "1", "5", "5"))
    assert week_10.tables[2].rows[1:] == (("甲局", "1", "1"), ("丁公司", "1", "5"))
    assert "迟到1人次、空岗1人次，涉及甲局、丁公司窗口" in week_10.text


def test_a_row_as_the_clerk_writes_it() -> None:
    started = at("2021-03-17 10:00")
    ongoing = Incident("i9", "empty_post", "A2", "甲局", started, None, 12, source="patrol:王督查")
    # Stored in any order (a clip, a picture taken while it lasted, and one from before pictures had times).
    names = ["20210317T021200Z-threshold.jpg", "20210317T015500Z-clip.mp4", "20210317T022200Z-absent.jpg"]
    names += ["20210317T015950Z-last_seen.jpg", "return.jpg"]
    notice = compose_weekly(HALL, WeeklyData("2021-W11", [ongoing], {"i9": names}, dt.date(2021, 3, 22), doc_number=3))
    row = notice.tables[0].rows[1]
    # A blank name where the roster has none (and a warning for the issuer), what happened, since when (not yet
    # ended), both sheets' points, the source.
    assert row[1:] == ("3月17日（周三）", "A2", "甲局", "", "空岗12分钟", "10:00起", "3", "3", "巡查")
    assert notice.warnings == ("3月17日 A2窗口空岗：人员名单里没有这个窗口的工作人员，通报的“工作人员”一栏将空着",)
    assert notice.tables[0].label == "附件1" and notice.tables[0].landscape
    # Evidence by caption, in time order, saying what each shows; the clip and the "still empty" pictures stay in
    # the console.
    # Two lines each: the charge, then what the picture shows and when.
    assert [p.caption for p in notice.photos] == [
        "1. A2窗口 空岗 3月17日\n09:59:50 最后在岗",
        "1. A2窗口 空岗 3月17日\n10:12:00 确认空岗",
        "1. A2窗口 空岗 3月17日\n10:00 回岗",
    ]
    # Its only attachment with photos: 附件1 and 附件2, numbered in the 附件说明.
    assert [b.text[:5] for b in notice.blocks if b.style == "attachments"] == ["附件：1.", "2.202"]
    assert "i9" not in notice.text and notice.doc_number == "市政办〔2021〕3号" and not notice.draft
    # Titled by its dates; the rectification due on a date, not "下周一".
    assert notice.title.endswith("2021年3月15日至3月21日工作纪律情况通报")
    assert "并于3月29日前将整改情况报中心办公室" in notice.text and notice.figures["rectify_by"] == "2021-03-29"


def test_an_ended_empty_post_shows_its_end_and_the_roster_names_the_person() -> None:
    ended = Incident(
        "i8", "empty_post", "A1", "甲局", at("2021-03-17 14:15"), at("2021-03-17 14:50"), 35, source="patrol:王督查"
    )
    notice = compose_weekly(HALL, WeeklyData("2021-W11", [ended], {}, dt.date(2021, 3, 22)))
    row = notice.tables[0].rows[1]
    assert (row[4], row[5], row[6]) == ("张三", "空岗35分钟", "14:15—14:50")
    assert notice.warnings == ()


def test_a_weekly_draft_has_no_doc_number() -> None:
    notice = compose_weekly(HALL, WeeklyData("2021-W11", INCIDENTS, {}, dt.date(2021, 3, 22)))
    assert notice.draft and notice.text.startswith("【草稿】未印发，无文号")


def test_a_single_attachment_is_not_numbered() -> None:
    """GB/T 9704 7.3.5: several attachments are numbered, a single one is not (附件：名称, and 附件 on its page)."""
    notice = compose_weekly(HALL, WeeklyData("2021-W11", INCIDENTS, {}, dt.date(2021, 3, 22), doc_number=3))
    assert [b.text for b in notice.blocks if b.style == "attachments"] == [
        "附件：2021年3月15日至3月21日违反工作纪律情况明细"
    ]
    assert notice.tables[0].label == "附件" and "具体情况见附件。" in notice.text
