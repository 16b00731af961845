"""Supervisor alerts (pure): the short Chinese message a floor supervisor reads on the phone."""

from __future__ import annotations

from decimal import Decimal

from monitor.config import MonitorConfig
from monitor.contract import Alert
from monitor.core.incident import Incident
from monitor.formatting import plain


def compose_alert(incident: Incident, points: Decimal, config: MonitorConfig) -> Alert:
    """E.g. "【纪律提醒】11月04日 09:08 C20窗口（应急管理局）迟到8分钟，扣1分。来源：巡查"."""
    local = incident.started_at.astimezone(config.hall.tz)
    rule = config.rule_set_on(local.date()).deduction(incident.kind)
    label = rule.label if rule else incident.kind
    who = incident.department + (f" {incident.staff}" if incident.staff else "")
    if incident.minutes:
        label += f"{incident.minutes}分钟"
    source = "视频" if incident.source.startswith("camera") else "巡查" if incident.source.startswith("patrol") else ""
    message = f"【纪律提醒】{local:%m月%d日 %H:%M} {incident.window}窗口（{who}）{label}，扣{plain(points)}分。"
    if source:
        message += f"来源：{source}"
    return Alert(
        id=f"alert-{incident.id}",
        incident_id=incident.id,
        kind=incident.kind,
        label=rule.label if rule else incident.kind,
        window=incident.window,
        department=incident.department,
        staff=incident.staff,
        points=plain(points),
        started_at=incident.started_at,
        message=message,
    )
