"""``openmirror export``: write one collection's content and signed entries as an offline bundle.

    report = await export_bundle(home, "notes", Path("/media/usb/notes"))

What goes in (``docs/bundles.md`` explains why):

* **content**: every content of the collection's live, published documents (a private one,
  ``mirror.publication``, leaves its home in no bundle) that this node holds completely,
  as CARv1 files (the content roots as CAR roots, blocks depth-first, each once; at most
  ``ROOTS_PER_CAR`` roots per file, so the header stays within what readers accept). Contents
  not held completely are refused (``NotFound``, exit 1) unless ``allow_missing``.
* **entries**: for every author with a stored entry about a document of the collection (its
  current and earlier versions and retractions), that author's chain from seq 1 to its last
  such entry: a prefix of a hash chain is the only part of a feed that verifies on its own.
  Authors this node blocks are left out, like a node leaves them out of what it serves.
* **fork evidence** this node holds about those authors.

The CAR streams from the blockstore to the bundle, hashed as it is written; an entries page is
at most one protocol page (5,000 entries, 32 MiB), so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from hashlib import sha256
from pathlib import Path
from typing import Iterable

from indexer import feeds, peers as peer_rows
from indexer.index import Index
from mirror.bundle.files import BundleSink, ByteCount, Progress, open_sink
from mirror.bundle.manifest import (FORKS_NAME, ContentFile, EntriesFile, FeedRecord, FileRecord,
                                    Manifest, content_name, entries_name)
from mirror.errors import InvalidCID, MirrorError, NotFound, UsageError
from mirror.home import Home
from mirror.feed.codec import PAGE_MAX_ENTRIES, encode_page
from mirror.feed.entry import parse_entry
from mirror.held import holds
from mirror.services import open_home
from mirror.store import ContentStore
from mirror.store.cid import CID
from indexer.clock import entry_time

ROOTS_PER_CAR = 8192             # ~41 bytes each: a CAR header well under readers' 1 MiB bound
PAGE_PAYLOAD_BYTES = 24 << 20    # payload bytes per page: with 5,000 records' framing, < 32 MiB
KEYS_PER_QUERY = 500


@dataclass
class ExportReport:
    path: str
    collection: str
    documents: int = 0           # live documents of the collection
    contents: int = 0            # contents written to the CAR
    content_bytes: int = 0       # their size as files
    car_bytes: int = 0           # size of the CAR file(s)
    missing: int = 0             # contents left out because they are not held here
    authors: int = 0
    entries: int = 0
    forks: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Selection:
    keys: set[tuple[str, str]]
    documents: int
    sizes: dict[str, int]         # CID text -> size, contents of live documents in order


@dataclass(frozen=True)
class Sizes:
    """How much goes in one file (smaller values only make more files)."""

    page_entries: int = PAGE_MAX_ENTRIES
    roots_per_car: int = ROOTS_PER_CAR

    def __post_init__(self) -> None:
        if not (0 < self.page_entries <= PAGE_MAX_ENTRIES and 0 < self.roots_per_car <= ROOTS_PER_CAR):
            raise UsageError(f"entries per page must be 1…{PAGE_MAX_ENTRIES} and roots per CAR "
                             f"1…{ROOTS_PER_CAR}")


async def export_bundle(home: Home, collection: str, out: Path, *, force: bool = False,
                        allow_missing: bool = False, progress: Progress | None = None,
                        sizes: Sizes = Sizes()) -> ExportReport:
    """Write COLLECTION as a bundle at OUT (a folder, or a ``.tar`` file); see the module docstring."""
    start = time.monotonic()
    async with open_home(home, read_only=True) as services:
        index, store = services.index, services.store
        chosen = await _select(index, collection)
        held, missing = await asyncio.to_thread(_split_held, store, list(chosen.sizes))
        if missing and not allow_missing:
            raise NotFound(f"{len(missing)} of {len(chosen.sizes)} contents of {collection!r} are "
                           f"not held here (first: {missing[0]})",
                           hint="fetch them with `openmirror get CID`, wait for replication, or "
                                "pass --allow-missing to export what is held")
        heads = await _authors(index, chosen.keys)
        report = ExportReport(str(out), collection, chosen.documents, len(held),
                              sum(chosen.sizes[str(c)] for c in held), missing=len(missing))
        manifest = Manifest(collection, entry_time(), services.identity.node_id)
        sink = await asyncio.to_thread(open_sink, out, force=force)
        try:
            await _write_all(sink, index, store, heads, held, manifest, report, progress, sizes)
        except BaseException:
            await asyncio.to_thread(sink.abort)
            raise
    report.seconds = round(time.monotonic() - start, 3)
    return report


async def _write_all(sink: BundleSink, index: Index, store: ContentStore, heads: dict[str, int],
                     held: list[CID], manifest: Manifest, report: ExportReport,
                     progress: Progress | None, sizes: Sizes) -> None:
    total = sum(heads.values())
    for author in sorted(heads):
        manifest.feeds.append(await _write_feed(sink, index, author, heads[author], report, total,
                                                progress, sizes.page_entries))
    manifest.forks, report.forks = await _write_forks(sink, index, sorted(heads))
    written = 0

    def count(n: int) -> None:
        nonlocal written
        written += n
        if progress is not None:
            progress("content", written, report.content_bytes)

    for number, lo in enumerate(range(0, len(held), sizes.roots_per_car)):
        part = held[lo:lo + sizes.roots_per_car]
        manifest.content.append(await asyncio.to_thread(_write_car, sink, store, number, part, count))
    report.authors = len(heads)
    report.car_bytes = sum(f.size for f in manifest.content)
    manifest.counts = {"documents": report.documents, "contents": report.contents,
                       "content_bytes": report.content_bytes, "missing": report.missing,
                       "authors": report.authors, "entries": report.entries, "forks": report.forks}
    await asyncio.to_thread(sink.finish, manifest.to_json())


async def _select(index: Index, collection: str) -> _Selection:
    """Every document key of COLLECTION (live or retracted) and the contents of the live, published
    ones (a private document is signed into no feed, so no bundle carries it either)."""
    chosen = _Selection(set(), 0, {})
    async for doc in index.iter_documents(collection, include_deleted=True):
        chosen.keys.add((doc.collection, doc.source_id))
        if doc.deleted or doc.private:
            continue
        chosen.documents += 1
        for content in doc.contents:
            chosen.sizes.setdefault(content.cid, content.size)
    if not chosen.keys:
        raise UsageError(f"no documents in a collection named {collection!r} here",
                         hint="`openmirror stats` lists the collections")
    return chosen


def _split_held(store: ContentStore, cids: list[str]) -> tuple[list[CID], list[str]]:
    held: list[CID] = []
    missing: list[str] = []
    seen: set[bytes] = set()
    for text in cids:
        try:
            cid = CID.decode(text)
        except InvalidCID:
            missing.append(text)
            continue
        if bytes(cid) in seen:
            continue
        seen.add(bytes(cid))
        if holds(store, text):
            held.append(cid)
        else:
            missing.append(text)
    return held, missing


async def _authors(index: Index, keys: set[tuple[str, str]]) -> dict[str, int]:
    """Per author not blocked here: the seq of its last stored entry about one of KEYS."""
    heads: dict[str, int] = {}
    ordered = sorted(keys)
    async with index.read() as conn:
        blocked = set(await peer_rows.list_blocked(conn))
        for lo in range(0, len(ordered), KEYS_PER_QUERY):
            chunk = ordered[lo:lo + KEYS_PER_QUERY]
            rows = await feeds.entries_about(conn, [feeds.target_of(*k) for k in chunk])
            for payload, signature in rows:
                entry = parse_entry(payload, signature)
                if entry.target in keys and entry.author not in blocked:
                    heads[entry.author] = max(heads.get(entry.author, 0), entry.seq)
    return heads


async def _write_feed(sink: BundleSink, index: Index, author: str, last_seq: int,
                      report: ExportReport, total: int, progress: Progress | None,
                      page_entries: int) -> FeedRecord:
    files: list[EntriesFile] = []
    after, head = 0, b""
    while after < last_seq:
        async with index.read() as conn:
            pairs = await feeds.read_entries(conn, author, after, min(page_entries, last_seq - after),
                                             max_bytes=PAGE_PAYLOAD_BYTES)
        if not pairs:
            raise MirrorError(f"the stored feed of {author[:16]}… ends at {after}, before {last_seq}")
        body = await asyncio.to_thread(encode_page, pairs)
        record = await asyncio.to_thread(sink.write, entries_name(author, len(files)), body)
        files.append(EntriesFile(record.path, record.sha256, record.size, after + 1, after + len(pairs)))
        after += len(pairs)
        head = sha256(pairs[-1][0] + pairs[-1][1]).digest()
        report.entries += len(pairs)
        if progress is not None:
            progress("entries", report.entries, total)
    return FeedRecord(author, last_seq, head.hex(), files)


async def _write_forks(sink: BundleSink, index: Index,
                       authors: Iterable[str]) -> tuple[FileRecord | None, int]:
    """The fork evidence held about AUTHORS, as one page of entry pairs (as much as fits)."""
    pairs: list[tuple[bytes, bytes]] = []
    size = 0
    async with index.read() as conn:
        for author in authors:
            for fork in await feeds.list_forks(conn, author=author):
                size += len(fork.a[0]) + len(fork.b[0])
                if size > PAGE_PAYLOAD_BYTES or len(pairs) + 2 > PAGE_MAX_ENTRIES:
                    break
                pairs += [fork.a, fork.b]
    if not pairs:
        return None, 0
    body = await asyncio.to_thread(encode_page, pairs)
    return await asyncio.to_thread(sink.write, FORKS_NAME, body), len(pairs) // 2


def _write_car(sink: BundleSink, store: ContentStore, number: int, roots: list[CID],
               on_write: ByteCount) -> ContentFile:
    with sink.stream(content_name(number), on_write) as out:
        store.export_car(roots, out)      # type: ignore[arg-type]
    record = out.record
    return ContentFile(record.path, record.sha256, record.size, len(roots))
