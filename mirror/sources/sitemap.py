"""Sitemaps (sitemaps.org 0.9): a ``<urlset>`` or a ``<sitemapindex>`` of them, gzipped or not.

Every ``<url><loc>`` is one record: the page is fetched and read by ``mirror.sources.pages`` (the page
is the record's file; a ``citation_pdf_url`` becomes a second file), its ``<lastmod>`` is the
record's datestamp. A URL that answers with a non-HTML body is a file record of its own.

Bounds: index files nest at most ``MAX_DEPTH`` levels, at most ``MAX_SITEMAPS`` sitemap files are
read, each at most ``MAX_SITEMAP_BYTES`` decoded (the sitemaps.org limit is 50 MB); a ``.gz``
body is decompressed with a bounded decompressor. A child sitemap that cannot be read becomes a
failed record (and the run does not advance ``since``); the root failing fails the run.

State keys:
    cursor    positions in the tree of sitemaps, ``"2.150"``: entry 150 of the 3rd child sitemap
    since     the start time of the last completed run: entries (and child sitemaps) whose
              lastmod is older are skipped, entries without lastmod are always read
    started   the start time of the run in progress (becomes ``since`` when it completes)
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator
from urllib.parse import urlsplit

from lxml import etree

from mirror.errors import FetchError, TooLarge
from mirror.sources.api import get_required
from mirror.sources.base import Checkpoint, Record, Source, url_slug
from mirror.sources.dates import older_than
from mirror.sources.ordered import map_ordered
from mirror.sources.pages import failed_record, read_url
from mirror.sources.xmlparse import iter_elements, local_name, text_of
from indexer.clock import second_time

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher
    from mirror.revisit import Revisits

MAX_DEPTH = 3
MAX_SITEMAPS = 10_000
MAX_SITEMAP_BYTES = 64 * 2**20
BATCH = 50             # entries read between checkpoints
PAGE_CONCURRENCY = 4   # pages read at once (the fetcher still limits per host)
_KINDS = ("urlset", "sitemapindex")
_USUAL_NAMES = {"sitemap", "sitemap_index", "sitemap-index", "sitemapindex", "sitemaps"}


@dataclass
class SitemapEntry:
    index: int
    loc: str
    lastmod: str | None


def gunzip(body: bytes, url: str, limit: int = MAX_SITEMAP_BYTES) -> bytes:
    """``body`` decompressed when it is gzip data, never more than ``limit`` bytes."""
    if body[:2] != b"\x1f\x8b":
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise FetchError(f"{url}: corrupt gzip data ({exc})") from exc
    if len(out) > limit:
        raise TooLarge(f"{url}: sitemap larger than {limit} bytes once decompressed")
    return out


def sitemap_kind(body: bytes) -> str | None:
    """``"urlset"`` or ``"sitemapindex"`` from the first element of an XML body, else None."""
    try:
        for _, el in etree.iterparse(io.BytesIO(body), events=("start",), resolve_entities=False,
                                     no_network=True, load_dtd=False):
            name = local_name(el)
            return name if name in _KINDS else None
    except etree.XMLSyntaxError:
        return None
    return None


async def read_sitemap(fetcher: "Fetcher", url: str) -> tuple[str, list[SitemapEntry]]:
    """The kind and entries (``loc``, ``lastmod``) of one sitemap file."""
    page = await get_required(fetcher, url, max_bytes=MAX_SITEMAP_BYTES)
    body = gunzip(page.body, url)
    kind = sitemap_kind(body)
    if kind is None:
        raise FetchError(f"{url}: not a sitemap (no <urlset> or <sitemapindex>)")
    tag = "{*}url" if kind == "urlset" else "{*}sitemap"
    entries = []
    for i, el in enumerate(iter_elements(body, tag, url)):
        loc = text_of(el.find("{*}loc"))
        if loc and urlsplit(loc).scheme in ("http", "https"):
            entries.append(SitemapEntry(i, loc, text_of(el.find("{*}lastmod")) or None))
    return kind, entries


class SitemapSource(Source):
    kind = "sitemap"

    @classmethod
    async def detect(cls, location: str, fetcher: "Fetcher | None") -> bool:
        from mirror.fetch.fetcher import Skipped

        if fetcher is None or urlsplit(location).scheme not in ("http", "https"):
            return False
        try:
            page = await fetcher.get_page(location, max_bytes=MAX_SITEMAP_BYTES)
            return not isinstance(page, Skipped) and sitemap_kind(gunzip(page.body, location)) is not None
        except FetchError:
            return False

    def default_collection(self) -> str:
        """Host, port and folder of the sitemap, and its name unless it is the usual one."""
        parts = urlsplit(self.location)
        folder, _, name = parts.path.rpartition("/")
        stem = name.split(".")[0].lower()
        extra = () if stem in _USUAL_NAMES or not stem else (stem,)
        return url_slug(f"{parts.scheme}://{parts.netloc}{folder}", *extra)

    async def harvest(self, fetcher: "Fetcher", state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        walk = _Walk(fetcher, since=state.get("since") or None,
                     started=state.get("started") or second_time(), revisits=self.revisits)
        resume = [int(p) for p in (state.get("cursor") or "").split(".") if p.isdigit()]
        kind, entries = await read_sitemap(fetcher, self.location)
        walk.visited.add(self.location)
        async for item in walk.tree(kind, entries, (), resume):
            yield item
        yield Checkpoint({"since": walk.since or ""} if walk.failed else {"since": walk.started})


class _Walk:
    """One traversal of a sitemap tree, depth first, with its bounds and checkpoint state."""

    def __init__(self, fetcher: "Fetcher", since: str | None, started: str,
                 revisits: "Revisits | None" = None) -> None:
        self.fetcher, self.since, self.started, self.revisits = fetcher, since, started, revisits
        self.visited: set[str] = set()
        self.failed = False

    def checkpoint(self, path: tuple[int, ...]) -> Checkpoint:
        return Checkpoint({"cursor": ".".join(map(str, path)), "since": self.since or "",
                           "started": self.started})

    async def tree(self, kind: str, entries: list[SitemapEntry], path: tuple[int, ...],
                   resume: list[int]) -> AsyncIterator[Record | Checkpoint]:
        skip = resume[0] if resume else 0
        if kind == "urlset":
            async for item in self.urls(entries, path, skip):
                yield item
            return
        for entry in entries:
            if entry.index < skip or older_than(entry.lastmod, self.since):
                continue
            child = await self.child(entry.loc, len(path) + 1)
            if isinstance(child, Record):
                yield child
            elif child is not None:
                inner = resume[1:] if resume and entry.index == skip else []
                async for item in self.tree(*child, path + (entry.index,), inner):
                    yield item
            yield self.checkpoint(path + (entry.index + 1,))

    async def child(self, url: str, depth: int) -> "tuple[str, list[SitemapEntry]] | Record | None":
        """A child sitemap's kind and entries; a failed record when it cannot be read; None
        when it was read already (an index listing it twice, or a loop)."""
        if url in self.visited:
            return None
        if depth > MAX_DEPTH or len(self.visited) >= MAX_SITEMAPS:
            self.failed = True
            return failed_record(url, error="sitemap not read: past the depth or count bounds")
        self.visited.add(url)
        try:
            return await read_sitemap(self.fetcher, url)
        except FetchError as exc:
            self.failed = True
            return failed_record(url, error=f"sitemap: {exc}")

    async def urls(self, entries: list[SitemapEntry], path: tuple[int, ...],
                   skip: int) -> AsyncIterator[Record | Checkpoint]:
        todo = [e for e in entries if e.index >= skip and not older_than(e.lastmod, self.since)]
        for start in range(0, len(todo), BATCH):
            batch = todo[start:start + BATCH]
            async for record, _ in map_ordered(self.read, batch, PAGE_CONCURRENCY):
                yield record
            yield self.checkpoint(path + (batch[-1].index + 1,))

    async def read(self, entry: SitemapEntry) -> tuple[Record, object]:
        return await read_url(self.fetcher, entry.loc, datestamp=entry.lastmod, revisits=self.revisits)
