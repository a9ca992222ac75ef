"""Internet Archive collections: the scrape API for identifiers, the metadata API per item.

Listing uses the scrape API, ``/services/search/v1/scrape?q=collection:NAME&fields=identifier&
count=ROWS[&cursor=C]``, not ``advancedsearch.php``: its opaque cursor pages through any number of
items (advanced search stops at 10,000 rows) and stays stable while the collection grows. The answer
is ``{"items": [{"identifier": ...}], "count": n, "total": N, "cursor": "..."}`` with no cursor on
the last page; ``total`` sets ``Source.total``.

Each item is read from ``/metadata/IDENTIFIER``: ``metadata.title``, ``creator``, ``description``
(tags stripped), ``subject``, ``date``, ``language``, ``mediatype``; ``licenseurl`` and ``rights``
are the licence statements, as found. Files are the item's *original* files (``source ==
"original"``), without IA's own metadata files (``_meta.xml``, ``_files.xml``, ``__ia_thumb.jpg``,
torrents, ...) and derivatives; each is ``BASE/download/IDENTIFIER/NAME``. The datestamp is
``item_last_updated`` (it changes with every edit), else ``publicdate``. Sub-collections
(``mediatype: collection``) are not records. An empty answer (no such item) is a failed record; a
dark (withdrawn) item is ``skipped="gone"``.

The location is ``https://archive.org/details/NAME`` or, with ``--kind archive-org``, a bare
collection name or ``BASE/details/NAME`` for another base URL (a local fake in tests). When the
collection search finds nothing, the name is tried as a single item; when that fails too, it is
``NotACollection``.

State key: ``cursor``, the scrape cursor of the next page.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, AsyncIterator, cast
from urllib.parse import quote, urlencode, urlsplit

import lxml.html
from lxml import etree

from mirror.errors import FetchError, NotACollection
from mirror.sources.api import get_json
from mirror.sources.base import Checkpoint, FileRef, Metadata, Record, Source, slug
from mirror.sources.files import file_type
from mirror.sources.ordered import map_ordered
from mirror.sources.pages import failed_record

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher

DEFAULT_BASE = "https://archive.org"
ROWS = 100                    # the scrape API's minimum page size
CONCURRENCY = 4
MAX_RAW = 256 * 1024
IA_HOSTS = ("archive.org", "www.archive.org")
SKIP_FORMATS = frozenset({"metadata", "item tile", "archive bittorrent", "collection header",
                          "item image", "thumbnail", "json", "metadata sqlite"})
SKIP_SUFFIXES = ("_meta.xml", "_files.xml", "_meta.sqlite", "_reviews.xml", "__ia_thumb.jpg",
                 "_archive.torrent", "_itemimage.jpg")


def parse_location(location: str) -> tuple[str, str]:
    """``(base, collection)`` from ``BASE/details/NAME`` or a bare name."""
    location = location.strip()
    if "://" not in location:
        if not location or "/" in location:
            raise NotACollection(f"{location!r} is not an Internet Archive collection name")
        return DEFAULT_BASE, location
    head, sep, tail = location.partition("/details/")
    name = tail.split("/")[0].split("?")[0].split("#")[0]
    if not sep or not name:
        raise NotACollection(f"{location}: expected BASE/details/COLLECTION",
                             hint="e.g. https://archive.org/details/opensource")
    return head.rstrip("/"), name


class ArchiveOrgSource(Source):
    kind = "archive-org"

    def __init__(self, location, options) -> None:
        super().__init__(location, options)
        self.base, self.collection = parse_location(location)

    @classmethod
    async def detect(cls, location: str, fetcher: "Fetcher | None") -> bool:
        parts = urlsplit(location)
        return (parts.hostname or "") in IA_HOSTS and parts.path.startswith("/details/") \
            and len(parts.path) > len("/details/")

    def default_collection(self) -> str:
        host = urlsplit(self.base).hostname or "archive.org"
        return slug(f"{host}-{self.collection}")

    async def harvest(self, fetcher: "Fetcher", state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        cursor = state.get("cursor") or None
        while True:
            data = await self._scrape(fetcher, cursor)
            identifiers = [i["identifier"] for i in data.get("items") or []
                           if isinstance(i, dict) and i.get("identifier")]
            if not identifiers and cursor is None:   # no members: maybe the name of one item
                async for item in self._single(fetcher):
                    yield item
                return
            async for record in map_ordered(lambda i: self.item(fetcher, i), identifiers, CONCURRENCY):
                if record is not None:
                    yield record
            cursor = data.get("cursor") or None
            if not cursor:
                break
            yield Checkpoint({"cursor": cursor})
        yield Checkpoint({})

    async def _single(self, fetcher: "Fetcher") -> AsyncIterator[Record | Checkpoint]:
        record = await self.item(fetcher, self.collection)
        if record is not None and record.error:
            raise NotACollection(f"{self.base}/details/{self.collection}: no such collection or item")
        if record is not None:
            yield record
        yield Checkpoint({})

    async def _scrape(self, fetcher: "Fetcher", cursor: str | None) -> dict[str, Any]:
        params = {"q": f"collection:{self.collection}", "fields": "identifier", "count": ROWS}
        if cursor:
            params["cursor"] = cursor
        data = await get_json(fetcher, f"{self.base}/services/search/v1/scrape?{urlencode(params)}")
        if not isinstance(data, dict) or data.get("error"):
            error = data.get("error") if isinstance(data, dict) else data
            raise FetchError(f"{self.base}: scrape API error: {error}")
        if isinstance(data.get("total"), int):
            self.total = data["total"]
        return data

    async def item(self, fetcher: "Fetcher", identifier: str) -> Record | None:
        """The record of one item; None for a sub-collection."""
        url = f"{self.base}/metadata/{quote(identifier)}"
        try:
            data = await get_json(fetcher, url)
        except FetchError as exc:
            return failed_record(url, error=str(exc))
        if not isinstance(data, dict) or not data:
            return failed_record(url, error=f"no item {identifier!r}")
        if data.get("is_dark"):
            return failed_record(url, skipped="gone")
        metadata = data.get("metadata") or {}
        if _one(metadata.get("mediatype")) == "collection":
            return None
        return item_record(identifier, data, self.base)


def item_record(identifier: str, data: dict[str, Any], base: str) -> Record:
    md = data.get("metadata") or {}
    subjects = tuple(s.strip() for v in _many(md.get("subject")) for s in v.split(";") if s.strip())
    files = tuple(FileRef(f"{base}/download/{quote(identifier)}/{quote(f['name'])}", name=f["name"],
                          media_type=file_type(f["name"]), size=_int(f.get("size")))
                  for f in data.get("files") or [] if _original(f))
    metadata = Metadata(
        title=_one(md.get("title")) or identifier, creators=tuple(_many(md.get("creator"))),
        description="\n\n".join(_strip_tags(d) for d in _many(md.get("description"))),
        subjects=subjects, date=_one(md.get("date")), language=_one(md.get("language")),
        type=_one(md.get("mediatype")), source_url=files[0].url if files else None,
        landing_url=f"{base}/details/{quote(identifier)}",
        raw_record=json.dumps(md, ensure_ascii=False)[:MAX_RAW])
    statements = tuple(_many(md.get("licenseurl")) + _many(md.get("rights")))
    return Record(identifier, metadata, files, statements,
                  datestamp=_updated(data) or _one(md.get("publicdate")))


def _original(f: Any) -> bool:
    if not isinstance(f, dict) or not f.get("name") or f.get("source") != "original":
        return False
    if str(f.get("private", "")).lower() == "true":
        return False
    name = str(f["name"])
    return str(f.get("format", "")).lower() not in SKIP_FORMATS and not name.endswith(SKIP_SUFFIXES)


def _many(value: Any) -> list[str]:
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values if str(v).strip()]


def _one(value: Any) -> str | None:
    values = _many(value)
    return values[0] if values else None


def _int(value: Any) -> int | None:
    return int(value) if str(value or "").isdigit() else None


def _updated(data: dict[str, Any]) -> str | None:
    stamp = data.get("item_last_updated")
    if not isinstance(stamp, int):
        return None
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _strip_tags(text: str) -> str:
    if "<" not in text:
        return text
    try:
        return " ".join(cast(lxml.html.HtmlElement, lxml.html.fromstring(text)).text_content().split())
    except (etree.ParserError, ValueError):
        return text
