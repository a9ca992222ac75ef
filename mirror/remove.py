"""Removing things: ``openmirror rm`` and ``gc`` (local pins, which both respect: ``mirror.pins``).

    removed = await remove(home, cid="bafy...")          # or collection="notes"
    swept = await collect_garbage(home)                  # blocks nothing references, left-over staging

**rm** retracts every live document that lists the CID (with ``--collection``, every document of
the collection): a signed retraction, which peers apply at their next sync (gone from their search,
their copies dropped), and the gateway here stops serving the content at once
(``mirror.publication``). It drops the local pins of those contents and of the CID, and forgets
the documents' harvest statuses, so a later ``mirror`` of the same source stores them again (after
``rm --collection``, from scratch). The blocks stay until ``gc``.

**gc** runs alone on the home (its write lock held exclusively: no node, harvest or ``add``
meanwhile, so no block is swept from under a writer) and deletes every block that no live
document's content and no pin references (their DAGs are walked, reading only dag-pb nodes), the
bodies a killed harvest left in ``HOME/staging`` and the journals of killed imports. Held marks and
unpublished rows of what it deleted are updated.
"""

from __future__ import annotations

import asyncio
import builtins
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from indexer import copies as copy_rows
from indexer import harvest
from indexer import publication as rows
from indexer.index import Index, Transaction
from mirror import held
from mirror.errors import NotFound, UsageError
from mirror.home import Home
from mirror.publication import cid_texts, record_unpublished
from mirror.services import open_home
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, RAW
from mirror.store.exporter import dag_blocks
from mirror.store.journal import stale_journals

BATCH = 500


@dataclass
class Removed:
    documents: int = 0           # documents retracted
    unpinned: int = 0            # local pins dropped

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Swept:
    blocks: int = 0              # blocks deleted (dry run: that would be)
    bytes: int = 0
    kept: int = 0                # blocks referenced by a live document or a pin
    staging: int = 0             # left-over staging files and journals removed
    dry_run: bool = False
    removed: list[builtins.bytes] = field(default_factory=list, repr=False)   # their multihashes

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "removed"}


async def remove(home: Home, *, cid: str | None = None, collection: str | None = None) -> Removed:
    """``openmirror rm CID`` or ``rm --collection NAME`` (see the module docstring); ``NotFound``
    when nothing lists or pins CID, or the collection holds no live document."""
    if (cid is None) == (collection is None):
        raise UsageError("name what to remove: a CID, or --collection NAME")
    async with open_home(home) as services:
        index = services.index
        if cid is not None:
            texts = cid_texts(CID.decode(cid))
            docs = [d for text in texts for d in await index.find_by_cid(text, include_private=True)]
        else:
            texts = []
            docs = [d async for d in index.iter_documents(collection)]
        keys = sorted({(d.collection, d.source_id) for d in docs})
        roots = sorted({c.cid for d in docs for c in d.contents} | set(texts))
        done = Removed()
        for start in range(0, max(len(keys), 1), BATCH):
            async with index.transaction() as tx:
                if start == 0:
                    done.unpinned = await _unpin_all(tx, roots)
                    await record_unpublished(tx, services.store, roots)   # what no document lists
                done.documents += await _retract(tx, keys[start:start + BATCH])
        if collection is not None:
            async with index.transaction() as tx:
                await harvest.forget_records(await tx.connection(), await tx.collection_id(collection), None)
    if not (done.documents or done.unpinned):
        what = (f"collection {collection!r} has no live document" if collection
                else f"no document lists {cid} and it is not pinned")
        raise NotFound(f"nothing to remove: {what}", hint='find what is here with: openmirror search ""')
    return done


async def _unpin_all(tx: Transaction, roots: list[str]) -> int:
    conn = await tx.connection()
    return sum([await rows.remove_pin(conn, root) for root in roots])


async def _retract(tx: Transaction, keys: list[tuple[str, str]]) -> int:
    retracted = 0
    for collection, source_id in keys:
        if await tx.retract(collection, source_id):
            retracted += 1
            await harvest.forget_records(await tx.connection(), await tx.collection_id(collection), [source_id])
    return retracted


# -- gc ---------------------------------------------------------------------------------------------

async def collect_garbage(home: Home, *, dry_run: bool = False) -> Swept:
    """``openmirror gc`` (see the module docstring); ``HomeLocked`` while another process writes
    the home."""
    async with open_home(home, alone=True) as services:
        async with services.index.read() as conn:
            roots = await rows.live_roots(conn)
        swept = await asyncio.to_thread(_sweep, services.store, home.staging_dir, roots, dry_run)
        if swept.removed:
            await _forget(services.index, services.store, swept.removed)
    return swept


def _sweep(store: ContentStore, staging: Path, roots: list[str], dry_run: bool) -> Swept:
    keep = dag_blocks(store.blocks, roots)
    swept = Swept(kept=len(keep), dry_run=dry_run)
    for multihash in list(store.blocks.iter_multihashes()):
        if multihash in keep:
            continue
        cid = CID(1, RAW, multihash)
        try:
            size = store.blocks.size(cid)
        except LookupError:
            continue
        if dry_run or store.blocks.delete(cid):
            swept.blocks, swept.bytes = swept.blocks + 1, swept.bytes + size
            swept.removed.append(multihash)
    swept.staging = _left_over(store.blocks, staging, dry_run)
    if dry_run:
        swept.removed = []
    return swept


def _left_over(blocks: BlockStore, staging: Path, dry_run: bool) -> int:
    """Remove what killed runs left: fetched bodies in STAGING (nothing else writes the home while
    gc holds it) and stale import journals (their blocks were just swept if nothing needs them)."""
    found = [p for p in staging.iterdir()] if staging.is_dir() else []
    found += stale_journals(blocks)
    if not dry_run:
        for path in found:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    return len(found)


async def _forget(index: Index, store: ContentStore, removed: list[bytes]) -> None:
    """What gc deleted is neither unpublished any more nor held."""
    async with index.transaction() as tx:
        await rows.forget_blocks(await tx.connection(), removed)
    gone = set(removed)
    async with index.read() as conn:
        marked = await copy_rows.held_contents(conn)
    stale = [sha for sha, text in marked if _multihash(text) in gone]
    if stale:
        await held.refresh(index, store, stale)


def _multihash(text: str) -> bytes | None:
    try:
        return CID.decode(text).multihash
    except UsageError:
        return None
