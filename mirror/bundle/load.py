"""``openmirror import``: take in a bundle without any network, exactly as a sync from a peer would.

    report = await import_bundle(home, Path("/media/usb/notes"))

Order, so that a bad bundle changes nothing:

1. the manifest (format, version, every field), then every file it names present with its size;
2. every entries file against its sha256, every chain verified from seq 1 to the head the manifest
   names (signatures, links, timestamps), and the fork evidence: nothing is written before this;
3. every block of the CAR(s) verified against its CID and staged, each CAR against its sha256,
   committed all at once, then every root checked complete (else the new blocks are removed);
4. the entries applied through the node's own merge (``mirror.feed.merge.Merger``): feeds of
   blocked or not accepted authors are skipped as a sync skips them, each run is stored and merged
   with the conflict rule and the local licence gate in one transaction with its cursor, a chain
   that does not continue ours is fork evidence (recorded, as sync records it), entries dated in
   the future wait for the next sync. Feeds already held as far as the bundle goes change nothing,
   so importing twice is harmless, and a later sync with peers continues from these cursors;
5. every content is checked against the claims naming its CID (its bytes reassembled and hashed,
   ``mirror.binding``): a claim the bytes prove becomes the binding; contents that no live
   document here is bound to (a document whose licence this node's gate refuses, or a CID whose
   bytes are not what the entry claimed) are not kept: the blocks this import added for them are
   removed again. The blocks of step 3 are listed in a journal (``mirror.store.journal``) until
   then: an import that is killed or fails in between leaves blocks the next start reclaims
   (``mirror.reclaim``).

Integrity failures are ``IntegrityError`` (exit 4); something that is not a bundle is
``UsageError`` (exit 2).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator

from indexer import feeds, listing
from indexer.feeds import ForkRow
from indexer.index import Index
from indexer.records import Change, ContentOut
from mirror.bundle.files import BundleReader, Progress, open_bundle
from mirror.bundle.manifest import MAX_MANIFEST_BYTES, FeedRecord, Manifest, parse_manifest
from mirror.bundle.texts import extract_texts
from mirror.bundle.verify import (StoredContent, check_files, read_feed, remove_blocks,
                                  store_content, verify_feed, verify_forks)
from mirror.errors import PeerError
from mirror.home import Home
from mirror import binding, held
from mirror.feed.merge import Merger, StaleHead, fork_evidence, licence_allows
from mirror.feed.bodies import PUT
from mirror.feed.entry import Entry
from mirror.services import open_home
from mirror.store import ContentStore
from mirror.store.exporter import dag_blocks
from mirror.store.journal import Journal

STALE_RETRIES = 3


@dataclass
class ImportReport:
    path: str
    collection: str                                   # the collection the bundle was made for
    exported_by: str = ""                             # node id of the exporting node
    created: str = ""
    collections: dict[str, int] = field(default_factory=dict)   # touched -> live documents now
    documents_applied: int = 0                        # documents written or retracted
    entries: int = 0                                  # entries in the bundle (all verified)
    entries_stored: int = 0                           # entries new here
    authors: int = 0
    authors_skipped: list[str] = field(default_factory=list)    # blocked or not accepted here
    forked: list[str] = field(default_factory=list)   # feeds that do not continue ours
    forks_recorded: int = 0
    refused_licence: int = 0      # put entries stored but not indexed: the licence gate refuses them
    deferred: int = 0             # entries dated in the future: applied by a later sync
    contents: int = 0             # contents in the bundle
    contents_kept: int = 0        # held now for live documents
    contents_dropped: int = 0     # not kept: no live document here refers to them
    texts: int = 0                # contents whose text was extracted for search
    blocks_new: int = 0
    bytes_new: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Home:
    index: Index
    store: ContentStore
    merger: Merger


@asynccontextmanager
async def _opened(home: Home) -> AsyncIterator[_Home]:
    async with open_home(home) as services:
        yield _Home(services.index, services.store,
                    Merger(services.index, services.identity.node_id, home.settings.node.accept_authors))


async def import_bundle(home: Home, path: Path, *, progress: Progress | None = None) -> ImportReport:
    """Verify the bundle at PATH completely, then take it in; see the module docstring."""
    start = time.monotonic()
    source = await asyncio.to_thread(open_bundle, path)
    try:
        manifest = parse_manifest(await asyncio.to_thread(source.read_manifest, MAX_MANIFEST_BYTES))
        report = ImportReport(str(path), manifest.collection, manifest.node_id, manifest.created,
                              authors=len(manifest.feeds))
        await asyncio.to_thread(check_files, source, manifest)
        report.entries = await _verify_feeds(source, manifest, progress)
        forks = await asyncio.to_thread(verify_forks, source, manifest)
        async with _opened(home) as node:
            journal = Journal(node.store.blocks)         # kept if the import stops: reclaimed
            content = await asyncio.to_thread(store_content, source, manifest, node.store.blocks,
                                              _byte_counter("content", manifest, progress), journal)
            report.contents, report.blocks_new = len(content.roots), len(content.new)
            report.bytes_new = content.new_bytes
            touched = await _apply(node, source, manifest, forks, report, progress)
            kept = await _settle_content(node, content, report)
            await journal.aclose()
            report.texts = await extract_texts(node.index, node.store, home.staging_dir,
                                               kept, max_bytes=home.settings.fetch.max_bytes,
                                               progress=_counter("text", progress))
            report.collections = await _live_counts(node.index, {manifest.collection, *touched})
    finally:
        source.close()
    report.seconds = round(time.monotonic() - start, 3)
    return report


async def _verify_feeds(source: BundleReader, manifest: Manifest, progress: Progress | None) -> int:
    total, done = sum(f.seq for f in manifest.feeds), 0
    for feed in manifest.feeds:
        done += await asyncio.to_thread(verify_feed, source, feed)
        if progress is not None:
            progress("verify", done, total)
    return done


def _byte_counter(what: str, manifest: Manifest,
                  progress: Progress | None) -> Callable[[int], None] | None:
    if progress is None:
        return None
    total, done = sum(f.size for f in manifest.content), 0

    def count(n: int) -> None:
        nonlocal done
        done += n
        progress(what, done, total)
    return count


def _counter(what: str, progress: Progress | None) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(what, done, total)


# -- entries ---------------------------------------------------------------------------------------

async def _apply(node: _Home, source: BundleReader, manifest: Manifest, forks: list[ForkRow],
                 report: ImportReport, progress: Progress | None) -> set[str]:
    """Apply every accepted feed; returns the collections whose documents changed."""
    touched: Counter[str] = Counter()

    async def listen(changes: list[Change]) -> None:
        touched.update(c.document.collection for c in changes)

    node.index.add_listener(listen)
    try:
        async with node.index.read() as conn:
            policy = await node.merger.policy(conn)
        for fork in forks:
            if policy.accepts_author(fork.author):
                report.forks_recorded += await node.merger.add_fork(fork)
        for feed in manifest.feeds:
            if not policy.accepts_author(feed.author):
                report.authors_skipped.append(feed.author)
                continue
            await _apply_feed(node, source, feed, report)
            if progress is not None:
                progress("apply", report.entries_stored, report.entries)
    finally:
        node.index.remove_listener(listen)
    return set(touched)


async def _apply_feed(node: _Home, source: BundleReader, feed: FeedRecord, report: ImportReport) -> None:
    for _ in range(STALE_RETRIES):
        try:
            return await _apply_feed_once(node, source, feed, report)
        except StaleHead:
            continue             # another process (a running node) moved the feed: start again
    raise PeerError(f"the feed of {feed.author[:16]}… kept moving during the import",
                    hint="another process is syncing this home; run the import again")


async def _apply_feed_once(node: _Home, source: BundleReader, feed: FeedRecord,
                           report: ImportReport) -> None:
    head = await node.merger.head(feed.author)
    common = min(head.seq, feed.seq)           # both chains have an entry there: they must agree
    ours = head.head if common == head.seq else await _stored_hash(node.index, feed.author, common)
    async for page in _pages(source, feed):
        first = page[0].seq
        if common and first <= common <= page[-1].seq and page[common - first].hash != ours:
            await _record_fork(node, feed.author, page[common - first])
            report.forked.append(feed.author)
            return
        fresh = [e for e in page if e.seq > head.seq]
        if not fresh:
            continue
        report.refused_licence += sum(e.kind == PUT and not licence_allows(e.body) for e in fresh)
        applied = await node.merger.apply_run(feed.author, fresh, head)
        report.entries_stored += applied.stored
        report.documents_applied += applied.changed
        head = applied.head or head
        if applied.stored < len(fresh):
            report.deferred += feed.seq - head.seq     # dated in the future: a later sync
            return


async def _pages(source: BundleReader, feed: FeedRecord) -> AsyncIterator[list[Entry]]:
    pages: Iterator[list[Entry]] = read_feed(source, feed)
    while (page := await asyncio.to_thread(next, pages, None)) is not None:
        yield page


async def _stored_hash(index: Index, author: str, seq: int) -> bytes | None:
    if seq == 0:
        return None
    async with index.read() as conn:
        payload, signature = (await feeds.read_entries(conn, author, seq - 1, 1))[0]
    return sha256(payload + signature).digest()


async def _record_fork(node: _Home, author: str, theirs: Entry) -> None:
    """Our entry and the bundle's at one seq differ: both are signed, so they are fork evidence."""
    async with node.index.read() as conn:
        mine = (await feeds.read_entries(conn, author, theirs.seq - 1, 1))[0]
    await node.merger.add_fork(fork_evidence(mine, (theirs.payload, theirs.signature)))


# -- content and summary ---------------------------------------------------------------------------

async def _settle_content(node: _Home, content: StoredContent,
                          report: ImportReport) -> list[ContentOut]:
    """Check the bundle's contents against the claims that name them (``mirror.binding``), keep
    those live documents here are bound to (returned); remove the blocks this import added for
    the others."""
    await binding.check_claims(node.index, node.store, [str(root) for root in content.roots])
    wanted: dict[str, ContentOut] = {}
    unwanted: list[str] = []
    for root in content.roots:
        text = str(root)
        docs = await node.index.find_by_cid(text)
        found = next((c for d in docs for c in d.contents if c.cid == text), None)
        if found is None:
            unwanted.append(text)
        else:
            wanted[text] = found
    if unwanted and content.new:
        await asyncio.to_thread(_remove_unshared, node.store, unwanted, list(wanted), content.new)
    report.contents_kept, report.contents_dropped = len(wanted), len(unwanted)
    await held.refresh(node.index, node.store, list(wanted))
    return list(wanted.values())


def _remove_unshared(store: ContentStore, unwanted: list[str], wanted: list[str],
                     new: set[bytes]) -> int:
    doomed = (dag_blocks(store.blocks, unwanted) & new) - dag_blocks(store.blocks, wanted)
    return remove_blocks(store.blocks, doomed)


async def _live_counts(index: Index, names: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with index.read() as conn:
        for name in sorted(names):
            found = await listing.collection_summary(conn, name)
            counts[name] = found[0].documents if found else 0
    return counts

