"""Console roles and what each may do: a viewer looks, a supervisor acts on incidents, an admin runs the office;
and where: an account of a township centre sees and acts on its centre only, a district account on every site.

Each role may do everything the roles below it may. The console checks these on the server for every
request; hiding a button is only a courtesy.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["viewer", "supervisor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
ROLE_LABELS: dict[Role, str] = {"viewer": "查看员", "supervisor": "督查员", "admin": "管理员"}
"""How the console names each role."""

_RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES)}


def is_role(name: str) -> bool:
    return name in _RANK


def may(role: str, needed: Role) -> bool:
    """Whether an account of `role` may do what needs `needed`; an unknown role may do nothing."""
    return role in _RANK and _RANK[role] >= _RANK[needed]


def sites_of(scope: str) -> tuple[str, ...]:
    """The sites an account's scope names (as stored: comma-separated ids); () for every site."""
    return tuple(part for part in (p.strip() for p in scope.split(",")) if part)


def scope_of(sites: tuple[str, ...] | list[str]) -> str:
    """An account's scope as stored, from its sites; "" (every site) for none."""
    return ",".join(dict.fromkeys(s.strip() for s in sites if s.strip()))


def may_site(scope: str, site: str) -> bool:
    """Whether an account of `scope` may see and act on `site`: a centre's account its own centre(s), a district
    account (an empty scope) every site."""
    sites = sites_of(scope)
    return not sites or site in sites
