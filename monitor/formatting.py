"""Numbers as the hall's notices print them."""

from __future__ import annotations

from decimal import Decimal


def plain(value: Decimal | int) -> str:
    """Shortest decimal: 2, 1.2, 0 (as the seed prints 加分 and deductions)."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text
