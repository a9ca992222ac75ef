"""Option values the commands share: sizes typed by people (``20GiB``, ``500KiB``, ``300MB``)."""

from __future__ import annotations

from mirror.errors import ConfigError, UsageError
from mirror.settings import parse_size


def size_value(option: str, text: str | None) -> int | None:
    """The bytes TEXT names (None when the option was not given); a usage error naming OPTION."""
    if text is None:
        return None
    try:
        return parse_size(text)
    except ConfigError as exc:
        raise UsageError(f"{option}: {exc.message}", hint=exc.hint) from None
