"""Every timestamp openmirror writes, in one place: the formats, and "now" in each.

All are UTC and sort as text within their own format (fixed width).

    index_time()    2026-12-03T08:15:02.123Z        the index's own times (created_at, updated_at)
    entry_time()    2026-12-03T08:15:02.123456Z     signed feed entries, announcements, audits, peers
    second_time()   2026-12-03T08:15:02Z            provenance (retrieved_at), checkpoints, datestamps
                                                    made for sources (OAI, CKAN, IA ranges)
    day()           2026-12-03                      a day (source date ranges)
    stamp_time()    2026-12-03T08:15:02.123456+00:00  harvest pass ids and file datestamps, as they
                                                    have always been stored (compared for equality)

``second_time`` without a moment is formatted once a second and reused: the fetcher stamps every
response with it.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

_SECOND = "%Y-%m-%dT%H:%M:%SZ"
_last_second: tuple[int, str] = (-1, "")


def now() -> datetime:
    return datetime.now(timezone.utc)


def index_time(moment: datetime | None = None) -> str:
    return (moment or now()).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def entry_time(moment: datetime | None = None) -> str:
    return (moment or now()).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_entry_time(text: str) -> datetime:
    """The moment of an ``entry_time`` string; ``ValueError`` when it is not one."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def second_time(moment: datetime | None = None) -> str:
    global _last_second
    if moment is not None:
        return moment.astimezone(timezone.utc).strftime(_SECOND)
    second = int(time.time())
    if _last_second[0] != second:
        _last_second = (second, datetime.fromtimestamp(second, timezone.utc).strftime(_SECOND))
    return _last_second[1]


def day(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d")


def stamp_time(moment: datetime | None = None) -> str:
    return (moment or now()).astimezone(timezone.utc).isoformat(timespec="microseconds")
