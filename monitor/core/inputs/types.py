"""The month's input types, as parsed from an import and as read back from the store."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

TOTAL = "合计"
STARS = ("五星", "四星", "三星", "二星", "一星")


@dataclass(frozen=True, slots=True)
class CaseVolume:
    department: str
    counts: dict[str, int]
    """Category -> count, in the configured category order."""


@dataclass(frozen=True, slots=True)
class ReviewCount:
    department: str
    stars: tuple[int, int, int, int, int]
    """五星, 四星, 三星, 二星, 一星."""
    complaints: int | None = None
    follow_up_rate: Decimal | None = None
    follow_up_satisfaction: Decimal | None = None

    @property
    def total(self) -> int:
        return sum(self.stars)


@dataclass(frozen=True, slots=True)
class HonorEntry:
    name: str
    department: str


@dataclass(frozen=True, slots=True)
class ChangeReason:
    department: str
    reason: str
    business: str = ""


@dataclass(frozen=True, slots=True)
class ScoresImport:
    """What a scores file holds; None for a part the file does not have (left as it was)."""

    departments: dict[str, dict[str, Decimal]] | None = None
    windows: dict[str, dict[str, Decimal]] | None = None
    honors: list[HonorEntry] | None = None
    reasons: list[ChangeReason] | None = None


@dataclass(frozen=True, slots=True)
class MonthInputs:
    """Everything imported for one month; None where a part was never imported."""

    month: str
    cases: list[CaseVolume] | None
    reviews: list[ReviewCount] | None
    department_points: dict[str, dict[str, Decimal]] | None
    window_points: dict[str, dict[str, Decimal]] | None
    honors: list[HonorEntry] | None
    reasons: list[ChangeReason] | None
