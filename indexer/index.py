"""The index facade the crawler, the network and the CLI call.

    index = await Index.open(home.db_path)          # creates or migrates the database
    result = await index.upsert_document(doc)       # UpsertResult("stored" | "updated" | "unchanged")
    async with index.transaction() as tx:           # several writes (and your own rows) atomically
        await tx.upsert_document(doc)
        tx.session.add(...)                         # e.g. a signed feed entry
    hits = await index.search(SearchQuery("open data", license="CC-BY*"))
    async with index.read() as conn:                # one read-only snapshot for your own queries
        ...
    await index.close()

Open an index through ``mirror.services.open_home``, which attaches the hooks every write needs (the
signed feed, the held-content bookkeeping); ``Index.open(path, read_only=True)`` gives an index that
refuses every write (``ReadOnlyIndex``).

Writes are serialised (one writer at a time, see ``indexer.db``); reads run beside them. After every
commit the listeners added with ``add_listener`` receive that transaction's ``Change`` list, in commit
order; a transaction that rolls back reports nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from contextlib import AbstractAsyncContextManager
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer import fts

from indexer import harvest

from indexer import read
from indexer.read import Query

from indexer import search
from indexer.db import Database, bare, bare_query
from indexer.errors import DatabaseDamaged, ReadOnlyIndex
from indexer.migrate import upgrade
from indexer.records import (Change, CollectionIn, ContentOut, DocumentIn, DocumentOut, Hit,
                             IndexStats, RecordState, SearchQuery, UpsertResult)
from indexer.transaction import Transaction

T = TypeVar("T")

log = logging.getLogger(__name__)

Listener = Callable[[list[Change]], Awaitable[None]]
PrecommitHook = Callable[[Transaction, list[Change]], Awaitable[None]]


class Index:
    """One index file. Open with ``await Index.open(path)``; close with ``await index.close()``."""

    def __init__(self, db: Database, *, read_only: bool = False) -> None:
        self._db = db
        self.read_only = read_only
        self._collection_ids: dict[str, int] = {}
        self._listeners: list[Listener] = []
        self._precommit: list[PrecommitHook] = []
        self._pending: deque[list[Change]] = deque()
        self._dispatching = False

    @classmethod
    async def open(cls, db_path: Path, *, read_only: bool = False) -> "Index":
        """Open the index at ``db_path``, creating it or applying pending migrations first.

        With ``read_only`` every write (``transaction`` and what uses it) raises ``ReadOnlyIndex``.
        """
        await asyncio.to_thread(upgrade, Path(db_path))
        return cls(Database(Path(db_path)), read_only=read_only)

    @property
    def path(self) -> Path:
        return self._db.path

    async def close(self) -> None:
        await self._db.dispose()

    async def __aenter__(self) -> "Index":
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    # -- writing ---------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One write transaction (the writer lock held); changes are reported after commit."""
        if self.read_only:
            raise ReadOnlyIndex(f"the index {self.path} was opened read-only")
        async with self._db.write() as session:
            tx = Transaction(session, self._collection_ids)
            yield tx
            for hook in list(self._precommit):
                await hook(tx, tx.changes)
        self._collection_ids.update(tx.created_collections)
        if tx.changes:
            self._pending.append(tx.changes)
            await self._dispatch()

    async def upsert_collection(self, collection: CollectionIn) -> int:
        async with self.transaction() as tx:
            return await tx.upsert_collection(collection)

    async def upsert_document(self, doc: DocumentIn, *, origin: str | None = None) -> UpsertResult:
        async with self.transaction() as tx:
            return await tx.upsert_document(doc, origin=origin)

    async def upsert_documents(self, docs: list[DocumentIn], *,
                               origin: str | None = None) -> list[UpsertResult]:
        """Upsert many documents in one transaction (the fast path); results in input order."""
        async with self.transaction() as tx:
            return await tx.upsert_documents(docs, origin=origin)

    async def retract(self, collection: str, source_id: str, *, origin: str | None = None) -> bool:
        """Mark a document deleted and drop it from search; False when there was nothing live."""
        async with self.transaction() as tx:
            return await tx.retract(collection, source_id, origin=origin)

    # -- change hook -----------------------------------------------------------------------

    def add_precommit_hook(self, hook: PrecommitHook) -> None:
        """Call ``await hook(tx, changes)`` inside every write transaction, just before commit.

        The hook may write its own rows through ``tx`` (the signed feed appends its entries this
        way, so a document and its entry commit together); raising rolls the transaction back.
        """
        self._precommit.append(hook)

    def add_listener(self, callback: Listener) -> None:
        """Call ``await callback(changes)`` after every commit that changed documents."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        self._listeners.remove(callback)

    async def _dispatch(self) -> None:
        """Deliver pending change lists in commit order; one task delivers at a time."""
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._pending:
                changes = self._pending.popleft()
                for callback in list(self._listeners):
                    try:
                        await callback(changes)
                    except Exception:
                        log.exception("index change listener %r failed", callback)
        finally:
            self._dispatching = False

    # -- reading ---------------------------------------------------------------------------

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """One read-only snapshot for queries of your own: ``async with index.read() as conn``."""
        return self._db.read()

    async def read_query(self, fn: Callable[[Query], T]) -> T:
        """``fn(query)`` in one read-only snapshot, in a worker thread: the reads written on a
        ``Query`` (``indexer.read``, ``indexer.tallies``), shared with the bare reader."""
        return await self._db.run_read(lambda conn: fn(bare_query(conn)))

    async def get_document(self, collection: str, source_id: str) -> DocumentOut | None:
        return await self._db.run_read(lambda conn: _document(bare_query(conn), collection, source_id))

    async def find_by_cid(self, cid: str, *, include_deleted: bool = False,
                          include_private: bool = False) -> list[DocumentOut]:
        """Documents having a file with this CID (or sha256); private ones (not published) only
        with ``include_private`` (a local look-up: ``openmirror show``)."""
        return await self._db.run_read(lambda conn: read.by_cid(bare_query(conn), cid, include_deleted=include_deleted,
                                                                include_private=include_private))

    async def get_content(self, sha256_or_cid: str) -> ContentOut | None:
        return await self._db.run_read(lambda conn: read.content(bare_query(conn), sha256_or_cid))

    async def iter_documents(self, collection: str | None = None, batch: int = 1000, *,
                             include_deleted: bool = False) -> AsyncIterator[DocumentOut]:
        """Every document (of one collection), by id; each batch is read in its own snapshot."""
        after = 0
        while True:
            docs = await self._db.run_read(functools.partial(
                _page, collection=collection, after_id=after, limit=batch, include_deleted=include_deleted))
            for doc in docs:
                yield doc
            if len(docs) < batch:
                return
            after = docs[-1].id

    async def stats(self, *, include_private: bool = False) -> IndexStats:
        """Counts per collection and in all, of published documents (all with ``include_private``)."""
        return await self._db.run_read(lambda conn: read.stats(bare_query(conn), include_private=include_private))

    async def search(self, query: SearchQuery, *,
                     timeout: float = search.SEARCH_TIMEOUT) -> list[Hit]:
        """Full-text search with filters; raises ``QueryError`` for a query it cannot run
        (or one still running after ``timeout`` seconds)."""
        plan = search.plan(query)
        return await self._db.run_read(lambda conn: search.run(bare(conn), plan, timeout))

    @property
    def checkpoints(self) -> int:
        """Write-ahead log checkpoints made after a full disk (``indexer.db``)."""
        return self._db.checkpoints

    @property
    def damage(self) -> DatabaseDamaged | None:
        """The damage a statement found in the file since it was opened (None: none found)."""
        return self._db.damage

    async def integrity(self, *, quick: bool = True) -> list[str]:
        """What SQLite finds wrong with the file (``PRAGMA quick_check``, or the slower
        ``integrity_check`` that also compares every index with its table); [] when it is sound.
        Anything found is also remembered as ``damage``."""
        return await self._db.integrity(quick)

    async def check(self) -> None:
        """Raise ``DatabaseDamaged`` when the full-text index disagrees with the documents."""
        async with self._db.write() as session:   # FTS5 checks through an INSERT
            await fts.check_fts(session)

    # -- harvest state ---------------------------------------------------------------------

    async def get_state(self, collection: str, key: str) -> str | None:
        async with self._db.read() as conn:
            return await harvest.get_state(conn, collection, key)

    async def get_states(self, collection: str, keys: list[str]) -> dict[str, str]:
        """key -> value for those of KEYS the collection has, in one query."""
        async with self._db.read() as conn:
            return await harvest.get_states(conn, collection, keys)

    async def set_state(self, collection: str, key: str, value: str | None) -> None:
        async with self.transaction() as tx:
            await tx.set_state(collection, key, value)

    async def set_record_status(self, collection: str, source_id: str, status: str,
                                datestamp: str | None = None, detail: str | None = None) -> None:
        async with self.transaction() as tx:
            await tx.set_record_status(collection, source_id, status, datestamp, detail)

    async def get_record_status(self, collection: str, source_id: str) -> RecordState | None:
        async with self._db.read() as conn:
            return await harvest.get_record_status(conn, collection, source_id)

    async def get_record_statuses(self, collection: str,
                                  source_ids: list[str]) -> dict[str, RecordState]:
        """source_id -> state for those of SOURCE_IDS that have one."""
        async with self._db.read() as conn:
            return await harvest.get_record_statuses(conn, collection, source_ids)

    async def list_records(self, collection: str, status: str, *, after: str = "",
                           limit: int = 1000) -> list[RecordState]:
        """Records with ``status`` (e.g. those left "in_flight"), ``limit`` at a time after ``after``."""
        async with self._db.read() as conn:
            return await harvest.list_records(conn, collection, status, after=after, limit=limit)

    async def count_records(self, collection: str) -> dict[str, int]:
        async with self._db.read() as conn:
            return await harvest.count_records(conn, collection)

    async def count_marked(self, collection: str, status: str, detail_prefix: str) -> int:
        """Records with ``status`` whose detail starts with ``detail_prefix`` (a harvest's pass id)."""
        async with self._db.read() as conn:
            return await harvest.count_marked(conn, collection, status, detail_prefix)


__all__ = ["Index", "Listener", "Transaction"]


def _document(query: read.Query, collection: str, source_id: str) -> DocumentOut | None:
    doc_id = read.document_id(query, collection, source_id)
    docs = read.load(query, [doc_id]) if doc_id is not None else []
    return docs[0] if docs else None


def _page(conn: Connection, **where: Any) -> list[DocumentOut]:
    return read.page_of_documents(bare_query(conn), **where)
