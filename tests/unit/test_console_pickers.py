"""Picking a window by typing (the leave and patrol forms, the queue's filter), and leave's time in words."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from monitor.console.pickers import picked_window, window_entries, window_entry
from monitor.services.leave_views import span_words

TZ = ZoneInfo("Asia/Shanghai")


def test_each_window_is_offered_with_its_person_and_department(hedong):
    entries = window_entries(hedong)
    assert len(entries) == len(hedong.window_list) == 93
    person = hedong.staff_by_window["C11"].name
    assert window_entry(hedong, "C11") == f"C11 {person}（{hedong.window_by_id['C11'].label}）"
    nobody = next(w for w in hedong.window_list if w.id not in hedong.staff_by_window)
    assert window_entry(hedong, nobody.id) == f"{nobody.id}（{nobody.label}）"  # no blank name


def test_a_window_is_read_back_from_an_entry_an_id_or_a_name(hedong):
    person = hedong.staff_by_window["C11"].name
    assert picked_window(hedong, window_entry(hedong, "C11")) == "C11"
    assert picked_window(hedong, " c11 ") == "C11"
    assert picked_window(hedong, person) == "C11"
    assert picked_window(hedong, "A05（行政审批服务局）") == "A05"
    for nothing in ("", "Z99", "王五", "（行政审批服务局）"):
        assert picked_window(hedong, nothing) is None


def test_leave_time_in_words():
    def at(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2020) -> dt.datetime:
        return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)

    assert span_words(at(1, 9), at(1, 18), TZ) == "12月1日 09:00 至 18:00"
    assert span_words(at(1, 9), at(3, 18, 30), TZ) == "12月1日 09:00 至 12月3日 18:30"
    assert span_words(at(31, 9), at(2, 12, month=1, year=2021), TZ) == "12月31日 09:00 至 2021年1月2日 12:00"
    assert span_words(at(1, 9).astimezone(dt.UTC), at(1, 10).astimezone(dt.UTC), TZ) == "12月1日 09:00 至 10:00"
    # Read in a given year: the start's year when it is another, the end's whenever it is not the start's.
    assert span_words(at(1, 9), at(1, 18), TZ, year=2020) == "12月1日 09:00 至 18:00"
    assert span_words(at(1, 9), at(3, 18), TZ, year=2026) == "2020年12月1日 09:00 至 12月3日 18:00"
    far = at(31, 18, year=2099)
    assert span_words(at(8, 9, year=2026), far, TZ, year=2026) == "12月8日 09:00 至 2099年12月31日 18:00"
    assert span_words(at(8, 9), far, TZ, year=2026) == "2020年12月8日 09:00 至 2099年12月31日 18:00"
