"""The audit log (操作记录) as an office reads it: each entry's action, object and detail in words.

An entry keeps what the console wrote when it happened: the action's name, its target (an incident's or a leave's
id, an account's name, a notice's kind and period, an import's month, part and file, the address of a refused
request) and a detail. The words are made here when the log is read, from the target and what the store knows of
it now, so old entries read as well as new ones: an incident as its window, person, kind and time (A02 张三 迟到
12月1日 09:12), a leave as its window, person, kind and span, a notice as its 文号 and title, a dismissal with its
reason. A target that names nothing known is shown as it was written.

Each site keeps its own log (the audit table is site-keyed): what was done at a site (a review, a leave, an issue,
a refusal) is kept under that site. An entry about an account (a login, a failed or refused one, a logout; the
account added, enabled, disabled, its password reset, its sites changed, in the console or by `monitor user`) is
kept under the account's site (`entry_site`; a change of sites under the sites it now has): a centre's account's
under its (first) centre, a district account's under DISTRICT_ENTRIES, which no site's log shows and only district
accounts read (`sites_read`). So a centre's admin sees his own staff's logins and no other centre's, and the hall's
admin not the district office's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from monitor.adapters.store import ledger
from monitor.adapters.store.audit_targets import incidents_named, leaves_named
from monitor.adapters.store.incidents import as_incident, decisions_for
from monitor.adapters.store.leaves import leave_history
from monitor.adapters.store.tables import AuditRow, IncidentRow, LeaveRow
from monitor.config import MonitorConfig
from monitor.core.notices.frame import doc_number_text
from monitor.core.periods import month_words, span_words, week_words
from monitor.core.roles import ROLE_LABELS, sites_of
from monitor.services.imports import PART_LABELS
from monitor.services.review import incident_words

ACTIONS = {
    "login": "登录",
    "logout": "退出",
    "review": "审核",
    "review_many": "批量审核",
    "dismiss": "撤销",
    "reinstate": "恢复扣分",
    "patrol": "巡查发现",
    "leave": "请假登记",
    "leave_withdraw": "撤销请假",
    "leave_change": "修改请假",
    "import": "数据导入",
    "issue": "印发通报",
    "user_add": "新增账号",
    "user_disable": "停用账号",
    "user_enable": "启用账号",
    "user_passwd": "重置密码",
    "user_sites": "修改站点",
    "csrf": "表单令牌错误",
    "forbidden": "越权操作",
}
"""Each action the log keeps, as the page names it (and its filter offers it)."""
OUTCOMES = {"ok": "成功", "refused": "被拒绝", "failed": "失败"}

_NOTICE_TITLES = {"monthly": "{period}考核通报", "weekly": "{period}工作纪律通报"}
_VERBS = {
    "review": "标记已审核",
    "dismiss": "撤销",
    "reinstate": "恢复扣分",
    "withdraw": "撤销请假",
    "change": "修改请假",
}
"""A refused request's last path segment, as the action it attempted."""
_PAGES = (
    ("/incidents/review", "批量标记已审核"),
    ("/incidents", "违纪审核"),
    ("/patrol", "登记巡查发现"),
    ("/leave", "请假登记"),
    ("/inputs", "数据导入"),
    ("/notices", "印发通报"),
    ("/users", "账号管理"),
    ("/logout", "退出"),
)
"""A refused request's address, by its start, as the page the person was on."""
_TOKEN = re.compile(r"[\w.:-]{1,64}", re.ASCII)
_UNRECORDED = {"patrol": "未记录的巡查发现", "leave": "未记录的请假"}
"""A form's record id the recorder never recorded (refused, or not confirmed), by its prefix."""
_RECORD_ID = re.compile(r"^(patrol|leave)-[0-9a-f]{6,}$")
_IMPORT = re.compile(r"^(\d{4}-\d{2}) (cases|reviews|scores) (.+)$")
_NOTICE = re.compile(r"^(weekly|monthly) (\d{4}-(?:W\d{2}|\d{2}))$")
_MONTH_WORDS = re.compile(r"^(\d{4})年(\d{1,2})月(?:月度通报|月报|考核通报)$")
_WEEK_WORDS = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日至.*(?:周通报|周报|工作纪律通报)$")
DISTRICT_ENTRIES = "_district"
"""The site an entry about a district account (one of every site) is kept under. Never a site's id (those start with
a letter, monitor.config.sites.SITE_ID), so no site's log shows it."""
DECISION_SLACK = dt.timedelta(minutes=5)
"""How long after a decision was made the console may have written its audit entry (it waits for the receipt)."""


def entry_site(config: MonitorConfig, scope: str | None) -> str:
    """The site an entry about an account of `scope` (its sites as stored; None for a name no account has) is kept
    under, in the whole configuration `config`: a single hall's own site; in a district the account's first site,
    or DISTRICT_ENTRIES for a district account (and for a name no account has: no site's)."""
    if not config.district:
        return config.site
    known = {site.id for site in config.sites}
    return next((site for site in sites_of(scope or "") if site in known), DISTRICT_ENTRIES)


def sites_read(config: MonitorConfig, scope: str, site: str) -> tuple[str, ...]:
    """Whose entries an admin of `scope` reads on the log of `site` (the site the page is of), in the whole
    configuration `config`: the site's; a district account's also those about district accounts."""
    return (site, DISTRICT_ENTRIES) if config.district and not sites_of(scope) else (site,)


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One entry of the audit log as the page shows it."""

    at: dt.datetime
    user: str
    action: str
    target: str
    outcome: str
    detail: str
    address: str
    failed: bool
    """Refused or failed: drawn so that it stands out."""
    district: bool = False
    """About a district account (DISTRICT_ENTRIES), not of the site whose log it is on."""


def describe(session: Session, config: MonitorConfig, rows: Sequence[AuditRow], now: dt.datetime) -> list[AuditLine]:
    """`rows` in words, in their order, as read at `now`: a date of another year than now's names its year."""
    tokens = {t for row in rows for t in _TOKEN.findall(row.target)}
    year = now.astimezone(config.hall.tz).year
    words = _Words(config, year, incidents_named(session, tokens), leaves_named(session, tokens))
    return [_line(session, words, row) for row in rows]


class _Words:
    """How the log names what its entries name: incidents, leave, notices, requests."""

    def __init__(
        self, config: MonitorConfig, year: int, incidents: dict[str, IncidentRow], leaves: dict[str, LeaveRow]
    ) -> None:
        self.config = config
        self.year = year
        """The year the log is read in: dates of another year name theirs."""
        self.incidents = incidents
        self.leaves = leaves

    def person(self, window: str) -> str:
        staff = self.config.staff_by_window.get(window)
        return staff.name if staff else ""

    def incident(self, row: IncidentRow) -> str:
        """A02 张三 迟到 12月1日 09:12, as the review queue names it (2020年12月1日 when read in another year)."""
        return incident_words(as_incident(row, dismissed=False), self.config, year=self.year)

    def leave(self, row: LeaveRow) -> str:
        """A02 张三 请假 12月1日 09:00 至 13:00 (as granted; span_words, with the years another year needs)."""
        span = span_words(row.granted_start, row.granted_end, self.config.hall.tz, year=self.year)
        parts = [row.window, self.person(row.window), row.kind, span]
        return " ".join(p for p in parts if p)

    def notice(self, session: Session, kind: str, period: str) -> str:
        """临东政管办发〔2020〕20号 2020年11月考核通报 (the title alone before it has a 文号)."""
        named = week_words(period) if kind == "weekly" else month_words(period)
        title = _NOTICE_TITLES[kind].format(period=named)
        row = ledger.entry(session, kind, period)
        if row is None or row.doc_year is None or row.doc_number is None:
            return title
        return f"{doc_number_text(self.config, row.doc_year, row.doc_number)} {title}"

    def named(self, text: str) -> str:
        """`text` with each incident or leave id in it replaced by its words; a leave's words include its window,
        so a window written just before its id is not repeated."""
        out: list[str] = []
        for token in text.split():
            if token in self.incidents:
                out.append(self.incident(self.incidents[token]))
            elif token in self.leaves:
                leave = self.leaves[token]
                if out and out[-1] == leave.window:
                    out.pop()
                out.append(self.leave(leave))
            elif found := _RECORD_ID.match(token):
                out.append(_UNRECORDED[found.group(1)])
            else:
                out.append(token)
        return " ".join(out)

    def request(self, path: str) -> str:
        """A refused request's address as what the person tried: 撤销 A02 张三 迟到 12月1日 09:12; 印发通报."""
        segments = [s for s in path.split("/") if s]
        verb = _VERBS.get(segments[-1], "") if len(segments) >= 3 else ""
        if verb and segments[0] in ("incidents", "leave"):
            subject = self.named(segments[1])
            return f"{verb} {subject}" if subject != segments[1] else verb
        if len(segments) == 4 and segments[0] == "notices" and segments[3] == "issue":
            kind, period = segments[1], segments[2]
            if kind in _NOTICE_TITLES and _NOTICE.match(f"{kind} {period}"):
                return f"印发 {_NOTICE_TITLES[kind].format(period=self._period(kind, period))}"
        return next((label for start, label in _PAGES if path.startswith(start)), "控制台的其他操作")

    @staticmethod
    def _period(kind: str, period: str) -> str:
        return week_words(period) if kind == "weekly" else month_words(period)


def _line(session: Session, words: _Words, row: AuditRow) -> AuditLine:
    return AuditLine(
        at=row.at,
        user=row.user,
        action=ACTIONS.get(row.action, "其他操作"),
        target=_target(session, words, row),
        outcome=OUTCOMES.get(row.outcome, row.outcome),
        detail=_detail(session, words, row),
        address=row.address,
        failed=row.outcome != "ok",
        district=row.site == DISTRICT_ENTRIES,
    )


def _target(session: Session, words: _Words, row: AuditRow) -> str:
    target = row.target.strip()
    if not target:
        return ""
    if row.action in ("forbidden", "csrf") and target.startswith("/"):
        return words.request(target)
    if row.action == "issue":
        notice = _notice_of(target)
        return words.notice(session, *notice) if notice else target
    if row.action == "import" and (found := _IMPORT.match(target)):
        month, part, name = found.groups()
        return f"{month_words(month)}{PART_LABELS[part]}（{name}）"
    return words.named(target)


def _notice_of(target: str) -> tuple[str, str] | None:
    """The notice (kind, period) an issue entry names, as `weekly 2020-W49` or in words (2020年11月月度通报)."""
    if found := _NOTICE.match(target):
        return found.group(1), found.group(2)
    if found := _MONTH_WORDS.match(target):
        return "monthly", f"{int(found.group(1)):04d}-{int(found.group(2)):02d}"
    if found := _WEEK_WORDS.match(target):
        try:
            monday = dt.date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        except ValueError:
            return None
        year, week, _ = monday.isocalendar()
        return "weekly", f"{year}-W{week:02d}"
    return None


def _detail(session: Session, words: _Words, row: AuditRow) -> str:
    """The entry's detail, with what it leaves out: a dismissal's or reinstatement's reason, a leave change's
    reason, an account's role in words."""
    detail = row.detail
    if row.action in ("user_add",) and detail in ROLE_LABELS:
        return ROLE_LABELS[detail]  # type: ignore[index]
    reason = ""
    if row.action in ("dismiss", "reinstate") and row.outcome == "ok" and row.target in words.incidents:
        reason = _decision_reason(session, row, "dismissed" if row.action == "dismiss" else "reinstated")
    elif row.action in ("leave_withdraw", "leave_change") and row.outcome == "ok":
        leave_id = next((t for t in row.target.split() if t in words.leaves), "")
        reason = _change_reason(session, row, leave_id) if leave_id else ""
    if reason and reason not in detail:
        return f"{detail}；理由：{reason}" if detail else f"理由：{reason}"
    return detail


def _decision_reason(session: Session, row: AuditRow, action: str) -> str:
    """The reason of the incident's decision this entry recorded: the last of its kind decided by then."""
    made = [d for d in decisions_for(session, row.target) if d.action == action]
    by_then = [d for d in made if d.decided_at <= row.at + DECISION_SLACK]
    chosen = by_then[-1] if by_then else (made[0] if made else None)
    return chosen.reason if chosen else ""


def _change_reason(session: Session, row: AuditRow, leave_id: str) -> str:
    action = "withdraw" if row.action == "leave_withdraw" else "change"
    made = [c for c in leave_history(session, leave_id) if c.action == action]
    by_then = [c for c in made if c.decided_at <= row.at + DECISION_SLACK]
    chosen = by_then[-1] if by_then else (made[0] if made else None)
    return chosen.reason if chosen else ""
