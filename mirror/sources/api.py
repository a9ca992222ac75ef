"""Fetching what a source must read to go on (an API answer, a sitemap, a manifest).

For these a ``gone`` or ``robots`` outcome is no outcome of a record: it stops the listing, so
it is raised as ``FetchError`` (with the status) like any other failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mirror.errors import FetchError

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher, Page

API_MAX = 64 * 2**20   # bytes of one API answer


async def get_required(fetcher: "Fetcher", url: str, *, max_bytes: int = API_MAX,
                       headers: dict[str, str] | None = None) -> "Page":
    """``fetcher.get_page``; a Skipped outcome raises FetchError."""
    from mirror.fetch.fetcher import Skipped

    page = await fetcher.get_page(url, max_bytes=max_bytes, headers=headers)
    if isinstance(page, Skipped):
        what = "disallowed by robots.txt" if page.reason == "robots" else f"gone (HTTP {page.status})"
        raise FetchError(f"{url}: {what}", status=page.status)
    return page


async def get_json(fetcher: "Fetcher", url: str, *, max_bytes: int = API_MAX) -> Any:
    """The JSON answer at ``url``; FetchError when it is missing or not JSON."""
    page = await get_required(fetcher, url, max_bytes=max_bytes, headers={"Accept": "application/json"})
    try:
        return page.json()
    except ValueError as exc:
        raise FetchError(f"{url}: the answer is not JSON") from exc
