"""Figures as the seed prints them: shortest decimals, one-decimal percentages without ".0"."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from monitor.formatting import plain


def one_decimal(value: Decimal) -> str:
    """102.0, 99.2 (Attachment 1's 得分)."""
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def percent(value: Decimal) -> str:
    """A percentage rounded to one decimal, a trailing ".0" dropped: 16, 40.5, 99.9 (no % sign)."""
    return plain(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def ratio_percent(part: int | Decimal, whole: int | Decimal) -> str:
    return percent(Decimal(part) * 100 / Decimal(whole))


def growth(this: int, last: int) -> Decimal | None:
    """Month-over-month change in percent; None when last month had none (no growth figure)."""
    if last == 0:
        return None
    return (Decimal(this) - Decimal(last)) * 100 / Decimal(last)


def growth_phrase(this: int, last: int) -> str:
    """增长16% / 减少72.6% / 持平 / 新增 (last month zero) / 持平 (both zero)."""
    change = growth(this, last)
    if change is None:
        return "新增" if this else "持平"
    shown = percent(abs(change))
    if shown == "0":
        return "持平"
    return f"{'增长' if change > 0 else '减少'}{shown}%"
