"""Supervisor alerts (pure): the short Chinese message a floor supervisor reads on the phone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from monitor.config import CameraConfig, MonitorConfig
from monitor.contract import CAMERA_OFFLINE, Alert, Liveness
from monitor.core.incident import Incident, describe_source
from monitor.formatting import plain


def compose_alert(incident: Incident, points: Decimal, config: MonitorConfig) -> Alert:
    """E.g. "【纪律提醒】11月04日 09:08 C20窗口（应急管理局）迟到8分钟，扣1分。来源：巡查 · 张三": the source
    names the camera by its place or the supervisor, so the reader knows where to look or whom to ask."""
    local = incident.started_at.astimezone(config.hall.tz)
    rule = config.rule_set_on(local.date()).deduction(incident.kind)
    label = rule.label if rule else incident.kind
    who = incident.department + (f" {incident.staff}" if incident.staff else "")
    if incident.minutes:
        label += f"{incident.minutes}分钟"
    source = describe_source(incident.source, config)
    when = f"{_where(config)}{local:%m月%d日 %H:%M}"
    message = f"【纪律提醒】{when} {incident.window}窗口（{who}）{label}，扣{plain(points)}分。"
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


def compose_camera_alert(
    camera: CameraConfig,
    state: Liveness,
    since: dt.datetime,
    outage: int,
    config: MonitorConfig,
    reason: str = "",
) -> Alert:
    """A camera out of service in duty hours: nobody watches its windows. E.g. "【设备告警】12月07日 10:02
    A区东侧摄像头服务无响应，A01、A02窗口状态未知，请检查摄像头服务。"; `since` is when it was last heard (or its video
    stopped), `reason` why its video stopped when it says (`dark`). One alert per outage: its id is the outage's."""
    local = since.astimezone(config.hall.tz)
    windows = [zone.window for zone in camera.windows]
    who = f"{camera.name}摄像头" if camera.name else camera.place
    if state == "dark":
        label, check = "摄像头离线", "请检查摄像头及其视频线路"
        what = f"{who}离线（{reason}）" if reason else f"{who}离线"
    else:
        label, check = "摄像头服务无响应", "请检查摄像头服务"
        what = f"{who}服务无响应"
    message = f"【设备告警】{_where(config)}{local:%m月%d日 %H:%M} {what}，{'、'.join(windows)}窗口状态未知，{check}。"
    return Alert(
        id=f"alert-camera-{camera.id}-{outage}",
        kind=CAMERA_OFFLINE,
        label=label,
        started_at=since,
        message=message,
        camera=camera.id,
        place=camera.place,
        windows=windows,
    )


def compose_link_alert(config: MonitorConfig, camera: str, since: dt.datetime, outage: int) -> Alert:
    """A township centre cut off from the district: its cameras fall silent together, and the link is what to check,
    not each camera. E.g. "【设备告警】新河镇便民服务中心 12月07日 10:02 与区平台的连接中断（站点离线），1、2、3窗口
    状态未知，请检查该中心的网络连接；中断期间的记录在连接恢复后补传。" One alert per cut, by the outage of its first
    silent camera (`camera`), naming every window the site's cameras watch."""
    local = since.astimezone(config.hall.tz)
    windows = [zone.window for camera in config.cameras for zone in camera.windows]
    shown = "、".join(windows[:12]) + (f"等{len(windows)}个" if len(windows) > 12 else "")
    message = (
        f"【设备告警】{config.hall.name} {local:%m月%d日 %H:%M} 与区平台的连接中断（站点离线），{shown}窗口状态未知，"
        "请检查该中心的网络连接；中断期间的记录在连接恢复后补传。"
    )
    return Alert(
        id=f"alert-link-{config.site}-{outage}",
        kind=CAMERA_OFFLINE,
        label="站点离线",
        started_at=since,
        message=message,
        camera=camera,
        place=config.hall.name,
        windows=windows,
    )


def _where(config: MonitorConfig) -> str:
    """The site, in a district's alerts (one group may hear every centre): "新河镇便民服务中心 "; "" in a hall's own."""
    return f"{config.hall.name} " if config.in_district else ""
