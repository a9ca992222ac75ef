"""A website, crawled breadth first from a start page, kept in scope and within a depth limit.

CrawlScope: the start URL's scheme, host and port, and its *directory*: the path up to and including
its last ``/`` (``https://h/docs/index.html`` -> ``https://h/docs/``; ``https://h/docs`` -> the
whole host). Only http(s) anchors are followed; fragments are dropped and each URL is read once
(the final URL after redirects counts as seen too). Depth: the start page is 0, its links 1, ...;
links are followed up to ``options.max_depth``. robots.txt is obeyed by the fetcher; a disallowed
page becomes a record with ``skipped="robots"``.

Every HTML page is a record (``mirror.sources.pages``, shared with the sitemap source). Files:
    - a file the page declares as its own (``citation_pdf_url``, ``<link rel="alternate">`` with a
      file type) is a second file of the page's record;
    - any other link whose URL names a file (``.pdf``, ``.csv``, ... on the same host, any path; with
      ``options.no_parent``, wget's ``-np``, only below the start folder) is a record of its own,
      not fetched by the crawler, carrying the licence statements of the first page that linked it
      and that page as its landing page;
    - an in-scope link without a file extension is fetched like a page; when it answers with a
      non-HTML body it becomes a file record with the linking page's licence statements.

Files are kept or left by name with ``options.accept`` and ``options.reject`` (wget's, see
``mirror.sources.accept``): pages are read for their links either way, and a record left with no
file is skipped as ``filtered``.

State keys: ``queue`` (the frontier, JSON of ``[url, depth, statements]``) and ``seen`` (every URL
met), both zlib-compressed and base64-encoded. A checkpoint is yielded every ``CHECKPOINT_PAGES``
pages; a rerun after completion crawls again from the start page (the pipeline finds unchanged
pages unchanged).
"""

from __future__ import annotations

import base64
import json
import zlib
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING, Any, AsyncIterator
from urllib.parse import urldefrag, urlsplit

from mirror.errors import FetchError
from mirror.sources.accept import NameFilter
from mirror.sources.base import Checkpoint, Record, Source, url_slug
from mirror.sources.files import file_type, is_html
from mirror.sources.ordered import map_ordered
from mirror.sources.pages import PageInfo, file_record, header_value, read_url

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher

BATCH = 8                 # pages read at once (the fetcher still limits per host)
CHECKPOINT_PAGES = 100    # pages between checkpoints (the state holds the whole frontier)

Item = tuple[str, int, list[str]]   # url, depth, licence statements of the linking page


def pack(value: Any) -> str:
    return base64.b64encode(zlib.compress(json.dumps(value).encode(), 6)).decode()


def unpack(text: str) -> Any:
    return json.loads(zlib.decompress(base64.b64decode(text)))


class CrawlScope:
    """Same scheme, host and port as the start URL, under its directory."""

    def __init__(self, start: str) -> None:
        parts = urlsplit(start)
        self.origin = (parts.scheme, parts.netloc.lower())
        self.prefix = parts.path[: parts.path.rfind("/") + 1] or "/"

    def same_host(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc.lower()) == self.origin

    def __contains__(self, url: str) -> bool:
        return self.same_host(url) and (urlsplit(url).path or "/").startswith(self.prefix)


class _Crawl:
    """The frontier, every URL met, and the final URLs already read (after redirects)."""

    def __init__(self, queue: deque[Item], seen: set[str]) -> None:
        self.queue, self.seen = queue, seen
        self.read: set[str] = set()

    @classmethod
    def restore(cls, state: dict[str, str], start: str) -> "_Crawl":
        if not state.get("queue"):
            return cls(deque([(start, 0, [])]), {start})
        queue = deque((url, int(depth), list(found)) for url, depth, found in unpack(state["queue"]))
        crawl = cls(queue, set(unpack(state["seen"])) if state.get("seen") else set())
        crawl.read = crawl.seen - {url for url, _, _ in queue}   # read before the checkpoint
        return crawl

    def state(self) -> dict[str, str]:
        return {"queue": pack(list(self.queue)), "seen": pack(sorted(self.seen))}

    def first_visit(self, record: Record) -> Record | None:
        """The record as read on a first visit (a page met through a redirect takes its final
        URL as source id); None for a page reached again through a redirect."""
        final = record.files[0].url if record.files and record.files[0].page is not None else record.source_id
        if final in self.read:
            return None
        self.read.add(final)
        self.seen.add(final)
        return replace(record, source_id=final) if final != record.source_id else record


class SiteSource(Source):
    kind = "site"
    checkpoint_every = CHECKPOINT_PAGES   # pages between checkpoints

    def __init__(self, location, options) -> None:
        super().__init__(location, options)
        self.start = urldefrag(location.strip())[0]
        self.scope = CrawlScope(self.start)
        self.names = NameFilter.parse(options.accept, options.reject)

    @classmethod
    async def detect(cls, location: str, fetcher: "Fetcher | None") -> bool:
        from mirror.fetch.fetcher import Skipped

        if fetcher is None or urlsplit(location).scheme not in ("http", "https"):
            return False
        try:
            page = await fetcher.get_page(location)
        except FetchError:
            return False
        return not isinstance(page, Skipped) and is_html(header_value(page.headers, "Content-Type"))

    def default_collection(self) -> str:
        return url_slug(self.start.rsplit("/", 1)[0] if self.scope.prefix != "/" else self.start)

    async def harvest(self, fetcher: "Fetcher", state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        crawl = _Crawl.restore(state, self.start)
        pages = 0
        while crawl.queue:
            batch = [crawl.queue.popleft() for _ in range(min(BATCH, len(crawl.queue)))]

            async def read(item: Item) -> tuple[int, tuple[Record, PageInfo | None]]:
                return item[1], await read_url(fetcher, item[0], inherited=item[2], revisits=self.revisits)

            async for depth, (read_record, info) in map_ordered(read, batch, BATCH):
                record = crawl.first_visit(read_record)
                if record is None:
                    continue
                yield self.names.filter(record)
                if info is not None:
                    for item in self._follow(record, info, depth, crawl):
                        yield item
            pages += len(batch)
            if pages >= self.checkpoint_every and crawl.queue:
                pages = 0
                yield Checkpoint(crawl.state())
        yield Checkpoint({})

    def _follow(self, record: Record, info: PageInfo, depth: int, crawl: "_Crawl") -> list[Record]:
        """Queue the page's in-scope links; return the records of the files it links."""
        seen, queue = crawl.seen, crawl.queue
        seen.update(f.url for f in record.files)
        if depth >= self.options.max_depth or record.source_id not in self.scope:
            return []
        files = []
        for url in info.links:
            if url in seen:
                continue
            if file_type(url):
                if url in self.scope if self.options.no_parent else self.scope.same_host(url):
                    seen.add(url)
                    files.append(self.names.filter(file_record(url, statements=record.license_statements,
                                                               landing_url=record.source_id)))
            elif url in self.scope:
                seen.add(url)
                queue.append((url, depth + 1, list(record.license_statements)))
        return files

