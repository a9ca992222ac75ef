"""Checking a bundle before anything of it is kept: files, entry chains, and the content's blocks.

Synchronous (files and hashing); ``mirror.bundle.load`` runs these in worker threads.

* ``check_files``: every file the manifest names is there with its size (cheap, first).
* ``verify_feeds``: every entries file matches its sha256, decodes as a page within the protocol's
  limits, and every chain verifies from seq 1 (signatures, links, timestamps) to the head the
  manifest names; fork evidence is verified too. Only one page is held at a time.
* ``read_feed``: the pages of one feed again, for applying; each file is re-hashed against the
  manifest, so the bytes applied are the bytes verified (a file changed in between is refused).
* ``store_content``: every block of every CAR verified against its CID and staged in one
  blockstore batch, each file's size and sha256 checked at its end; committed only when all are
  good, then every root is checked complete. Blocks that were not here before are reported, so
  the caller can take them away again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from indexer.feeds import ForkRow
from mirror.bundle.files import BundleReader, ByteCount
from mirror.bundle.manifest import EntriesFile, FeedRecord, FileRecord, Manifest
from mirror.errors import CarError, IntegrityError, MirrorError, PeerError, SignatureError
from mirror.feed.merge import fork_evidence
from mirror.feed.codec import PAGE_MAX_BYTES, PAGE_MAX_ENTRIES, decode_page
from mirror.feed.entry import Entry, verify_chain
from mirror.store.blockstore import BlockStore, commit_batches
from mirror.store.car import CarReader
from mirror.store.cid import CID, IDENTITY, RAW
from mirror.store.exporter import has_dag
from mirror.store.journal import Journal


def check_files(source: BundleReader, manifest: Manifest) -> None:
    """``IntegrityError`` naming the first file that is missing or has another size."""
    for record in manifest.files():
        size = source.size(record.path)
        if size is None:
            raise IntegrityError(f"bundle file {record.path} is missing")
        if size != record.size:
            raise IntegrityError(f"bundle file {record.path} is {size} bytes, the manifest says "
                                 f"{record.size}")


def _decode(source: BundleReader, record: FileRecord) -> list[Entry]:
    if record.size > PAGE_MAX_BYTES:
        raise IntegrityError(f"bundle file {record.path} is larger than a page may be")
    with source.open(record) as reader:
        body = reader.read(record.size + 1)
        reader.finish()
    try:
        return decode_page(body, max_entries=PAGE_MAX_ENTRIES, max_bytes=PAGE_MAX_BYTES)
    except PeerError as exc:
        raise IntegrityError(f"bundle file {record.path} is damaged: {exc}") from None


def read_page_file(source: BundleReader, record: EntriesFile) -> list[Entry]:
    """The entries of one page file, its checksum checked; ``IntegrityError`` otherwise."""
    entries = _decode(source, record)
    if not entries or entries[0].seq != record.first or entries[-1].seq != record.last:
        raise IntegrityError(f"bundle file {record.path} does not hold entries "
                             f"{record.first}…{record.last}")
    return entries


def read_feed(source: BundleReader, feed: FeedRecord) -> Iterator[list[Entry]]:
    """The pages of FEED in order (already verified by ``verify_feeds``; checksums re-checked)."""
    for record in feed.files:
        yield read_page_file(source, record)


def verify_feed(source: BundleReader, feed: FeedRecord) -> int:
    """Verify FEED's chain from seq 1 to its head; returns the number of entries."""
    seq, prev, ts = 0, None, None
    for record in feed.files:
        entries = read_page_file(source, record)
        try:
            verify_chain(entries, author=feed.author, after_seq=seq, after_hash=prev, after_ts=ts)
        except SignatureError as exc:
            raise SignatureError(f"bundle file {record.path}: {exc}") from None
        last = entries[-1]
        seq, prev, ts = last.seq, last.hash, last.ts
    if prev is None or prev.hex() != feed.head:
        raise IntegrityError(f"the feed of {feed.author[:16]}… in the bundle does not end at the "
                             "head its manifest names")
    return seq


def verify_forks(source: BundleReader, manifest: Manifest) -> list[ForkRow]:
    """The bundle's fork evidence, each pair verified (two signed entries, one seq, two hashes)."""
    if manifest.forks is None:
        return []
    entries = _decode(source, manifest.forks)
    try:
        if len(entries) % 2:
            raise PeerError("an odd number of entries")
        return [fork_evidence((a.payload, a.signature), (b.payload, b.signature))
                for a, b in zip(entries[::2], entries[1::2])]
    except (PeerError, SignatureError) as exc:
        raise IntegrityError(f"bundle file {manifest.forks.path} is damaged: {exc}") from None


@dataclass
class StoredContent:
    """What ``store_content`` did."""

    roots: list[CID] = field(default_factory=list)     # every root of every CAR, once
    new: set[bytes] = field(default_factory=set)       # multihashes of blocks that were not here
    blocks: int = 0
    new_bytes: int = 0


def store_content(source: BundleReader, manifest: Manifest, blocks: BlockStore,
                  on_read: ByteCount | None = None, journal: Journal | None = None) -> StoredContent:
    """Verify and store every block of the bundle's CARs, all or nothing (see module docstring);
    the keys of the new blocks go to JOURNAL first, for the caller to close once they are used."""
    done = StoredContent()
    seen: set[bytes] = set()
    batch = blocks.open_batch()
    try:
        for record in manifest.content:
            with source.open(record, on_read) as stream:
                try:
                    reader = CarReader(stream)   # type: ignore[arg-type]
                    if len(reader.roots) != record.roots:
                        raise CarError(f"holds {len(reader.roots)} roots, the manifest says "
                                       f"{record.roots}")
                    for cid, block in reader:
                        done.blocks += 1
                        if cid.hash_code != IDENTITY and not batch.has(cid):
                            batch.put(cid, block)
                            done.new.add(cid.multihash)
                            done.new_bytes += len(block)
                except CarError as exc:
                    raise CarError(f"bundle file {record.path}: {exc}") from exc
                stream.finish()
            for root in reader.roots:
                if bytes(root) not in seen:
                    seen.add(bytes(root))
                    done.roots.append(root)
    except BaseException:
        batch.abort()
        raise
    commit_batches([batch], journal)
    incomplete = [root for root in done.roots if not _complete(blocks, root)]
    if incomplete:
        remove_blocks(blocks, done.new)
        raise CarError(f"the bundle's CAR lacks blocks of {len(incomplete)} of its "
                       f"{len(done.roots)} contents (first: {incomplete[0]})")
    return done


def _complete(blocks: BlockStore, root: CID) -> bool:
    try:
        return has_dag(blocks, root)
    except MirrorError:          # a malformed dag-pb node: the content cannot be read
        return False


def remove_blocks(blocks: BlockStore, multihashes: set[bytes]) -> int:
    """Delete these blocks (ones this import added); returns how many were there."""
    return sum(blocks.delete(CID(1, RAW, mh)) for mh in multihashes)
