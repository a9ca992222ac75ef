"""A stopped node leaves nothing behind: no task, no connection to its index, no socket, no thread
(a leaked aiosqlite connection once made a teardown wait forever)."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from indexer.index import Index
from indexer.records import SearchQuery
from mirror.home import Home
from sqlalchemy import text
from mirror.services import open_home
from tests.processes import open_files
from tests.node.node_helpers import NodeFactory, document, wait_for

ROWS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "


def _sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            continue
    return count


def _threads() -> set[int]:
    return {t.ident for t in threading.enumerate() if t.ident is not None}


async def _settled(before: set[int]) -> bool:
    """Worker threads of the default executor live on; any other new thread must be gone."""
    extra = [t for t in threading.enumerate() if t.ident not in before
             and not t.name.startswith(("asyncio_", "ThreadPoolExecutor"))]
    return not extra


async def test_stopped_nodes_leave_no_task_connection_socket_or_thread(tmp_path: Path) -> None:
    threads, sockets = _threads(), _sockets()
    factory = NodeFactory(tmp_path)
    a = await factory.start("a")
    await a.index.upsert_documents([document(i) for i in range(20)])
    b = await factory.start("b", peers=[a.url])
    await wait_for(lambda: b.index.search(SearchQuery("river", limit=50)), what="b to sync")
    await factory.close()
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert open_files(tmp_path) == []
    await wait_for(lambda: _sockets() <= sockets, what="sockets to close")
    await wait_for(lambda: _settled(threads), what="threads to end")


async def test_closing_a_home_closes_its_index(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    async with open_home(home) as services:
        await services.index.upsert_document(document(1))
        assert open_files(tmp_path)
    assert open_files(tmp_path) == []


async def _cancel_mid_statement(index: Index) -> None:
    """Cancel a read while its statement runs (then nothing holds the cancelled task)."""
    entered, release = threading.Event(), threading.Event()

    def gate(i: int) -> int:                       # runs in the connection's thread
        entered.set()
        release.wait(10)
        return i

    async def reader() -> None:
        async with index.read() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.create_function("gate", 1, gate)
            await conn.execute(text(ROWS + "SELECT gate(i) FROM n"))

    task = asyncio.create_task(reader())
    await wait_for(entered.is_set, what="the statement to run")
    task.cancel()                                  # its await on the statement ends now
    release.set()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


async def test_a_read_cancelled_mid_statement_leaves_the_index_closed(tmp_path: Path) -> None:
    """SQLAlchemy drops the connection of a statement interrupted by a cancellation without
    closing its cursor; SQLite keeps the file open while that statement has rows left, and the
    cancellation's traceback holds the cursor in a reference cycle (the flake of the test above)."""
    home = Home.open(tmp_path / "home")
    async with open_home(home) as services:
        await services.index.upsert_document(document(1))
        await _cancel_mid_statement(services.index)
        assert await services.index.stats()        # the index goes on serving reads
    assert open_files(tmp_path) == []
