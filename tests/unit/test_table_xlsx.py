"""A console table as an .xlsx workbook (monitor/adapters/documents/table_xlsx.py): what it holds, read back with
openpyxl as an office's spreadsheet would read it."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from monitor.adapters.documents.table_xlsx import Column, table_xlsx


def test_a_table_keeps_its_title_notes_header_and_rows_with_figures_as_numbers():
    data = table_xlsx(
        "2020年12月1日窗口在岗率：A/B?",
        [Column("窗口"), Column("值守（小时）", "0.0"), Column("在岗率", "0.0%"), Column("时间", "yyyy-mm-dd hh:mm")],
        [
            ["C25", 6.5, 0.25, dt.datetime(2020, 12, 1, 9, 33)],
            ["A01", Decimal("39.5"), "未观测", None],
        ],
        notes=["全厅在岗率：73.9%"],
    )
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "2020年12月1日窗口在岗率：A/B?" and rows[1][0] == "全厅在岗率：73.9%"
    assert rows[3] == ("窗口", "值守（小时）", "在岗率", "时间")
    assert rows[4] == ("C25", 6.5, 0.25, dt.datetime(2020, 12, 1, 9, 33))
    assert rows[5] == ("A01", 39.5, "未观测", None)
    assert sheet["C5"].number_format == "0.0%" and sheet["C5"].alignment.horizontal == "right"
    assert sheet["C6"].alignment.horizontal == "left"  # text in a figures' column stays text
    assert sheet.freeze_panes == "A5" and sheet.auto_filter.ref == "A4:D6"
    assert "/" not in sheet.title and "?" not in sheet.title  # Excel refuses them in a sheet's name


def test_a_table_without_notes_or_rows():
    sheet = load_workbook(io.BytesIO(table_xlsx("违纪记录", [Column("时间")], []))).active
    assert list(sheet.iter_rows(values_only=True)) == [("违纪记录",), ("时间",)]
