"""Dates as sources meet them: W3C/ISO 8601 datetimes, plain dates, and "now" for checkpoints."""

from __future__ import annotations

from datetime import datetime, timezone


def parse_when(text: str | None) -> datetime | None:
    """An aware UTC datetime from ``2024``, ``2024-01-02``, ``2024-01-02T10:00Z``,
    ``2024-01-02T10:00:00.5+01:00`` or ``2024-01-02 10:00:00``; None when unreadable."""
    if not text:
        return None
    text = text.strip()
    if len(text) == 4 and text.isdigit():
        text += "-01-01"
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def older_than(text: str | None, since: str | None) -> bool:
    """True when both dates are readable and ``text`` is strictly before ``since``."""
    a, b = parse_when(text), parse_when(since)
    return a is not None and b is not None and a < b
