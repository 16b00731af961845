"""A month the seed never saw, in a hall of its own (other departments, categories, rules and wording):
every table and figure worked out by hand from the data below (the draft a month with missing inputs
gives, through the command: tests/integration/test_notice_commands.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from monitor.core.inputs.types import CaseVolume, ChangeReason, MonthInputs, ReviewCount
from monitor.core.notices.monthly import MonthlyData, chinese_number, compose_monthly
from tests.support.notices import CITY_HALL as HALL
from tests.support.notices import CITY_INCIDENTS as INCIDENTS
from tests.support.notices import city_incident

INPUTS = MonthInputs(
    month="2021-03",
    cases=[
        CaseVolume("乙局", {"审批": 50, "服务": 30}),
        CaseVolume("甲局", {"审批": 100, "服务": 0}),
        CaseVolume("丙院", {"审批": 0, "服务": 500}),
    ],
    reviews=[
        ReviewCount("乙局", (3, 1, 0, 0, 0), complaints=0),
        ReviewCount(
            "甲局", (10, 0, 0, 0, 2), complaints=2, follow_up_rate=Decimal(100), follow_up_satisfaction=Decimal(50)
        ),
        ReviewCount(
            "丁公司", (0, 0, 1, 0, 0), complaints=1, follow_up_rate=Decimal(100), follow_up_satisfaction=Decimal(100)
        ),
        ReviewCount("丙院", (4, 0, 0, 0, 0)),
    ],
    department_points={
        "甲局": {"好差评": Decimal(9), "加分": Decimal("1.5")},
        "乙局": {"办件管理": Decimal(18)},
        "丙院": {"加分": Decimal(3)},
    },
    window_points={"A2": {"加分": Decimal(2)}, "B1": {"规范服务": Decimal(19)}},
    honors=None,
    reasons=[ChangeReason("乙局", "因新增社保业务", "社保业务"), ChangeReason("丁公司", "因业务移交")],
)

FEBRUARY = [
    CaseVolume("甲局", {"审批": 80, "服务": 0}),
    CaseVolume("乙局", {"审批": 20, "服务": 20}),
    CaseVolume("丙院", {"审批": 0, "服务": 400}),
    CaseVolume("丁公司", {"审批": 0, "服务": 10}),
]


def compose(**changes: object):
    data = MonthlyData("2021-03", INCIDENTS, INPUTS, FEBRUARY, 7, dt.date(2021, 4, 6), weeks_notified=True)
    for key, value in changes.items():
        data = MonthlyData(**{**{f: getattr(data, f) for f in data.__slots__}, key: value})  # type: ignore[arg-type]
    return compose_monthly(HALL, data)


def test_attachments() -> None:
    notice = compose()
    tables = {t.key: [list(r) for r in t.rows] for t in notice.tables}
    assert tables["1"] == [
        ["部门", "窗口出勤 (30 分)", "办件管理 (20 分)", "综合管理 (40 分)", "好差评 (10 分)", "加分 (10 分)", "得分"],
        ["丙院", "30", "20", "40", "10", "3", "103.0"],
        ["乙局", "30", "18", "40", "10", "0", "98.0"],
        ["甲局", "26", "20", "40", "9", "1.5", "96.5"],
        ["丁公司", "25", "20", "40", "10", "0", "95.0"],
    ]
    assert tables["2"] == [
        [
            "窗口号",
            "部门名称",
            "工作纪律 (40 分)",
            "人员出勤 (30 分)",
            "规范服务 (20 分)",
            "综合评议 (10 分)",
            "加分 (10 分)",
            "得分",
        ],
        ["A1", "甲局", "36", "30", "20", "10", "0", "96"],
        ["A2", "", "40", "30", "20", "10", "2", "102"],
        ["B1", "乙局、丁公司", "40", "30", "19", "10", "0", "99"],
        ["B2", "丙院", "40", "30", "20", "10", "0", "100"],
        ["C1", "丁公司", "35", "30", "20", "10", "0", "95"],
    ]
    assert tables["3"] == [
        ["部门", "审批", "服务", "合计"],
        ["丙院", "0", "500", "500"],
        ["甲局", "100", "0", "100"],
        ["乙局", "50", "30", "80"],
        ["丁公司", "0", "0", "0"],
        ["合计", "150", "30", "180"],
    ]
    assert tables["4"] == [
        ["部门", "五星", "四星", "三星", "二星", "一星", "合计"],
        ["甲局", "10", "0", "0", "0", "2", "12"],
        ["乙局", "3", "1", "0", "0", "0", "4"],
        ["丙院", "4", "0", "0", "0", "0", "4"],
        ["丁公司", "0", "0", "1", "0", "0", "1"],
        ["合计", "13", "1", "1", "0", "2", "17"],
    ]


def test_body() -> None:
    notice = compose()
    assert not notice.draft
    lines = notice.text.splitlines()
    assert lines[:4] == [
        "某市政务服务办公室",
        "市政办〔2021〕7号",
        "市民中心3月份派驻部门窗口及工作人员考核情况通报",
        "各派驻单位：",
    ]
    text = notice.text
    for sentence in (
        "考核前二名的派驻部门窗口依次是：丙院、乙局。",
        "考核前三名的派驻部门窗口工作人员依次是：A2窗口工作人员（甲局）、B2窗口工作人员（丙院）、李四（乙局）。",
        "3月份，中心窗口办件总量180件，其中审批类150件、服务类30件。"
        "本月办件总量比上月增长38.5%，其中审批类办件增长50%，服务类办件持平。"
        "办件量排名前三名的部门窗口依次为：丙院、甲局、乙局。"
        "3月份，因新增社保业务，乙局窗口社保业务办件量较上月增长100%。"
        "另外，因业务移交，丁公司窗口办件量较上月减少100%。具体窗口办件量见附件3。",
        "窗口二维码评价满意数17件，较满意13件，总体满意度87.1%，",
        "共收到群众投诉3件，二次回访率100%，二次满意度66.7%。",
        "本月丁公司、甲局窗口共发生违反中心工作纪律情况4起（次）。具体情况为：窗口工作人员迟到3人次、空岗1人次。"
        "以上违反纪律情况均已在当周进行了通报，",
        "附件：1.2021年3月份派驻部门窗口考核统计",
        "市政务服务办公室\n2021年4月6日",
    ):
        assert sentence in text, sentence
    assert notice.figures["discipline"] == {
        "count": 4,
        "by_kind": {"迟到": 3, "空岗": 1},
        "departments": ["丁公司", "甲局"],
    }


def test_missing_reason_and_unnotified_weeks() -> None:
    inputs = MonthInputs(**{**{f: getattr(INPUTS, f) for f in INPUTS.__slots__}, "reasons": []})  # type: ignore[arg-type]
    notice = compose(inputs=inputs, weeks_notified=False, doc_number=None)
    assert notice.draft
    # What is missing, and where a clerk fills it, in the console's words (no command line).
    assert notice.missing == (
        "乙局办件量增长100%的原因（在“数据导入”页导入考核分的原因表）",
        "丁公司办件量减少100%的原因（在“数据导入”页导入考核分的原因表）",
    )
    assert "3月份，乙局窗口办件量较上月增长100%。另外，丁公司窗口办件量较上月减少100%。" in notice.text
    assert "均已在当周进行了通报" not in notice.text
    assert notice.text.startswith("【草稿】缺少：")
    # Issued (its issuer confirmed what was missing): no 【草稿】 line, though the notice still knows what it lacked.
    issued = compose(inputs=inputs, weeks_notified=False)
    assert not issued.draft and issued.missing == notice.missing and "草稿" not in issued.text


def test_a_short_honor_list_is_printed_as_it_is_and_makes_a_draft() -> None:
    from monitor.core.inputs.types import HonorEntry

    inputs = MonthInputs(
        **{**{f: getattr(INPUTS, f) for f in INPUTS.__slots__}, "honors": [HonorEntry("王五", "丁公司")]}
    )  # type: ignore[arg-type]
    notice = compose(inputs=inputs, doc_number=None)
    # One name: 第一名…是, never "前一名…依次是".
    assert "考核第一名的派驻部门窗口工作人员是：王五（丁公司）。" in notice.text
    assert "前一名" not in notice.text and notice.draft
    assert notice.missing[0].startswith("表彰名单只有1人，通报列考核前三名")


def test_a_draft_has_no_doc_number() -> None:
    notice = compose(doc_number=None)
    assert notice.draft and notice.doc_number == "" and notice.figures["doc_number"] == ""
    assert notice.text.startswith("【草稿】未印发，无文号")
    assert "〔2021〕" not in notice.text
    issued = compose()
    assert not issued.draft and issued.doc_number == "市政办〔2021〕7号" and "草稿" not in issued.text


def test_chinese_numbers() -> None:
    assert [chinese_number(n) for n in (1, 5, 10, 12, 20, 35)] == ["一", "五", "十", "十二", "二十", "三十五"]


def test_a_finding_recorded_after_the_notice_is_shown_as_a_correction() -> None:
    """A supervisor's finding for an issued month is recorded only as a correction, and the month's notice (its
    correction, 更正) says so, with why it came late."""
    why = "巡查记录遗漏，经核实补录"
    late = city_incident("i7", "empty_post", "C1", "丁公司", "2021-03-12 14:00", 20, correction=why)
    text = compose(incidents=[*INCIDENTS, late]).text
    assert "更正：本月通报印发后经核实补录1起：3月12日C1窗口空岗（巡查记录遗漏，经核实补录）。" in text
    assert "更正" not in compose().text


def test_without_entered_points_no_ranking_is_named() -> None:
    """Every sheet ties at full marks before the entered points are imported: section 一 names no ranking (it
    would be the roster's order) and says why."""
    inputs = MonthInputs(
        **{
            **{f: getattr(INPUTS, f) for f in INPUTS.__slots__},
            "department_points": None,
            "window_points": None,
            "honors": None,
        }
    )  # type: ignore[arg-type]
    notice = compose(inputs=inputs, doc_number=None)
    assert (
        "派驻部门窗口考核录入分尚未导入，排名待导入后确定。工作人员考核录入分尚未导入，排名待导入后确定。"
        in notice.text
    )
    assert "考核前" not in notice.text and notice.figures["top_departments"] == []
