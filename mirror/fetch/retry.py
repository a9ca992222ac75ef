"""When to try again and how long to wait: retryable statuses, Retry-After, exponential backoff."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# 408 Request Timeout, 425 Too Early, 429 Too Many Requests, and the server errors that are usually
# passing; other 4xx and 5xx (501 Not Implemented, 505, ...) will fail the same way again.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
# statuses whose Retry-After is honoured (RFC 9110 also allows it on 3xx; redirects are followed)
RETRY_AFTER_STATUS = frozenset({429, 503})
MAX_BACKOFF = 120.0


def backoff(attempt: int, base: float, cap: float = MAX_BACKOFF) -> float:
    """Seconds to wait before retry number ``attempt + 1``: exponential with "equal jitter"
    (between half and all of ``base * 2**attempt``, capped), so waits never collapse to zero."""
    ceiling = min(cap, base * (2 ** min(attempt, 30)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, cap: float, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After value (delta-seconds or an HTTP date), within ``[0, cap]``;
    ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return min(max(seconds, 0.0), cap)
