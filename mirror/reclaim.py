"""Reclaiming the blocks a killed process left: those its journal lists that no held content needs.

    found = await reclaim(index, store)                  # Reclaimed(journals, blocks, bytes)
    found = await reclaim(index, store, dry_run=True)    # only count (``verify`` without --repair)

A harvest, a bundle import or a replication fetch commits blocks before the index records what
they are for, listing them in a journal first (``mirror.store.journal``). When its process is gone
and the journal is still there, the work was cut short: every block the journal lists is deleted
unless a content marked held needs it (the held contents' DAGs are walked, reading only their
dag-pb nodes), then the journal is removed. Run at the start of a node and of a harvest, and by
``verify --repair``; it costs nothing when no journal is stale. Run ``held.reconcile`` first, so
that a content completed just before the kill counts as held.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from indexer import copies as rows
from indexer.index import Index
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, RAW
from mirror.store.exporter import dag_blocks
from mirror.store.journal import journaled, stale_journals


@dataclass
class Reclaimed:
    journals: int = 0            # stale journals found
    blocks: int = 0              # blocks deleted (with dry_run: that would be)
    bytes: int = 0
    dry_run: bool = False        # counted only

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def reclaim(index: Index, store: ContentStore, *, dry_run: bool = False) -> Reclaimed:
    """Delete the blocks stale journals list that no held content needs (see the module doc)."""
    stale = await asyncio.to_thread(stale_journals, store.blocks)
    if not stale:
        return Reclaimed(dry_run=dry_run)
    async with index.read() as conn:
        roots = [cid for _sha, cid in await rows.held_contents(conn)]
    return await asyncio.to_thread(_reclaim, store.blocks, stale, roots, dry_run)


def _reclaim(blocks: BlockStore, stale: list[Path], roots: list[str], dry_run: bool) -> Reclaimed:
    listed = set(journaled(stale))
    doomed = listed - dag_blocks(blocks, roots)
    found = Reclaimed(journals=len(stale), dry_run=dry_run)
    for multihash in doomed:
        cid = CID(1, RAW, multihash)
        try:
            size = blocks.size(cid)
        except LookupError:
            continue                             # already gone
        if dry_run or blocks.delete(cid):
            found.blocks, found.bytes = found.blocks + 1, found.bytes + size
    if not dry_run:
        for journal in stale:
            journal.unlink(missing_ok=True)
    return found
