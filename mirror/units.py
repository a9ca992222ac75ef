"""Sizes and rates for people, in one style everywhere: IEC binary units.

    format_size(1536)        -> "1.5 KiB"
    format_size(740)         -> "740 B"
    format_rate(3 * 2**20)   -> "3.0 MiB/s"

Every size openmirror prints (command summaries, progress bars, the web pages) goes through
``format_size``; a JSON field stays a plain count of bytes. Sizes typed by people are read by
``mirror.settings.parse_size``, which takes IEC (``20GiB``) and decimal (``20GB``) units alike.
"""

from __future__ import annotations

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def format_size(size: int | float | None) -> str:
    """``size`` bytes with one decimal in the largest unit below it (``None``: ``unknown``)."""
    if size is None:
        return "unknown"
    value, unit = float(size), 0
    if abs(value) < 1024:
        return f"{int(value)} B"
    while unit < len(UNITS) - 1 and round(abs(value), 1) >= 1024:
        value, unit = value / 1024, unit + 1
    return f"{value:.1f} {UNITS[unit]}"


def format_rate(bytes_per_second: float | None) -> str:
    """A transfer speed: ``format_size`` per second (``None``: ``?/s``)."""
    if bytes_per_second is None:
        return "?/s"
    return f"{format_size(bytes_per_second)}/s"
