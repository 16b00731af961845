"""Console roles and what each may do: a viewer looks, a supervisor acts on incidents, an admin runs the office.

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
