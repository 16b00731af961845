"""Numbers as the hall's notices print them."""

from __future__ import annotations

from decimal import Decimal


def plain(value: Decimal | int) -> str:
    """Shortest decimal: 2, 1.2, 0 (as the seed prints 加分 and deductions)."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


def storable(text: str, limit: int) -> str:
    """`text` as both databases store it: no NUL (PostgreSQL refuses it), no lone surrogate (not UTF-8), at
    most `limit` characters. For what the recorder keeps about a refused message, whose text is anyone's."""
    clean = text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
    if len(clean) <= limit:
        return clean
    return clean[: limit - 1] + "…" if limit > 0 else ""
