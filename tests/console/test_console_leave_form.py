"""登记 refused keeps what was typed: whether the page refuses it (no such window, the end before the start) or the
form model does (a time that is no time), the leave page comes back with the window, kind, times and reason as they
were sent (a time that is no time falls back to the usual default), never with the CSRF token in its address."""

from __future__ import annotations

import html
import re
import urllib.parse

import pytest

from monitor.config import MonitorConfig
from tests.support.console import SUPERVISOR, console_hall, flashes, form_token, logged_in, running_console

pytestmark = pytest.mark.slow


@pytest.fixture
def hall(tmp_path, one_broker) -> MonitorConfig:
    return console_hall(tmp_path, mqtt_url=one_broker).config


def _field(page: str, name: str) -> str:
    """The value the leave form's input `name` shows."""
    form = re.search(r'<form method="post" action="/leave" .*?</form>', page, re.S)
    assert form, "no 登记 form on the page"
    found = re.search(rf'<input [^>]*name="{name}"[^>]*>', form.group(0))
    assert found, f"no {name} field in the form"
    value = re.search(r'value="([^"]*)"', found.group(0))
    return html.unescape(value.group(1)) if value else ""


def _kind(page: str) -> str:
    selected = re.findall(r"<option selected>([^<]+)</option>", page)
    assert len(selected) == 1, selected
    return selected[0]


def test_a_refused_leave_comes_back_with_what_was_typed(hall):
    entry = f"C11 {hall.staff_by_window['C11'].name}（{hall.window_by_id['C11'].label}）"
    reason = '市局培训 <b>"审批单" & 第 3 号</b>'
    with running_console(hall) as base:
        supervisor = logged_in(base, SUPERVISOR)

        def refused(**typed: str) -> str:
            """Sends 登记 from the leave page with `typed`: the page it is sent back to (which shows it once)."""
            page = supervisor.get("/leave").text
            leave_id = re.search(r'name="id" value="(leave-[^"]+)"', page).group(1)
            data = {"csrf": form_token(page), "id": leave_id} | typed
            answer = supervisor.post("/leave", data=data, headers={"referer": f"{base}/leave?window=old&reason=old"})
            assert answer.status_code == 303
            where = answer.headers["location"]
            assert where.startswith("/leave?") and "csrf" not in urllib.parse.parse_qs(
                urllib.parse.urlsplit(where).query
            )
            assert form_token(page) not in urllib.parse.unquote(where)
            return supervisor.get(where).text

        # The page's own refusal: the end before the start.
        typed = {"window": entry, "kind": "公出", "start": "2020-11-03T12:00", "end": "2020-11-03T09:00"}
        page = refused(**typed, reason=reason)
        assert flashes(page) == ["未保存：结束时间必须晚于开始时间"]
        shown = {name: _field(page, name) for name in ("window", "start", "end", "reason")}
        assert shown == {"window": entry, "start": "2020-11-03T12:00", "end": "2020-11-03T09:00", "reason": reason}
        assert _kind(page) == "公出"

        # No such window: what was typed is shown again for correcting.
        page = refused(window="无此人", kind="请假", start="2020-11-03T09:00", end="2020-11-03T12:00")
        assert flashes(page) == ["未保存：没有找到窗口“无此人”，请从列表中选择窗口或人员"]
        assert (_field(page, "window"), _field(page, "reason"), _kind(page)) == ("无此人", "", "请假")
        assert (_field(page, "start"), _field(page, "end")) == ("2020-11-03T09:00", "2020-11-03T12:00")

        # The form model's refusal (a start that is no time): the rest kept, the start back to its default.
        page = refused(window=entry, kind="公出", start="明天上午", end="2020-11-03T12:00", reason=reason)
        assert flashes(page) == ["未保存：开始时间格式不对：如 2020-11-03 09:00"]
        assert (_field(page, "window"), _field(page, "reason"), _kind(page)) == (entry, reason, "公出")
        assert _field(page, "end") == "2020-11-03T12:00"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", _field(page, "start"))

        # A blank page after all: nothing kept, the usual defaults; a kind the form does not take is 请假.
        page = supervisor.get("/leave?kind=事假&start=2099-13-01T09:00").text
        assert (_field(page, "window"), _field(page, "reason"), _kind(page)) == ("", "", "请假")
        assert _field(page, "start") != "2099-13-01T09:00"
