"""Group commit: the index writes and reads of many concurrent workers, done in bulk.

    async with GroupCommit(index) as writes:
        result = await writes.write(doc=doc, status=lambda r: StatusRow("c", doc.source_id, Kind.STORED))
        await writes.write(state=StateRow("c", "source", token))
        await writes.run(lambda tx: tx.retract("c", source_id))

SQLite has one writer, and a write costs far more one at a time than in bulk: a transaction per
document spends its time on the commit, the session round trips and the signed-feed hook, while
``upsert_documents`` over hundreds of documents is an order of magnitude cheaper per document. A
harvest's workers fetch and hash in parallel, then each hands its writes here; one task takes
every write queued by then and applies them, in the order they came, in a single
``Index.transaction()``: the documents of consecutive ``write`` calls go through one
``upsert_documents``, their record statuses through one statement, harvest states last (only the
newest value of a key). A ``run`` job is applied in its place in the order, between bulks. While a
batch commits the next writes queue up, so batches grow exactly as far as the writer is the
bottleneck and a lone write is applied at once (no timer).

Blocks a document refers to come staged with its write and are committed first, those of the
whole group with one durability step (``commit_batches``) instead of two disk flushes per document,
their keys in a journal (``mirror.store.journal``) until the transaction that indexes them commits:
a kill in between leaves blocks that the next start reclaims.

A call returns once its transaction has committed, so a caller may rely on the write being
durable (a harvest checkpoint is persisted only after the records before it). When a batch fails,
its writes are applied again one per transaction: a bad document fails alone, the others commit.

``Coalescer`` does the same for reads (``status_reader``: record statuses): the lookups made while
one query runs are answered together by the next query.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Generic, Sequence, TypeVar

from indexer.index import Index
from indexer.records import DocumentIn, RecordState, UpsertResult
from indexer.transaction import Transaction
from mirror.errors import is_disk_full
from mirror.outcome import Kind
from mirror.store.blockstore import BlockBatch, commit_batches
from mirror.store.journal import Journal

K = TypeVar("K")
V = TypeVar("V")
Job = Callable[[Transaction], Awaitable[Any]]

MAX_BATCH = 500


@dataclass(frozen=True)
class StatusRow:
    """Where one source record stands in its collection's harvest (a ``record_status`` row)."""

    collection: str
    source_id: str
    status: Kind                      # the record's last outcome (an update is stored as STORED)
    datestamp: str | None = None      # the source's "changed since" marker when it was handled
    detail: str | None = None         # the pass id, then the reason or error

    def values(self) -> tuple[str, str, str | None, str | None]:
        """(source_id, status, datestamp, detail) as ``Transaction.set_record_statuses`` takes them."""
        return self.source_id, self.status.value, self.datestamp, self.detail


@dataclass(frozen=True)
class StateRow:
    """One harvest-state key of a collection; a None value removes it."""

    collection: str
    key: str
    value: str | None


StatusFn = Callable[[UpsertResult | None], StatusRow | None]


@dataclass
class _Write:
    doc: DocumentIn | None = None
    status: StatusFn | StatusRow | None = None
    states: tuple[StateRow, ...] = ()
    job: Job | None = None
    blocks: BlockBatch | None = None                      # staged blocks DOC refers to


class GroupCommit:
    def __init__(self, index: Index, max_batch: int = MAX_BATCH) -> None:
        self.index = index
        self.max_batch = max_batch
        self.transactions = 0                 # transactions run (for tests and benches)
        self._queue: list[tuple[_Write, asyncio.Future]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "GroupCommit":
        self._task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def write(self, *, doc: DocumentIn | None = None, status: StatusFn | StatusRow | None = None,
                    state: StateRow | None = None, states: Sequence[StateRow] = (),
                    blocks: BlockBatch | None = None) -> UpsertResult | None:
        """Upsert DOC, then set a record STATUS (a row, or a function of DOC's upsert result) and
        harvest STATE and STATES; returns DOC's upsert result. BLOCKS (staged, not committed) are
        committed first, with those of the whole group in one durability step."""
        rows = ((state,) if state is not None else ()) + tuple(states)
        return await self._submit(_Write(doc, status, rows, blocks=blocks))

    async def run(self, job: Job) -> Any:
        """Run JOB inside a shared write transaction, in its place in the order; its result."""
        return await self._submit(_Write(job=job))

    async def close(self) -> None:
        """Apply what is queued, then stop (later calls use a transaction of their own)."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _submit(self, write: _Write) -> Any:
        if self._closed or self._task is None or self._task.done():
            journal = await _commit_blocks([write])
            result = (await self._transaction([write]))[0]
            if journal is not None:
                await journal.aclose()
            return result
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._queue.append((write, future))
        self._wake.set()
        return await future

    async def _loop(self) -> None:
        try:
            while True:
                if not self._queue:
                    if self._closed:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                batch = [(write, future) for write, future in batch if not future.done()]
                if batch:                           # (a cancelled caller's write is dropped)
                    await self._apply(batch)
        finally:                                    # stopped early: nobody waits forever
            for _, future in self._queue:
                future.cancel()
            self._queue = []

    async def _apply(self, batch: list[tuple[_Write, asyncio.Future]]) -> bool:
        """Commit BATCH's blocks, then its writes in one transaction; True when all committed.
        The blocks' journal is closed once the documents that use them are indexed, and kept
        (for ``mirror.reclaim``) when some were not."""
        journal = None
        try:
            journal = await _commit_blocks([write for write, _ in batch])
        except Exception as exc:                    # no document may refer to blocks not stored:
            for write, future in batch:             # those with blocks fail, the others go on
                if write.blocks is not None:
                    _settle(future, exc=exc)
            batch = [(write, future) for write, future in batch if write.blocks is None]
            if not batch:
                return False
        try:
            results = await self._transaction([write for write, _ in batch])
        except Exception as exc:
            if len(batch) == 1 or is_disk_full(exc):     # a full disk fails them all alike
                for _, future in batch:
                    _settle(future, exc=exc)        # handed to the caller, not swallowed
                return False
            done = [await self._apply([item]) for item in batch]   # one at a time: find the
            if all(done) and journal is not None:                  # write that broke it
                await journal.aclose()
            return all(done)
        except BaseException:
            for _, future in batch:
                future.cancel()
            raise
        if journal is not None:
            await journal.aclose()
        for (_, future), result in zip(batch, results):
            _settle(future, result=result)
        return True

    async def _transaction(self, writes: list[_Write]) -> list[Any]:
        self.transactions += 1
        results: list[Any] = []
        async with self.index.transaction() as tx:
            bulk: list[_Write] = []
            for write in writes:
                if write.job is None:
                    bulk.append(write)
                    continue
                results += await _bulk(tx, bulk)
                bulk = []
                results.append(await write.job(tx))
            results += await _bulk(tx, bulk)
        return results


async def _commit_blocks(writes: list[_Write]) -> Journal | None:
    """Commit the staged blocks of WRITES in one durability step (before any index write); their
    keys go to the journal returned (None when there were none), to close once indexed."""
    staged = [w.blocks for w in writes if w.blocks is not None]
    journal = None
    if staged:
        journal = Journal(staged[0].store)
        await asyncio.to_thread(commit_batches, staged, journal)
    for write in writes:
        write.blocks = None
    return journal


async def _bulk(tx: Transaction, writes: list[_Write]) -> list[UpsertResult | None]:
    """Apply consecutive writes: documents, then record statuses, then harvest states."""
    if not writes:
        return []
    docs = [w.doc for w in writes if w.doc is not None]
    upserted = iter(await tx.upsert_documents(docs) if docs else [])
    results = [next(upserted) if w.doc is not None else None for w in writes]
    rows: dict[str, list[tuple[str, str, str | None, str | None]]] = {}
    for write, result in zip(writes, results):
        row = write.status(result) if callable(write.status) else write.status
        if row is not None:
            rows.setdefault(row.collection, []).append(row.values())
    for collection, statuses in rows.items():
        await tx.set_record_statuses(collection, statuses)
    states: dict[str, dict[str, str | None]] = {}
    for state in (state for w in writes for state in w.states):
        states.setdefault(state.collection, {})[state.key] = state.value     # the newest value of a key
    for collection, values in states.items():
        await tx.set_states(collection, values)
    return results


def _settle(future: asyncio.Future, *, result: Any = None, exc: BaseException | None = None) -> None:
    if future.done():                       # the caller was cancelled meanwhile
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class Coalescer(Generic[K, V]):
    """Answer many concurrent single-key lookups with one bulk call per round.

    ``fetch(keys)`` returns a dict; a key it leaves out maps to None.
    """

    def __init__(self, fetch: Callable[[list[K]], Awaitable[dict[K, V]]]) -> None:
        self._fetch = fetch
        self._waiting: dict[K, list[asyncio.Future]] = {}
        self._running = False
        self._task: asyncio.Task | None = None

    async def get(self, key: K) -> V | None:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if not self._running:
            self._running = True
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, {}
                try:
                    found = await self._fetch(list(waiting))
                except Exception as exc:
                    for futures in waiting.values():
                        for future in futures:
                            _settle(future, exc=exc)
                    continue
                for key, futures in waiting.items():
                    for future in futures:
                        _settle(future, result=found.get(key))
        finally:
            self._running = False


def status_reader(index: Index, collection: str) -> Coalescer[str, RecordState]:
    """Record statuses of COLLECTION by source id, looked up in bulk."""
    return Coalescer(lambda ids: index.get_record_statuses(collection, ids))
