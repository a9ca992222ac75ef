"""A website, crawled breadth first from a start page, kept in scope and within a depth limit.

Scope: the start URL's scheme, host and port, and its *directory*: the path up to and including
its last ``/`` (``https://h/docs/index.html`` -> ``https://h/docs/``; ``https://h/docs`` -> the
whole host). Only http(s) anchors are followed; fragments are dropped and each URL is read once
(the final URL after redirects counts as seen too). Depth: the start page is 0, its links 1, ...;
links are followed up to ``options.max_depth``. robots.txt is obeyed by the fetcher; a disallowed
page becomes a record with ``skipped="robots"``.

Every HTML page is a record (``mirror.sources.pages``, shared with the sitemap source). Files:
    - a file the page declares as its own (``citation_pdf_url``, ``<link rel="alternate">`` with a
      file type) is a second file of the page's record;
    - any other link whose URL names a file (``.pdf``, ``.csv``, ... on the same host, any path) is a
      record of its own, not fetched by the crawler, carrying the licence statements of the first
      page that linked it and that page as its landing page;
    - an in-scope link without a file extension is fetched like a page; when it answers with a
      non-HTML body it becomes a file record with the linking page's licence statements.

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
from typing import TYPE_CHECKING, Any, AsyncIterator
from urllib.parse import urldefrag, urlsplit

from mirror.errors import FetchError
from mirror.sources.base import Checkpoint, Record, Source, url_slug
from mirror.sources.files import file_type, is_html
from mirror.sources.ordered import map_ordered
from mirror.sources.pages import PageInfo, file_record, header, read_url

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher

BATCH = 8                 # pages read at once (the fetcher still limits per host)
CHECKPOINT_PAGES = 100    # pages between checkpoints (the state holds the whole frontier)

Item = tuple[str, int, list[str]]   # url, depth, licence statements of the linking page


def pack(value: Any) -> str:
    return base64.b64encode(zlib.compress(json.dumps(value).encode(), 6)).decode()


def unpack(text: str) -> Any:
    return json.loads(zlib.decompress(base64.b64decode(text)))


class Scope:
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


class SiteSource(Source):
    kind = "site"

    def __init__(self, location, options) -> None:  # type: ignore[no-untyped-def]
        super().__init__(location, options)
        self.start = urldefrag(location.strip())[0]
        self.scope = Scope(self.start)

    @classmethod
    async def detect(cls, location: str, fetcher: "Fetcher | None") -> bool:
        from mirror.fetch.fetcher import Skipped

        if fetcher is None or urlsplit(location).scheme not in ("http", "https"):
            return False
        try:
            page = await fetcher.get_page(location)
        except FetchError:
            return False
        return not isinstance(page, Skipped) and is_html(header(page.headers, "Content-Type"))

    def default_collection(self) -> str:
        return url_slug(self.start.rsplit("/", 1)[0] if self.scope.prefix != "/" else self.start)

    async def harvest(self, fetcher: "Fetcher", state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        if state.get("queue"):
            queue: deque[Item] = deque(tuple(i) for i in unpack(state["queue"]))  # type: ignore[misc]
            seen: set[str] = set(unpack(state.get("seen") or pack([])))
        else:
            queue, seen = deque([(self.start, 0, [])]), {self.start}
        pages = 0
        while queue:
            batch = [queue.popleft() for _ in range(min(BATCH, len(queue)))]

            async def read(item: Item) -> tuple[int, tuple[Record, PageInfo | None]]:
                return item[1], await read_url(fetcher, item[0], inherited=item[2])

            async for depth, (record, info) in map_ordered(read, batch, BATCH):
                yield record
                if info is not None:
                    for item in self._follow(record, info, depth, seen, queue):
                        yield item
            pages += len(batch)
            if pages >= CHECKPOINT_PAGES and queue:
                pages = 0
                yield Checkpoint({"queue": pack(list(queue)), "seen": pack(sorted(seen))})
        yield Checkpoint({})

    def _follow(self, record: Record, info: PageInfo, depth: int, seen: set[str],
                queue: deque[Item]) -> list[Record]:
        """Queue the page's in-scope links; return the records of the files it links."""
        final = record.files[0].url if record.files else record.source_id
        seen.add(final)
        seen.update(f.url for f in record.files)
        if depth >= self.options.max_depth or final not in self.scope:
            return []
        files = []
        for url in info.links:
            if url in seen:
                continue
            if file_type(url):
                if self.scope.same_host(url):
                    seen.add(url)
                    files.append(file_record(url, statements=record.license_statements,
                                             landing_url=final))
            elif url in self.scope:
                seen.add(url)
                queue.append((url, depth + 1, list(record.license_statements)))
        return files

