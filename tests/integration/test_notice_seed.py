"""The seed's November 2020 notice, reproduced from its inputs: Attachments 1–4 cell for cell and the body's figures.

The expected tables are transcribed from ../shared/seed/000_4b200b6a30fe016d.txt (tab separated, as the
extraction prints them) with the extraction's artefacts undone: wrapped department names joined (the real
names have no spaces, DOMAIN.md), C09/C10's wrapped "税务局、不动产 / 登记交易中心" put back on C09 with
C10 blank (a continuation row), and Attachment 2's header, which the extraction repeats at page breaks,
kept once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.adapters.store.database import open_database
from monitor.cli import _register, app
from tests.support.config import hall_config
from tests.support.notices import import_seed, insert_incidents, seed_incidents, table

ATTACHMENT_1 = """
部门	窗口出勤 (30 分)	办件管理 (20 分)	综合管理 (40 分)	好差评 (10 分)	加分 (10 分)	得分
不动产登记交易中心	30	20	40	10	2	102.0
行政审批服务局	30	20	40	10	2	102.0
人社局	30	20	40	10	2	102.0
医保局	30	20	40	10	2	102.0
公积金服务中心	30	20	40	9	2	101.0
税务局	30	20	40	9	2	101.0
奥德燃气	30	20	40	8	2	100.0
公交公司	30	20	40	8	2	100.0
市场监管局	30	20	40	8	1.2	99.2
交通运输分局	30	20	40	8	1.2	99.2
自然资源局	30	20	40	8	1.2	99.2
凤凰水业	30	20	40	8	1.2	99.2
临沂市测绘院	29	20	40	8	2	99.0
农业银行	30	20	40	8	0.8	98.8
住建局	30	20	40	8	0.8	98.8
广电网络	30	20	40	8	0.6	98.6
临沂建行	30	20	40	8	0.6	98.6
商务局	30	20	40	8	0.4	98.4
供电公司	30	20	40	8	0.4	98.4
临商银行	30	20	40	8	0.4	98.4
司法局	30	20	40	8	0	98.0
公章刻制	30	20	40	6	2	98.0
教育和体育局	30	20	40	8	0	98.0
生态环境局	30	20	40	8	0	98.0
邮政快递	29	20	40	8	0.8	97.8
应急管理局	29	20	40	8	0.4	97.4
卫健局	20	20	40	8	0	88.0
"""

ATTACHMENT_2 = """
窗口号	部门名称	工作纪律 (40 分)	人员出勤 (30 分)	规范服务 (20 分)	综合评议 (10 分)	加分 (10 分)	得分
A01	行政审批服务局	40	30	20	10	0	100
A02		40	30	20	10	0	100
A03		40	30	20	10	0	100
A04		40	30	20	10	0	100
A05		40	30	20	10	0	100
A06		40	30	20	10	0	100
A07		40	30	20	10	0	100
A08		40	30	20	10	0	100
A09		40	30	20	10	0	100
A10		40	30	20	10	0	100
A11		40	30	20	10	0	100
A12		40	30	20	10	0	100
A13		40	30	20	10	0	100
A14		40	30	20	10	0	100
A15	公章刻制	40	30	20	10	0	100
A16		40	30	20	10	0	100
A17	税务局	40	30	20	10	0	100
A18	行政审批服务局	40	30	20	10	0	100
A19		40	30	20	10	0	100
A20		40	30	20	10	0	100
A21		40	30	20	10	0	100
A22		40	30	20	10	0	100
A23		40	30	20	10	0	100
A24		40	30	20	10	0	100
B03	人社局	40	30	20	10	0	100
B04		40	30	20	10	0	100
B05		40	30	20	10	0	100
B06		40	30	20	10	2	102
B07		40	30	20	10	0	100
B08		40	30	20	10	0	100
B09		40	30	20	10	0	100
B10		40	30	20	10	0	100
B11	医保局	40	30	20	10	1	101
B12		40	30	20	10	1	101
B13	开发区税务局	40	30	20	10	0	100
B14		40	30	20	10	0	100
B15	人社局、医保局	40	30	20	10	2	102
B16		40	30	20	10	0	100
B17		40	30	20	10	0	100
B18		40	30	20	10	0	100
B19	河东区税务局	40	30	20	10	0	100
B20		40	30	20	10	0	100
B21		40	30	20	10	0	100
B22		40	30	20	10	0	100
C02	市场监管局	40	30	20	10	0	100
C03	公积金服务中心	40	30	20	10	2	102
C04		40	30	20	10	2	102
C05		40	30	20	10	0	100
C06		40	30	20	10	2	102
C07		40	30	20	10	0	100
C08		40	30	20	10	0	100
C09	税务局、不动产登记交易中心	40	30	20	10	1	101
C10		40	30	20	10	0	100
C11	不动产登记交易中心	40	30	20	10	0	100
C12		40	30	20	10	0	100
C14	税务局、不动产登记交易中心	40	30	20	10	0	100
C15		40	30	20	10	0	100
C16		40	30	20	10	0	100
C17		40	30	20	10	0	100
C18	交通运输分局	40	30	20	10	0	100
C19		40	30	20	10	0	100
C20	应急管理局	39	30	20	10	0	99
C21	商务局	40	30	20	10	0	100
C22	司法局	40	30	20	10	0	100
C23	生态环境局	40	30	20	10	0	100
C24	教育和体育局	40	30	20	10	0	100
C25	卫健局	30	30	20	10	0	90
C26	住建局	40	30	20	10	0	100
C28	自然资源局	40	30	20	10	0	100
C29	临沂市测绘院	39	30	20	10	0	99
C30		40	30	20	10	0	100
C31	不动产登记交易中心	40	30	20	10	0	100
C32		40	30	20	10	0	100
D01	凤凰水业	40	30	20	10	0	100
D02	供电公司	40	30	20	10	0	100
D03	奥德燃气	40	30	20	10	0	100
D04		40	30	20	10	0	100
D05	邮政快递	39	30	20	10	0	99
D06	广电网络	40	30	20	10	0	100
D07	公交公司	40	30	20	10	0	100
D08	临沂建行	40	30	20	10	0	100
D09	农业银行	40	30	20	10	0	100
D10	行政审批服务局	40	30	20	10	0	100
D14	临商银行	40	30	20	10	0	100
1	税务局	40	30	20	10	2	102
2		40	30	20	10	0	100
3		40	30	20	10	0	100
4		40	30	20	10	0	100
5		40	30	20	10	0	100
6		40	30	20	10	0	100
7		40	30	20	10	0	100
8		40	30	20	10	0	100
9		40	30	20	10	0	100
"""

ATTACHMENT_3 = """
部门	行政审批	便民服务	公共服务	收费	合计
税务局	0	35533	0	0	35533
人社局	0	0	34760	300	35060
公积金服务中心	0	9288	0	0	9288
行政审批服务局	5885	193	0	33	6111
医保局	0	245	4147	0	4392
公交公司	0	2852	0	0	2852
不动产登记交易中心	0	1756	0	686	2442
公章刻制	0	2176	0	0	2176
临沂市测绘院	0	0	1120	0	1120
奥德燃气	0	0	0	1024	1024
交通运输分局	44	410	0	0	454
市场监管局	341	0	5	0	346
自然资源局	301	0	13	0	314
凤凰水业	0	307	0	0	307
邮政快递	0	145	0	0	145
农业银行	0	109	0	0	109
住建局	101	0	0	0	101
临沂建行	0	0	0	82	82
广电网络	0	67	0	0	67
供电公司	0	36	0	0	36
临商银行	0	0	0	25	25
商务局	0	14	0	0	14
应急管理局	4	0	2	0	6
司法局	0	0	0	0	0
教育和体育局	0	0	0	0	0
生态环境局	0	0	0	0	0
卫健局	0	0	0	0	0
合计	6676	53131	38927	2150	100884
"""

ATTACHMENT_4 = """
部门	五星	四星	三星	二星	一星	合计
不动产登记交易中心	974	0	0	0	0	974
税务局	92	0	0	0	1	93
公积金服务中心	16	0	0	0	1	17
人社局	9	0	0	0	0	9
医保局	2	0	0	0	0	2
行政审批服务局	0	0	0	0	0	0
住建局	0	0	0	0	0	0
司法局	0	0	0	0	0	0
凤凰水业	0	0	0	0	0	0
供电公司	0	0	0	0	0	0
奥德燃气	0	0	0	0	0	0
公章刻制	0	0	0	0	0	0
应急管理局	0	0	0	0	0	0
市场监管局	0	0	0	0	0	0
公交公司	0	0	0	0	0	0
商务局	0	0	0	0	0	0
广电网络	0	0	0	0	0	0
农业银行	0	0	0	0	0	0
临商银行	0	0	0	0	0	0
临沂建行	0	0	0	0	0	0
邮政快递	0	0	0	0	0	0
教育和体育局	0	0	0	0	0	0
生态环境局	0	0	0	0	0	0
卫健局	0	0	0	0	0	0
交通运输分局	0	0	0	0	0	0
自然资源局	0	0	0	0	0	0
临沂市测绘院	0	0	0	0	0	0
合计	1093	0	0	0	2	1095
"""


WEEKS = {"2020-W45": ("16", "2020-11-09"), "2020-W46": ("17", "2020-11-16"), "2020-W47": ("18", "2020-11-23")}
WEEKS["2020-W48"] = ("19", "2020-11-30")


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """The seed month as the office runs it: each week's notice issued through the CLI (文号 16–19 from
    its register), a draft of the roll-up, the roll-up issued as 〔2020〕20号 on 1 December, shown again."""
    tmp = tmp_path_factory.mktemp("seed")
    config, path = hall_config(tmp)
    engine = open_database(config.database.url)
    insert_incidents(engine, seed_incidents(), dismissed=("inc-a05",))
    import_seed(config, engine)
    _register()

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["-c", str(path), "notice", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    for week, (number, day) in WEEKS.items():
        run("weekly", "--week", week, "--issue", "--number", number, "--date", day)
    draft = json.loads(run("monthly", "--month", "2020-11", "--json"))
    (tmp / "draft.json").write_text(json.dumps(draft, ensure_ascii=False), encoding="utf-8")
    run("monthly", "--month", "2020-11", "--issue", "--number", "20", "--date", "2020-12-01")
    return json.loads(run("monthly", "--month", "2020-11", "--json")), tmp


def test_the_draft_has_the_same_attachments_and_no_doc_number(seed_run: tuple[dict, Path]) -> None:
    document, tmp = seed_run
    draft = json.loads((tmp / "draft.json").read_text(encoding="utf-8"))
    assert draft["attachments"] == document["attachments"]
    assert draft["text"].startswith("【草稿】未印发，无文号") and "〔2020〕" not in draft["text"]
    assert "均已在当周进行了通报" in draft["text"]


@pytest.mark.parametrize(
    ("key", "expected"), [("1", ATTACHMENT_1), ("2", ATTACHMENT_2), ("3", ATTACHMENT_3), ("4", ATTACHMENT_4)]
)
def test_attachments_cell_for_cell(seed_run: tuple[dict, Path], key: str, expected: str) -> None:
    document, _ = seed_run
    assert document["attachments"][key] == table(expected)


def test_only_the_four_attachments(seed_run: tuple[dict, Path]) -> None:
    assert sorted(seed_run[0]["attachments"]) == ["1", "2", "3", "4"]


def test_body_states_the_seed_figures(seed_run: tuple[dict, Path]) -> None:
    text = seed_run[0]["text"]
    for figure in (
        "临东政管办发〔2020〕20号",
        "区政务服务中心11月份派驻部门窗口及工作人员考核情况通报",
        "区直有关部门、上级驻河东有关单位，中心各窗口：",
        "考核前五名的派驻部门窗口依次是：不动产登记交易中心、行政审批服务局、人社局、医保局、公积金服务中心。",
        "考核前十名的派驻部门窗口工作人员依次是：尤洪粉（不动产登记交易中心）、潘雪（不动产登记交易中心）、"
        "杨杰（行政审批服务局）、杜政颖（行政审批服务局）、李晓丹（行政审批服务局）、李赛男（人社局）、"
        "孟艳伟（医保局）、林美兰（公积金服务中心）、王洁（公积金服务中心）、刘商含（税务局）。",
        "中心窗口办件总量100884件",
        "行政审批类6676件、便民服务类53131件、公共服务类38927件、收费类2150件",
        "本月办件总量比上月增长16%",
        "行政审批类办件增长40.5%",
        "便民服务类办件增长26.5%",
        "公共服务类办件增长20.1%",
        "收费类办件减少72.6%",
        "办件量排名前十名的部门窗口依次为：税务局、人社局、公积金服务中心、行政审批服务局、医保局、公交公司、"
        "不动产登记交易中心、公章刻制、临沂市测绘院、奥德燃气。",
        "因年底报销材料集中报送，灵活就业人员增多，医保局窗口缴费业务办件量较上月增长53%",
        "因名仕温泉国际城有新房交付，临商银行窗口维修基金业务办件量较上月增长92.3%",
        "另外，因本月开发区“危险化学品经营许可证（无仓储的）”业务交接完毕，应急管理局窗口办件量较上月减少88.9%",
        "1095件",
        "总体满意度99.9%",
        "共收到群众投诉1件，二次回访率100%，二次满意度100%",
        "本月卫健局、临沂市测绘院、邮政快递、应急管理局窗口共发生违反中心工作纪律情况4起（次）",
        "窗口工作人员迟到3人次、空岗1人次",
        "以上违反纪律情况均已在当周进行了通报，按中心考核办法给予各派驻窗口、工作人员扣分",
        "附件：1.2020年11月份派驻部门窗口考核统计",
        "4.2020年11月份派驻部门窗口“好差评”评价情况统计",
        "区政务服务管理办公室",
    ):
        assert figure in text, figure
    assert "草稿" not in text


def test_files_written(seed_run: tuple[dict, Path]) -> None:
    _, tmp = seed_run
    folder = tmp / "out" / "notices" / "2020-11"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"monthly-2020-11.{suffix}" for suffix in ("docx", "html", "json", "md", "xlsx")]
    saved = json.loads((folder / "monthly-2020-11.json").read_text(encoding="utf-8"))
    assert saved["attachments"] == seed_run[0]["attachments"]
    assert saved["figures"]["cases"]["total"] == 100884
    assert saved["draft"] is False
