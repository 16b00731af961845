"""`monitor check-config`: validate the hall's configuration and summarise it."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from monitor.cli import app
from monitor.cli.context import state
from monitor.cli.output import out
from monitor.core.calendar import WorkCalendar
from monitor.errors import CalendarError
from monitor.formatting import plain


@app.command("check-config")
def check_config(ctx: typer.Context) -> None:
    """Validate the configuration and print a summary (departments, windows, duty hours, rules)."""
    cli = state(ctx)
    console = out
    if cli.district.district and cli.site is None:
        console.print(f"[green]✓[/] {cli.source} is valid: a district of {len(cli.district.sites)} sites")
        sites = Table("站点", "名称", "主题前缀", "窗口", "摄像头", "签名者", title="站点")
        for site, view in cli.district.site_views.items():
            sites.add_row(
                site,
                view.hall.name,
                view.mqtt.topic_prefix,
                str(len(view.window_list)),
                str(len(view.cameras)),
                "、".join(s.name for s in view.signers),
            )
        console.print(sites)
        console.print("每个站点的详细设置：monitor --site <站点> check-config")
        return
    config = cli.config
    console.print(f"[green]✓[/] {cli.source} is valid")
    console.print(f"{config.hall.name}（{config.hall.office}），时区 {config.hall.timezone}")
    not_counted = [d.name for d in config.departments if not d.counted_in_totals]
    console.print(
        f"派驻部门 {len(config.departments)} 个"
        + (f"（不计入合计：{'、'.join(not_counted)}）" if not_counted else "")
        + f"，窗口 {len(config.window_list)} 个，在册人员 {len(config.staff)} 人"
    )
    seasons = Table("作息", "日期", "时段", title="值班时段")
    for season in config.duty.seasons:
        seasons.add_row(
            season.name,
            f"{season.start} — {season.end}",
            "；".join(f"{s.name} {s.start:%H:%M}–{s.end:%H:%M}" for s in season.sessions),
        )
    console.print(seasons)
    rules = Table("生效日期", "违纪类型", "扣分", "扣减（人员 / 部门）", title="考核规则")
    for rule_set in config.rules:
        for d in rule_set.deductions:
            rules.add_row(
                str(rule_set.effective),
                f"{d.label}（{d.kind}）",
                plain(d.points),
                f"{d.staff_category or '—'} / {d.department_category or '—'}",
            )
    console.print(rules)
    calendar = WorkCalendar(config.calendar, config.duty, config.hall.tz)
    today = dt.datetime.now(config.hall.tz).date()
    covered = [y.year for y in config.calendar.years]
    console.print(
        f"工作日历：chinesecalendar {'启用' if config.calendar.statutory else '停用'}"
        + (f"，配置年份 {covered}" if covered else "")
        + f"，日期调整 {len(config.calendar.overrides)} 条"
    )
    try:
        sessions = calendar.sessions_on(today)
        console.print(f"今天 {today}：" + ("；".join(s.name for s in sessions) if sessions else "非工作日"))
    except CalendarError as exc:  # an uncovered year is a warning here, not a failure
        console.print(f"[yellow]注意[/]：{exc}")
    console.print(f"数据库 {config.database.url}；MQTT {config.mqtt.url}，主题前缀 {config.mqtt.topic_prefix}")
