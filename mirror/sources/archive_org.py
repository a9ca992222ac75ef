"""The Internet Archive: one item, a collection, or a search, through the scrape and metadata APIs.

Scope is what the location names:

    https://archive.org/details/NAME      the collection NAME, or the item NAME (the metadata API
                                          says which: ``mediatype: collection``; a name it does not
                                          know is searched as a collection, and is NotACollection
                                          when that finds nothing)
    https://archive.org/download/NAME/..  the item NAME
    https://archive.org/search?query=Q    the search Q (also ``search.php?query=`` and
                                          ``advancedsearch.php?q=``)
    collection:NAME, or any query         with ``--kind archive-org``: that search
    NAME                                  with ``--kind archive-org``: as ``/details/NAME``

Another base URL than archive.org (a local fake in tests) is taken with ``--kind archive-org``.

Listing uses the scrape API, ``/services/search/v1/scrape?q=QUERY&fields=identifier&count=ROWS
[&cursor=C]``, not ``advancedsearch.php``: its opaque cursor pages through any number of items
(advanced search stops at 10,000 rows) and stays stable while the collection grows. The answer is
``{"items": [{"identifier": ...}], "count": n, "total": N, "cursor": "..."}`` with no cursor on the
last page; ``total`` sets ``Source.total``. Each item is read from the metadata API
(``mirror.sources.archive_item``); sub-collections (``mediatype: collection``) are not records, an
empty answer (no such item) is a failed record and a dark (withdrawn) item is ``skipped="gone"``.

Incremental: a completed listing leaves ``since``, the time it started; the next run asks only for
items added or made public since the day before (``AND (addeddate:[DAY TO null] OR
publicdate:[DAY TO null])``, the archive's range syntax). An item edited later keeps its dates and is
not listed again; its datestamp (``item_last_updated``) tells a full rerun (``--collection`` under a
new name, or a fresh home) that it changed.

State keys: ``cursor`` (the scrape cursor of the next page), ``since`` (the bound of the listing in
progress; after a completed listing, when it started) and ``started``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, AsyncIterator
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from mirror.errors import FetchError, NotACollection
from mirror.sources.api import get_json
from mirror.sources.archive_item import item_record, one
from mirror.sources.base import Checkpoint, Record, Source, url_slug
from mirror.sources.dates import parse_when
from mirror.sources.ordered import map_ordered
from mirror.sources.pages import failed_record
from indexer.clock import day, second_time

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher

DEFAULT_BASE = "https://archive.org"
ROWS = 100                    # the scrape API's minimum page size
CONCURRENCY = 4
IA_HOSTS = ("archive.org", "www.archive.org")
_SEARCH_PATHS = {"/search": "query", "/search.php": "query", "/advancedsearch.php": "q"}
HINT = "e.g. https://archive.org/details/opensource or collection:opensource with --kind archive-org"


@dataclass(frozen=True)
class ArchiveTarget:
    """What a location names: an identifier (an item, or a collection) or a search."""

    base: str
    name: str | None = None
    item: bool = False            # certainly an item (a /download/ URL)
    query: str | None = None


def parse_location(location: str) -> ArchiveTarget:
    """The target of an archive.org URL, a bare name or a query (see the module docstring)."""
    location = location.strip()
    if "://" not in location:
        if ":" in location:
            return ArchiveTarget(DEFAULT_BASE, query=location)
        if not location or "/" in location:
            raise NotACollection(f"{location!r} is not an Internet Archive collection name", hint=HINT)
        return ArchiveTarget(DEFAULT_BASE, location)
    parts = urlsplit(location)
    base = f"{parts.scheme}://{parts.netloc}"
    for marker, item in (("/details/", False), ("/download/", True)):
        head, sep, tail = parts.path.partition(marker)
        name = tail.split("/")[0]
        if sep and name:
            return ArchiveTarget(base + head.rstrip("/"), name, item)
    for path, key in _SEARCH_PATHS.items():
        query = parse_qs(parts.query).get(key, [""])[0].strip()
        if parts.path.endswith(path) and query:
            return ArchiveTarget(base + parts.path[: -len(path)], query=query)
    raise NotACollection(f"{location}: expected BASE/details/NAME or a search URL", hint=HINT)


class ArchiveOrgSource(Source):
    kind = "archive-org"

    def __init__(self, location, options) -> None:
        super().__init__(location, options)
        self.target = parse_location(location)
        self.base = self.target.base

    @classmethod
    async def detect(cls, location: str, fetcher: "Fetcher | None") -> bool:
        if location.strip().startswith("collection:"):     # the archive's own query syntax
            return True
        parts = urlsplit(location)
        if (parts.hostname or "") not in IA_HOSTS:
            return False
        try:
            parse_location(location)
        except NotACollection:
            return False
        return True

    def default_collection(self) -> str:
        t = self.target
        return url_slug(self.base, t.name) if t.name else url_slug(self.base, "search", t.query or "")

    async def harvest(self, fetcher: "Fetcher", state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        query = self.target.query
        name = self.target.name
        if query is None and name is not None:
            data = None if self.target.item else await self._metadata(fetcher, name)
            if data is None or (data and one((data.get("metadata") or {}).get("mediatype")) != "collection"):
                record = await self.item(fetcher, name, data)
                if record is not None:
                    yield record
                yield Checkpoint({})
                return
            query = f"collection:{name}"      # a collection, or a name the metadata API does not know
        listed = 0
        async for item in self._listing(fetcher, query or "", state):
            listed += isinstance(item, Record)
            yield item
        if not listed and not state and name is not None and self.total == 0:
            raise NotACollection(f"{self.base}/details/{name}: no such collection or item", hint=HINT)

    async def _listing(self, fetcher: "Fetcher", query: str,
                       state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        cursor = state.get("cursor") or None
        if cursor:                 # a listing in progress goes on with the same bound
            since, started = state.get("since") or "", state.get("started") or second_time()
        else:
            since, started = _day_before(state.get("since")), second_time()
        q = f"({query}) AND (addeddate:[{since} TO null] OR publicdate:[{since} TO null])" if since else query
        while True:
            data = await self._scrape(fetcher, q, cursor)
            identifiers = [i["identifier"] for i in data.get("items") or []
                           if isinstance(i, dict) and i.get("identifier")]
            async for record in map_ordered(lambda i: self.item(fetcher, i), identifiers, CONCURRENCY):
                if record is not None:
                    yield record
            cursor = data.get("cursor") or None
            if not cursor:
                break
            yield Checkpoint({"cursor": cursor, "since": since, "started": started})
        yield Checkpoint({"since": started})

    async def _scrape(self, fetcher: "Fetcher", query: str, cursor: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"q": query, "fields": "identifier", "count": ROWS}
        if cursor:
            params["cursor"] = cursor
        data = await get_json(fetcher, f"{self.base}/services/search/v1/scrape?{urlencode(params)}")
        if not isinstance(data, dict) or data.get("error"):
            error = data.get("error") if isinstance(data, dict) else data
            raise FetchError(f"{self.base}: scrape API error: {error}")
        if isinstance(data.get("total"), int):
            self.total = data["total"]
        return data

    async def _metadata(self, fetcher: "Fetcher", identifier: str) -> dict[str, Any]:
        """What the metadata API says about IDENTIFIER; ``{}`` when it knows nothing of it (then
        the name may still be searched as a collection)."""
        try:
            data = await get_json(fetcher, f"{self.base}/metadata/{quote(identifier)}")
        except FetchError as exc:
            if exc.status in (404, 410):
                return {}
            raise
        return data if isinstance(data, dict) else {}

    async def item(self, fetcher: "Fetcher", identifier: str,
                   data: dict[str, Any] | None = None) -> Record | None:
        """The record of one item (DATA: its metadata API answer, fetched when not given); None
        for a collection."""
        url = f"{self.base}/metadata/{quote(identifier)}"
        if data is None:
            try:
                data = await get_json(fetcher, url)
            except FetchError as exc:
                return failed_record(url, error=str(exc))
        if not isinstance(data, dict) or not data:
            return failed_record(url, error=f"no item {identifier!r}")
        if data.get("is_dark"):
            return failed_record(url, skipped="gone")
        if one((data.get("metadata") or {}).get("mediatype")) == "collection":
            return None
        return item_record(identifier, data, self.base)


def _day_before(since: str | None) -> str:
    """The day before SINCE (``YYYY-MM-DD``): items added that day or later are asked for again."""
    when = parse_when(since)
    return day(when - timedelta(days=1)) if when else ""
