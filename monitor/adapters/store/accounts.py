"""Console accounts, login sessions, the audit trail and incident reviews.

The console's own records: who may log in, who is logged in, what each person did. Facts that cost
or restore points (incidents, dismissals, leave) are not written here: the recorder writes them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from monitor.adapters.store.sites import site_of
from monitor.adapters.store.tables import AuditRow, LoginSessionRow, ReviewRow, UserRow


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: str
    active: bool
    sites: str = ""
    """The sites it may see, as stored (monitor.core.roles.sites_of); "" for every site."""


def token_digest(token: str) -> str:
    """What the store keeps of a session token: its sha256, so a copy of the database logs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    session: Session, name: str, role: str, password_hash: str, by: str, now: dt.datetime, sites: str = ""
) -> None:
    """A new account of the sites `sites` (as stored; "" for every site); ValueError when the name is taken. The
    caller commits."""
    if session.get(UserRow, name) is not None:
        raise ValueError(f"用户 {name} 已存在")
    session.add(UserRow(name=name, role=role, password_hash=password_hash, created_at=now, created_by=by, sites=sites))


def set_password(session: Session, name: str, password_hash: str) -> None:
    row = session.get(UserRow, name)
    if row is None:
        raise LookupError(f"没有用户 {name}")
    row.password_hash = password_hash
    session.add(row)
    session.exec(delete(LoginSessionRow).where(col(LoginSessionRow.user) == name))  # type: ignore[call-overload]


def set_active(session: Session, name: str, active: bool) -> None:
    row = session.get(UserRow, name)
    if row is None:
        raise LookupError(f"没有用户 {name}")
    row.active = active
    session.add(row)
    if not active:
        session.exec(delete(LoginSessionRow).where(col(LoginSessionRow.user) == name))  # type: ignore[call-overload]


def set_sites(session: Session, name: str, sites: str) -> None:
    """Give the account the sites `sites` (as stored; "" for every site); LookupError when there is no such account.
    Its logins end, as with a new password: the person logs in again to the sites they now have, and no login opened
    under the old ones (a page of a site it lost, with its forms) carries on. The caller commits."""
    row = session.get(UserRow, name)
    if row is None:
        raise LookupError(f"没有用户 {name}")
    row.sites = sites
    session.add(row)
    session.exec(delete(LoginSessionRow).where(col(LoginSessionRow.user) == name))  # type: ignore[call-overload]


def user_row(session: Session, name: str) -> UserRow | None:
    return session.get(UserRow, name)


def accounts(session: Session) -> list[Account]:
    rows = session.exec(select(UserRow).order_by(col(UserRow.created_at)))
    return [Account(r.name, r.role, r.active, r.sites) for r in rows]


def active_role(session: Session, name: str) -> str | None:
    """The role of an active account, None when there is no such active account."""
    row = session.get(UserRow, name)
    return row.role if row is not None and row.active else None


def active_account(session: Session, name: str) -> Account | None:
    """An active account, None when there is no such active account."""
    row = session.get(UserRow, name)
    return Account(row.name, row.role, row.active, row.sites) if row is not None and row.active else None


def has_users(session: Session) -> bool:
    return session.exec(select(func.count()).select_from(UserRow).where(col(UserRow.active))).one() > 0


def open_session(
    session: Session, user: str, token: str, csrf: str, address: str, now: dt.datetime, ttl: dt.timedelta
) -> None:
    session.exec(delete(LoginSessionRow).where(col(LoginSessionRow.expires_at) < now))  # type: ignore[call-overload]
    session.add(
        LoginSessionRow(
            token_hash=token_digest(token),
            user=user,
            csrf=csrf,
            address=address[:64],
            created_at=now,
            expires_at=now + ttl,
        )
    )


def live_session(session: Session, token: str, now: dt.datetime) -> tuple[Account, str] | None:
    """The account and CSRF token of an unexpired login, None otherwise (or when the account was disabled)."""
    row = session.get(LoginSessionRow, token_digest(token))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(UserRow, row.user)
    if user is None or not user.active:
        return None
    return Account(user.name, user.role, user.active, user.sites), row.csrf


def close_session(session: Session, token: str) -> None:
    session.exec(delete(LoginSessionRow).where(col(LoginSessionRow.token_hash) == token_digest(token)))  # type: ignore[call-overload]


def set_flash(session: Session, digest: str, kind: str, text: str) -> None:
    """Keep a message for the next page the login (its token's digest) sees; it replaces one not yet shown."""
    row = session.get(LoginSessionRow, digest)
    if row is not None:
        row.flash_kind, row.flash = kind, text
        session.add(row)


def take_flash(session: Session, digest: str) -> tuple[str, str] | None:
    """The login's message, once: it is cleared as it is read."""
    row = session.get(LoginSessionRow, digest)
    if row is None or not row.flash:
        return None
    message = (row.flash_kind, row.flash)
    row.flash_kind, row.flash = "", ""
    session.add(row)
    return message


def audit(
    session: Session,
    *,
    at: dt.datetime,
    user: str,
    action: str,
    outcome: str,
    target: str = "",
    detail: str = "",
    address: str = "",
    site: str | None = None,
) -> None:
    """One entry of the audit trail, under the session's site; or under `site`, on a session that sees every site (an
    entry about an account, kept under the account's site: monitor.services.audit_log.entry_site). The caller
    commits."""
    kept_to = site_of(session)
    if site is not None and kept_to not in (None, site):
        raise ValueError(f"an audit entry of site {site} written through a session kept to site {kept_to}")
    row = AuditRow(
        at=at, user=user[:64], action=action, target=target[:128], outcome=outcome, detail=detail, address=address[:64]
    )
    if site is not None:
        row.site = site
    session.add(row)


def login_failures(session: Session, name: str, address: str, since: dt.datetime) -> tuple[int, int, int]:
    """Failed logins since `since`: (for account `name` from `address`, for `name`, from `address`); of every site
    on a session that sees every site (a district's failed logins are kept under each account's site)."""

    def count(*where: object) -> int:
        query = (
            select(func.count())
            .select_from(AuditRow)
            .where(
                col(AuditRow.action) == "login", col(AuditRow.outcome) == "failed", col(AuditRow.at) >= since, *where
            )
        )
        return int(session.exec(query).one())

    by_name, by_address = col(AuditRow.user) == name, col(AuditRow.address) == address
    return count(by_name, by_address), count(by_name), count(by_address)


def audit_entries(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    user: str = "",
    action: str = "",
    sites: Sequence[str] = (),
) -> list[AuditRow]:
    """The newest entries first, of the user and action asked (any when ""), of `sites` (every site the session sees
    when empty)."""
    query = select(AuditRow)
    if sites:
        query = query.where(col(AuditRow.site).in_(sites))
    if user:
        query = query.where(col(AuditRow.user) == user)
    if action:
        query = query.where(col(AuditRow.action) == action)
    return list(
        session.exec(query.order_by(col(AuditRow.at).desc(), col(AuditRow.id).desc()).offset(offset).limit(limit))
    )


def mark_reviewed(session: Session, incident_id: str, by: str, now: dt.datetime) -> bool:
    """Mark an incident reviewed; False when it already was (the first reviewer is kept)."""
    if session.get(ReviewRow, incident_id) is not None:
        return False
    session.add(ReviewRow(incident_id=incident_id, by=by, at=now))
    return True


def reviews_for(session: Session, incident_ids: Iterable[str]) -> dict[str, ReviewRow]:
    ids = list(incident_ids)
    if not ids:
        return {}
    return {r.incident_id: r for r in session.exec(select(ReviewRow).where(col(ReviewRow.incident_id).in_(ids)))}
