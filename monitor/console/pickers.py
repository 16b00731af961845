"""Picking a window by typing: its id, its person or its department, from the entries a list offers.

A hall of 93 windows is not a select of 93 options: the forms give a text field with a datalist of entries
("A04 王某某（行政审批服务局）", or "A05（行政审批服务局）" where nobody is rostered), which the browser filters as
the person types; the server reads the window back from the entry, the id alone, or the person's name.
"""

from __future__ import annotations

import re

from monitor.config import MonitorConfig

_ID = re.compile(r"[^\s（(]+")


def window_entry(config: MonitorConfig, window: str) -> str:
    """How a window is offered: its id, its person, its department (A04 王某某（行政审批服务局））."""
    found = config.window_by_id.get(window)
    staff = config.staff_by_window.get(window)
    name = f" {staff.name}" if staff else ""
    department = staff.department if staff and staff.department else found.label if found else ""
    return f"{window}{name}（{department}）" if department else f"{window}{name}"


def window_entries(config: MonitorConfig) -> list[str]:
    """Every window's entry, in the configured order."""
    return [window_entry(config, w.id) for w in config.window_list]


def picked_window(config: MonitorConfig, text: str) -> str | None:
    """The window an entry, an id (any case) or a rostered person's name names; None when none does."""
    text = text.strip()
    if not text:
        return None
    first = _ID.match(text)
    token = first.group(0) if first else text
    for candidate in (token, token.upper()):
        if candidate in config.window_by_id:
            return candidate
    people = [s.window for s in config.staff if s.name == text]
    return people[0] if len(people) == 1 else None
