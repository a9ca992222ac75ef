"""Which contents this node holds completely: bound to a verified CID (``mirror.binding``) whose
every block is in the local blockstore.

The answer is kept in the ``held_contents`` table so that ``status`` counts held documents with
one query instead of walking DAGs. It is updated:

* in every write transaction of the index, by ``HeldContents``, the precommit hook
  ``mirror.services.open_home`` attaches: the contents of every document stored or updated (a
  local change, whose blocks ingest stored before indexing, or an entry merged from a peer, whose
  content may already be here) are checked and marked;
* by ``refresh`` whenever content is stored or removed by other means (``openmirror get``,
  replication, garbage collection): call it with the sha256s or CIDs concerned; claims on them
  whose DAG is now complete are checked first (``mirror.binding.check_claims``);
* by ``reconcile`` when a node starts: every unchecked claim whose DAG is here is checked, then
  contents never marked are looked at (cheap: one ``stat`` of the root block when absent).

DAG walks run in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from indexer import bindings, feeds
from indexer.index import Index, Transaction
from indexer.records import Change, DocumentIn
from mirror.binding import check_claims
from mirror.errors import MirrorError
from mirror.store import CID, ContentStore
from indexer.clock import entry_time

RECONCILE_BATCH = 2000


def holds(store: ContentStore, cid_text: str) -> bool:
    """True when every block of CID_TEXT is in STORE (False for a CID we cannot read)."""
    try:
        return store.has_all(CID.decode(cid_text))
    except (MirrorError, ValueError):
        return False


def _split(store: ContentStore, pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    if len(pairs) > 1 and store.is_empty():   # a fresh node merging a peer's feed holds nothing yet
        return [], [sha for sha, _cid in pairs]
    have: list[str] = []
    lack: list[str] = []
    for sha, cid in pairs:
        (have if holds(store, cid) else lack).append(sha)
    return have, lack


async def mark_held(conn: AsyncConnection, store: ContentStore, documents: Iterable[DocumentIn]) -> None:
    """Check the contents of DOCUMENTS against STORE and mark them held or not, on CONN."""
    shas = {c.sha256.lower() for d in documents for c in d.contents}
    if not shas:
        return
    bound = await bindings.bound(conn, shas)
    pairs = [(sha, cid) for sha, (_id, cid, verified) in bound.items() if verified]
    have, lack = await asyncio.to_thread(_split, store, pairs)
    lack += [sha for sha, (_id, _cid, verified) in bound.items() if not verified]
    await feeds.set_held(conn, [bound[s][0] for s in have], [bound[s][0] for s in lack], entry_time())


class HeldContents:
    """The index precommit hook that marks the contents of stored and updated documents."""

    def __init__(self, store: ContentStore) -> None:
        self.store = store

    def attach(self, index: Index) -> None:
        index.add_precommit_hook(self.hook)

    async def hook(self, tx: Transaction, changes: list[Change]) -> None:
        documents = [c.document for c in changes if c.kind != "retracted"]
        if documents:
            await mark_held(await tx.connection(), self.store, documents)


async def refresh(index: Index, store: ContentStore, keys: Iterable[str]) -> int:
    """Re-check the contents named by KEYS (sha256 hex or CID); returns how many are held."""
    wanted = list(dict.fromkeys(keys))
    await check_claims(index, store, wanted)
    found = [c for c in [await index.get_content(k) for k in wanted] if c is not None]
    if not found:
        return 0
    have, lack = await asyncio.to_thread(_split, store, [(c.sha256, c.cid) for c in found if c.verified])
    lack += [c.sha256 for c in found if not c.verified]
    async with index.transaction() as tx:
        conn = await tx.connection()
        ids = await feeds.content_ids(conn, [c.sha256 for c in found])
        await feeds.set_held(conn, [ids[s] for s in have], [ids[s] for s in lack], entry_time())
    return len(have)


async def reconcile(index: Index, store: ContentStore) -> int:
    """Check the claims whose DAG is complete in STORE, then mark every verified content not yet
    marked held that is complete there; returns how many were marked."""
    await check_claims(index, store)
    after, marked = 0, 0
    while True:
        async with index.read() as conn:
            batch = await feeds.unchecked_contents(conn, after, RECONCILE_BATCH)
        if not batch:
            return marked
        have, _ = await asyncio.to_thread(_split, store, [(s, c) for _, s, c in batch])
        if have:
            by_sha = {s: i for i, s, _ in batch}
            async with index.transaction() as tx:
                await feeds.set_held(await tx.connection(), [by_sha[s] for s in have], [], entry_time())
            marked += len(have)
        after = batch[-1][0]
