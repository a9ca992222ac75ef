"""Fetching a content by its claims: its verified CID, else each unchecked claim in turn, the
bytes checked (``mirror.binding``) before anything counts them as the content.

    stats = await fetch_verified(index, store, sha256, fetch)   # fetch(cid) -> RetrieveStats

The first claim tried is the content's candidate binding, then the others, authors already
caught in a false claim last (``indexer.bindings.candidates``), at most ``MAX_TRIES`` a call. A
claim whose CID is all here already is checked without a fetch. A fetched DAG whose bytes are not
the content is evidence against its claim (``content_claims``); its blocks are removed again
when the retrieval added every one of them (nothing held needs them), else left for ``verify``.
A claim whose DAG passes what the storage budget leaves (``BudgetExceeded``) is remembered as at
least that big (``mirror.node.copies.budget``) and the next claim is tried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from indexer import bindings
from indexer import copies as rows
from indexer.index import Index
from mirror import held
from mirror.errors import BudgetExceeded, ContentMismatch, ContentUnavailable, MirrorError
from mirror.node.copies import budget
from mirror.node.copies.retrieve import RetrieveStats
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, RAW
from mirror.store.exporter import dag_blocks

MAX_TRIES = 3


async def fetch_verified(index: Index, store: ContentStore, sha256: str,
                         fetch: Callable[[CID], Awaitable[RetrieveStats]], *,
                         skip: MirrorError | None = None, skipped: str = "") -> RetrieveStats:
    """Make the content SHA256 held here, fetching claims' CIDs with FETCH (see the module
    docstring); returns the stats of the fetch that made it (``cid``: the CID now bound). Raises
    ``ContentUnavailable`` when no claim could be fetched, ``ContentMismatch`` when the ones
    fetched were other bytes, ``BudgetExceeded`` when the last one tried passed the budget.
    SKIPPED: a CID already tried (and failed with SKIP): its claims are not tried again."""
    async with index.read() as conn:
        options = [c for c in await bindings.candidates(conn, sha256) if c.cid != skipped]
    failure: MirrorError = skip or ContentUnavailable(f"no claim names a CID for {sha256[:16]}…")
    for claim in options[:MAX_TRIES]:
        cid = CID.decode(claim.cid)
        stats = RetrieveStats(claim.cid)
        if not await asyncio.to_thread(store.has_all, cid):
            try:
                stats = await fetch(cid)
            except BudgetExceeded as exc:
                budget.remember_at_least(claim.cid, exc.limit + 1)
                failure = exc
                continue
            except (MirrorError, OSError) as exc:
                failure = exc if isinstance(exc, MirrorError) else ContentUnavailable(str(exc))
                continue
        if await held.refresh(index, store, [sha256]):
            return stats
        failure = ContentMismatch(f"the bytes of {claim.cid} (claimed by {claim.author[:16]}…) "
                                  f"are not {sha256[:16]}…")
        if stats.blocks and not stats.reused:
            await discard(index, store, claim.cid)
    raise failure


async def discard(index: Index, store: ContentStore, cid: str) -> int:
    """Delete the blocks under CID that no held content needs; returns how many."""
    async with index.read() as conn:
        keep = [c for _sha, c in await rows.held_contents(conn)]
    return await asyncio.to_thread(_delete_unneeded, store.blocks, cid, keep)


def _delete_unneeded(blocks: BlockStore, cid: str, keep: list[str]) -> int:
    doomed = dag_blocks(blocks, [cid]) - dag_blocks(blocks, keep)
    return sum(blocks.delete(CID(1, RAW, mh)) for mh in doomed)
