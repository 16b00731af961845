"""Imports: the seed's files read as the hall writes them; every bad row named as the clerk finds it (FILE 第N行第M列
（列名）), with what to do, never a configuration key; all or nothing
(storing them, and the command: tests/integration/test_import_store.py)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from monitor.adapters.files import load_cases_file, load_reviews_file, load_scores_file
from monitor.config import MonitorConfig
from monitor.errors import InputError
from tests.support.paths import SEED

HEADER = "部门,行政审批,便民服务,公共服务,收费\n"


@pytest.fixture
def config(hedong: MonitorConfig) -> MonitorConfig:
    return hedong


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def refused(call, *args) -> str:
    with pytest.raises(InputError) as caught:
        call(*args)
    return str(caught.value)


def test_seed_files_read(config) -> None:
    cases = load_cases_file(config, SEED / "cases-2020-11.csv")
    assert len(cases) == 27 and cases[0].department == "税务局" and cases[0].counts["便民服务"] == 35533
    reviews = load_reviews_file(config, SEED / "reviews-2020-11.csv")
    assert sum(r.total for r in reviews) == 1095
    assert [r.complaints for r in reviews if r.complaints] == [1]
    scores = load_scores_file(config, "2020-11", SEED / "scores-2020-11.xlsx")
    assert scores.departments is not None and scores.departments["市场监管局"] == {
        "好差评": Decimal(8),
        "加分": Decimal("1.2"),
    }
    assert scores.windows is not None and scores.windows["1"] == {"加分": Decimal(2)}
    assert scores.honors is not None and [h.name for h in scores.honors][:2] == ["尤洪粉", "潘雪"]
    assert scores.reasons is not None and scores.reasons[0].business == "缴费业务"


def test_the_csv_and_xlsx_scores_agree(config) -> None:
    xlsx = load_scores_file(config, "2020-11", SEED / "scores-2020-11.xlsx")
    assert load_scores_file(config, "2020-11", SEED / "scores-departments-2020-11.csv").departments == xlsx.departments
    assert load_scores_file(config, "2020-11", SEED / "scores-windows-2020-11.csv").windows == xlsx.windows
    assert load_scores_file(config, "2020-11", SEED / "honors-2020-11.csv").honors == xlsx.honors
    assert load_scores_file(config, "2020-11", SEED / "reasons-2020-11.csv").reasons == xlsx.reasons


def test_every_bad_row_is_named(config, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "cases.csv",
        HEADER + "税务局,0,10,0,0\n不存在局,1,2,3,4\n人社局,0,x,0,0\n税务局,0,1,0,0\n医保局,0,,0,0\n商务局,-1,0,0,0\n",
    )
    message = refused(load_cases_file, config, path)
    assert f"{path} 第3行第1列（部门）：部门“不存在局”不在本中心的部门名单中，请核对名称或请管理员添加" in message
    assert f"{path} 第4行第3列（便民服务）：“x”不是 0 或正整数，请填写件数" in message
    assert f"{path} 第5行：税务局 重复出现（第一次在第 2 行），请删去重复的一行" in message
    assert f"{path} 第6行第3列（便民服务）：单元格为空，没有就填 0" in message
    assert f"{path} 第7行第2列（行政审批）：“-1”不是 0 或正整数" in message
    assert message.startswith(f"{path}：办件量：导入被拒绝，未导入任何数据")
    assert "[" not in message and not re.search(r":\d+:", message)


def test_header_problems(config, tmp_path: Path) -> None:
    path = write(tmp_path, "cases.csv", "部门,行政审批,便民服务,公共服务,其他\n税务局,0,1,2,3\n")
    message = refused(load_cases_file, config, path)
    assert f"{path} 第1行第5列（其他）：未知的列名“其他”" in message
    assert f"{path} 第1行：缺少列：收费" in message


def test_total_row_is_checked_not_used(config, tmp_path: Path) -> None:
    # 临沂市测绘院 is listed but not counted in the hall's totals: its 1120 must not be in 合计.
    path = write(tmp_path, "cases.csv", HEADER + "税务局,0,10,0,0\n临沂市测绘院,0,0,1120,0\n合计,0,10,1120,0\n")
    message = refused(load_cases_file, config, path)
    assert f"{path} 第4行第4列（公共服务）：合计行为 1120，但计入合计的各行相加为 0（差 +1120）" in message
    good = write(tmp_path, "good.csv", HEADER + "税务局,0,10,0,0\n临沂市测绘院,0,0,1120,0\n合计,0,10,0,0\n")
    assert len(load_cases_file(config, good)) == 2


def test_row_total_column_is_checked(config, tmp_path: Path) -> None:
    path = write(tmp_path, "cases.csv", "部门,行政审批,便民服务,公共服务,收费,合计\n税务局,1,2,3,4,11\n")
    assert f"{path} 第2行第6列（合计）：合计 11 不等于本行之和（10，差 +1）" in refused(load_cases_file, config, path)


def test_gbk_csv_and_wrapped_names(config, tmp_path: Path) -> None:
    path = write(tmp_path, "cases.csv", HEADER + "不动产登记 交易中心,0,1756,0,686\n", encoding="gbk")
    [volume] = load_cases_file(config, path)
    assert volume.department == "不动产登记交易中心"


def test_xlsx_rows_named_with_their_sheet(config, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "部门"
    sheet.append(["部门", "好差评 (10 分)", "加分 (10 分)"])
    sheet.append(["税务局", 9, 2])
    sheet.append(["人社局", 12, 0])
    sheet.append(["医保局", 10, 11])
    path = tmp_path / "scores.xlsx"
    book.save(path)
    message = refused(load_scores_file, config, "2020-11", path)
    assert f"{path} 工作表“部门” 第3行第2列（好差评）：12 超出 0–10 分" in message
    assert f"{path} 工作表“部门” 第4行第3列（加分）：11 超出 0–10 分" in message


def test_categories_scored_from_incidents_cannot_be_entered(config, tmp_path: Path) -> None:
    path = write(tmp_path, "scores.csv", "部门,窗口出勤 (30 分),好差评\n税务局,30,9\n")
    message = refused(load_scores_file, config, "2020-11", path)
    assert "第1行第2列（窗口出勤）：列“窗口出勤”由记录的违纪情况计分，不能录入，请删去该列" in message
    path = write(tmp_path, "windows.csv", "窗口号,工作纪律,加分\nB06,40,2\n")
    assert "列“工作纪律”由记录的违纪情况计分" in refused(load_scores_file, config, "2020-11", path)


def test_unknown_window_and_empty_honor_name(config, tmp_path: Path) -> None:
    path = write(tmp_path, "windows.csv", "窗口号,加分\nZ99,1\n")
    assert f"{path} 第2行第1列（窗口号）：窗口号“Z99”不在本中心的窗口名单中，请核对窗口号或请管理员添加" in refused(
        load_scores_file, config, "2020-11", path
    )
    path = write(tmp_path, "honors.csv", "姓名,部门\n,税务局\n")
    assert f"{path} 第2行第1列（姓名）：姓名为空" in refused(load_scores_file, config, "2020-11", path)


def test_unrecognised_table(config, tmp_path: Path) -> None:
    path = write(tmp_path, "what.csv", "名称,数量\n甲,1\n")
    assert "无法识别这张表" in refused(load_scores_file, config, "2020-11", path)


def test_reviews_problems(config, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "reviews.csv",
        "部门,五星,四星,三星,二星,一星,合计,投诉,二次回访率\n税务局,9,0,0,0,1,11,1,120%\n",
    )
    message = refused(load_reviews_file, config, path)
    assert f"{path} 第2行第7列（合计）：合计 11 不等于本行之和（10，差 +1）" in message
    assert f"{path} 第2行第9列（二次回访率）：120% 不在 0% 到 100% 之间" in message


def test_unknown_file_type(config, tmp_path: Path) -> None:
    path = write(tmp_path, "cases.txt", HEADER)
    assert "不支持的文件类型“.txt”" in refused(load_cases_file, config, path)
    assert "文件不存在" in refused(load_cases_file, config, tmp_path / "absent.csv")
