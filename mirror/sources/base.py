"""The protocol every source kind follows, and the records it yields.

A *source* turns a location (a URL, a manifest file, a folder) into a stream of *records*: the
metadata of one document, the files to fetch for it and every licence statement found, as found.
Sources never decide on licences, never store and never index: ``mirror.pipeline`` does that.

``Source.records(fetcher, state)`` yields ``Record`` values interleaved with ``Checkpoint`` values.
A record is a frozen value: its ``Metadata`` (as the source found it), its files and every licence
statement; the pipeline builds the ``DocumentIn`` it indexes from it once, after the licence gate
and the fetch (collection, licence, contents, provenance).
A checkpoint's ``state`` is a small ``dict[str, str]``; the pipeline persists it only once every
record yielded before it has been handled, and passes the last persisted one back as ``state`` on
the next run. So a source resumes mid-list from ``state``, and a final checkpoint (after the last
record) carries what the *next* run needs to be incremental (OAI ``from``, sitemap ``since``).

``Record.datestamp`` is the source's "changed since" marker (OAI datestamp, sitemap lastmod, CKAN
metadata_modified, IA publicdate, a file's mtime, a manifest line's digest): the pipeline compares
it for equality with the value it stored last time and skips unchanged records.

Failure of one record is a value too: ``Record.error`` (the source could not read it: a bad manifest
line, a landing page that failed after retries) and ``Record.skipped`` (``"gone"`` or ``"robots"``,
met while reading the record's page) let the pipeline count the record without the run aborting.
"""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncGenerator, AsyncIterator, Callable, ClassVar, cast
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher, Page
    from mirror.revisit import Revisits


@dataclass(frozen=True)
class FileRef:
    """One file of a record: where to get it, with hints from the source."""

    url: str                          # http(s) URL, or an absolute local path (manifest, folder)
    name: str | None = None
    media_type: str | None = None     # hint from the source; the response's type wins
    size: int | None = None           # hint from the source
    page: "Page | None" = None        # already fetched: store this body without fetching again


@dataclass(frozen=True)
class Metadata:
    """What a source says about one item, as found."""

    title: str = ""
    creators: tuple[str, ...] = ()
    description: str = ""
    subjects: tuple[str, ...] = ()
    language: str | None = None
    date: str | None = None           # ISO 8601 date or year as found ("2021", "2021-03-04")
    type: str | None = None
    source_url: str | None = None     # URL of the file as the source listed it
    landing_url: str | None = None    # human landing page
    raw_record: str | None = None     # the source record as received (XML, JSON line, ...)
    links: tuple[str, ...] = ()       # the item's URLs that are not files (services, catalogue pages):
    #                                   recorded, never mirrored


@dataclass(frozen=True)
class Record:
    """One item from a source: its metadata, files and licence statements."""

    source_id: str                    # stable id within the collection
    metadata: Metadata = Metadata()
    files: tuple[FileRef, ...] = ()
    license_statements: tuple[str, ...] = ()   # every statement found, as found
    datestamp: str | None = None      # "changed since" marker, compared for equality
    deleted: bool = False             # the source says it was withdrawn: retract it
    error: str | None = None          # the source could not read this record: count it as failed
    skipped: str | None = None        # "gone" | "robots": met while reading it; count, store nothing
    former_id: str | None = None      # the id an older openmirror gave it (a local path): adopted


@dataclass(frozen=True)
class Checkpoint:
    """Where to resume: persisted once every record yielded before it has been handled."""

    state: dict[str, str]


@dataclass
class SourceOptions:
    set_spec: str | None = None       # OAI-PMH --set
    license: list[str] | None = None  # folder: the licence statements to apply (--license)
    max_depth: int = 3                # site crawl: link depth from the start page
    metadata_prefix: str | None = None  # OAI-PMH metadata format (default: the richest offered, else oai_dc)
    limit: int | None = None          # stop after this many records (the pipeline also enforces it)
    accept: tuple[str, ...] = ()      # site crawl: file names kept (wget's --accept; mirror.sources.accept)
    reject: tuple[str, ...] = ()      # site crawl: file names left (wget's --reject)
    no_parent: bool = False           # site crawl: files too only below the start folder (wget's -np)


class Source(ABC):
    """One kind of collection. Subclasses set ``kind`` and implement the three methods."""

    kind: ClassVar[str]

    def __init__(self, location: str, options: SourceOptions) -> None:
        self.location = location
        self.options = options
        self.total: int | None = None  # known number of records, for progress; set once known
        self.revisits: "Revisits | None" = None   # what earlier runs stored: conditional page fetches

    @classmethod
    @abstractmethod
    async def detect(cls, location: str, fetcher: "Fetcher | None") -> bool:
        """Cheap probe: does ``location`` look like this kind of source?"""

    @abstractmethod
    def default_collection(self) -> str:
        """A collection name derived from the location (host and path slug, file stem...)."""

    async def records(self, fetcher: "Fetcher", state: dict[str, str],
                      revisits: "Revisits | None" = None) -> AsyncIterator[Record | Checkpoint]:
        """Yield records and checkpoints, resuming from ``state`` (``{}`` on a first run). With
        REVISITS, the pages the source reads itself are fetched conditionally (``mirror.revisit``).

        With ``options.limit`` the stream stops after that many records and yields no checkpoint
        after the last one, so a limited run never looks like a completed one."""
        self.revisits = revisits
        limit = self.options.limit
        if limit is not None and limit <= 0:
            return
        count = 0
        stream = cast("AsyncGenerator[Record | Checkpoint, None]", self.harvest(fetcher, dict(state)))
        async with aclosing(stream) as items:
            async for item in items:
                yield item
                if isinstance(item, Record):
                    count += 1
                    if limit is not None and count >= limit:
                        return
        if self.total is None:          # the end of the source: this run's total, if still unknown
            self.total = count

    @asynccontextmanager
    async def counting(self, count: Callable[[], int], done: int = 0) -> AsyncIterator[None]:
        """Count the records in a worker thread while the body harvests (COUNT walks the whole
        source; DONE were yielded by an earlier run); ``total`` is set once the count is known."""
        async def run() -> None:
            try:
                found = max(0, await asyncio.to_thread(count) - done)
            except (OSError, ValueError):       # the harvest itself reports an unreadable source
                return
            limit = self.options.limit
            self.total = found if limit is None else min(found, limit)

        task = asyncio.create_task(run())
        try:
            yield
        finally:
            task.cancel()

    @abstractmethod
    def harvest(self, fetcher: "Fetcher", state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        """The source's own stream behind ``records`` (implemented as an async generator)."""


def slug(text: str) -> str:
    """A collection-name-safe slug: lower case letters, digits, dots and dashes."""
    text = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")
    return text[:80] or "collection"


_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_slug(url: str, *extra: str) -> str:
    """``https://repo.example.org/oai/request`` -> ``repo.example.org-oai-request``: host, a port
    that is not the scheme's default, path and EXTRA, so two sources never share a default name."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    shown = str(port) if port is not None and port != _DEFAULT_PORTS.get(parts.scheme) else ""
    return slug("-".join([parts.hostname or "", shown, parts.path, *extra]))
