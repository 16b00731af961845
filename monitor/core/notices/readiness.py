"""Whether a notice is ready for its 文号 (pure).

A 文号 is given only to a notice the office stands behind: every input imported and every charge in its period
reviewed. What is still open is listed; an issuer may issue anyway only by confirming it with a reason, and
the register keeps both. Warnings (a charge whose person nobody knows) are shown to the issuer before issuing
but hold nothing back: the clerk may fill the name in by hand.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from monitor.config import MonitorConfig
from monitor.core.incident import Incident
from monitor.errors import InputError


@dataclass(frozen=True, slots=True)
class Readiness:
    missing: tuple[str, ...] = ()
    """Inputs the notice lacks (it says 尚未导入 where they would be)."""
    awaiting_review: tuple[str, ...] = ()
    """Charges of the period no supervisor has reviewed yet (待审核)."""
    warnings: tuple[str, ...] = ()
    """What the issuer should know but need not confirm, such as a charge without a person."""

    @property
    def ready(self) -> bool:
        return not (self.missing or self.awaiting_review)

    def lines(self) -> list[str]:
        """The open items as the issuer reads them, one line each."""
        return [*(f"缺少：{m}" for m in self.missing), *(f"待审核：{a}" for a in self.awaiting_review)]

    def notes(self) -> list[str]:
        return [f"提醒：{w}" for w in self.warnings]

    def confirmed(self, reason: str) -> str:
        """What the register keeps of an issue confirmed with open items: the items and the reason."""
        return "；".join(self.lines()) + f"。确认理由：{reason}"


class NotReady(InputError):
    """Issuing refused: the notice has open items and the issuer did not confirm them with a reason."""

    def __init__(self, what: str, readiness: Readiness) -> None:
        self.readiness = readiness
        super().__init__(f"{what}尚不能印发：" + "；".join(readiness.lines()) + "。补齐后再印发，或写明理由确认印发")


def awaiting_review(
    config: MonitorConfig, incidents: Sequence[Incident], reviewed: Collection[str], tz: ZoneInfo
) -> tuple[str, ...]:
    """The standing charges among `incidents` that have not been reviewed, as 12月1日 A01窗口迟到."""
    labels = {d.kind: d.label for r in config.rules for d in r.deductions}
    out = []
    for incident in sorted(incidents, key=lambda i: (i.started_at, i.window)):
        if incident.dismissed or incident.id in reviewed:
            continue
        local = incident.started_at.astimezone(tz)
        out.append(
            f"{local.month}月{local.day}日{local:%H:%M} {incident.window}窗口{labels.get(incident.kind, incident.kind)}"
        )
    return tuple(out)
