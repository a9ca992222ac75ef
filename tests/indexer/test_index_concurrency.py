"""Searches running while a writer inserts into the same file never fail and see whole batches."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from index_helpers import document

from indexer.index import Index
from tests.processes import open_files
from indexer.records import SearchQuery

BATCHES, PER_BATCH = 9, 100      # 900 documents: one search (limit 1000) sees them all


def _batch(n: int) -> list:
    return [document(f"{n}-{i}", title=f"common word {n} {i}", description="shared vocabulary " * 5)
            for i in range(PER_BATCH)]


async def _search_until(index: Index, done: asyncio.Event | threading.Event,
                        searched: asyncio.Event | None = None) -> list[int]:
    """Count the matches over and over until ``done``; every count is a whole number of batches.
    SEARCHED is set after each search (a writer that waits for it knows one ran in between)."""
    counts = []
    while not done.is_set():
        hits = await index.search(SearchQuery("common", limit=1000))
        counts.append(len(hits))
        if searched is not None:
            searched.set()
        await asyncio.sleep(0)
    return counts


def _assert_whole_batches(counts: list[int], *, overlapped: bool) -> None:
    assert counts == sorted(counts) and all(c % PER_BATCH == 0 for c in counts)
    if overlapped:      # the searches really ran between the writes
        assert any(0 < c < BATCHES * PER_BATCH for c in counts)


async def test_search_while_another_task_writes(index: Index, db_path: Path) -> None:
    done, searched = asyncio.Event(), asyncio.Event()

    async def write() -> None:
        try:
            for n in range(BATCHES):
                await index.upsert_documents(_batch(n))
                searched.clear()
                await asyncio.wait_for(searched.wait(), 30)   # a search ran after this batch
        finally:
            done.set()

    async with await Index.open(db_path) as reader:      # a second engine, like another process
        _, counts = await asyncio.gather(write(), _search_until(reader, done, searched))
        final = await reader.search(SearchQuery("common", limit=1000))
    assert len(final) == BATCHES * PER_BATCH
    _assert_whole_batches(counts, overlapped=True)


async def test_search_while_a_writer_thread_with_its_own_loop_writes(index: Index,
                                                                     db_path: Path) -> None:
    done = threading.Event()
    errors: list[BaseException] = []

    async def write() -> None:
        async with await Index.open(db_path) as writer:
            for n in range(BATCHES):
                await writer.upsert_documents(_batch(n))

    def run() -> None:
        try:
            asyncio.run(write())
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    counts = await _search_until(index, done)
    thread.join()
    assert errors == []
    assert len(await index.search(SearchQuery("common", limit=1000))) == BATCHES * PER_BATCH
    _assert_whole_batches(counts, overlapped=False)   # a thread may finish first


async def test_closing_waits_for_a_read_whose_caller_was_cancelled(db_path: Path) -> None:
    """A read still running in its thread when its caller is cancelled (a node stopping) holds a
    connection: closing the index waits for it, so no connection to the file stays open."""
    index = await Index.open(db_path)
    started = threading.Event()

    def slow_read(conn):
        started.set()
        time.sleep(0.5)
        return conn.exec_driver_sql("SELECT count(*) FROM documents").scalar()

    task = asyncio.create_task(index._db.run_read(slow_read))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await index.close()
    assert open_files(db_path) == []
