"""The SQLite database under the index: engines, pragmas and the single-writer discipline.

Engines sharing one file (WAL mode, so readers never wait for the writer):

* the **writer** (async): one connection; every write transaction holds ``Database.lock`` (an
  asyncio lock, so one task writes at a time in this process) and starts with ``BEGIN IMMEDIATE``
  (so another process writing the same file makes us wait ``busy_timeout``, never fail mid-way);
* the **readers**: small pools of ``query_only`` connections, each read in its own deferred
  transaction (one consistent snapshot per read). ``read()`` hands out an async connection;
  ``run_read(fn)`` runs a whole synchronous read function in a worker thread, which costs one
  thread hop instead of several per statement (the search path uses it).

SQLite errors that mean the file is not a database or is corrupt become ``DatabaseDamaged`` here,
and the database remembers it (``damage``: every later caller can refuse to go on); a disk that is
full becomes ``IndexDiskFull``, and the first write transaction that commits after it checkpoints
the write-ahead log (``PRAGMA wal_checkpoint(TRUNCATE)``), so the log the failed writes grew is folded
into the file and emptied as soon as there is room again.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool

from indexer.errors import DatabaseDamaged, IndexDiskFull, IndexUnavailable
from indexer.read import Query
from indexer.sqlite import BUSY_TIMEOUT_MS, READER_PRAGMAS, WRITER_PRAGMAS, query_on, sqlite_error

log = logging.getLogger(__name__)
T = TypeVar("T")
CHECKPOINT_TIMEOUT = 2.0           # seconds the checkpoint after a full disk waits for readers
READERS = 4
CLOSE_TIMEOUT = 5.0       # seconds dispose waits for connections being closed


def _to_json(value: Any) -> str:
    # The default separators matter: the FTS source view splits JSON lists on '", "'.
    return json.dumps(value, ensure_ascii=False)


def _configure(engine: Engine, pragmas: tuple[str, ...], begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None   # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


def _async_engine(path: Path, pragmas: tuple[str, ...], begin: str, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", poolclass=AsyncAdaptedQueuePool,
                                 pool_size=pool_size, max_overflow=0,
                                 connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
                                 json_serializer=_to_json)
    _configure(engine.sync_engine, pragmas, begin)
    return engine


def _thread_engine(path: Path, pragmas: tuple[str, ...], pool_size: int) -> Engine:
    engine = create_engine(f"sqlite:///{path}", poolclass=QueuePool, pool_size=pool_size,
                           max_overflow=0, json_serializer=_to_json,
                           connect_args={"timeout": BUSY_TIMEOUT_MS / 1000,
                                         "check_same_thread": False})
    _configure(engine, pragmas, "BEGIN")
    return engine


class Database:
    """One index file: a writer engine behind ``lock`` and a pool of reader connections."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = asyncio.Lock()
        self.damage: DatabaseDamaged | None = None    # set once a statement found the file damaged
        self.checkpoints = 0                            # checkpoints after a full disk
        self._full = False
        self._holder: asyncio.Task[Any] | None = None
        self.writer = _async_engine(path, WRITER_PRAGMAS, "BEGIN IMMEDIATE", pool_size=1)
        self.reader = _async_engine(path, READER_PRAGMAS, "BEGIN", pool_size=READERS)
        self.thread_reader = _thread_engine(path, READER_PRAGMAS, pool_size=READERS)
        # run_read's own threads: a read whose awaiter was cancelled goes on in its thread holding a
        # connection, and dispose() waits for it before closing the pool (else that connection,
        # and the file, would stay open)
        self._threads = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="index-read")
        # connections dropped mid-statement (a task cancelled while its statement ran): see dispose()
        self.dropped = 0
        for engine in (self.writer, self.reader):
            event.listen(engine.sync_engine, "invalidate", self._on_invalidate)

    def _on_invalidate(self, _dbapi_conn: Any, _record: Any, _exc: BaseException | None) -> None:
        self.dropped += 1

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction holding the writer lock; commits on success, rolls back on error.

        A task that already holds the lock gets a RuntimeError instead of waiting for itself.
        """
        if self._holder is not None and self._holder is asyncio.current_task():
            raise RuntimeError("nested index write: use the transaction you already hold")
        async with self.lock:
            self._holder = asyncio.current_task()
            try:
                async with AsyncSession(self.writer, expire_on_commit=False) as session:
                    async with session.begin():
                        yield session
                if self._full:
                    await asyncio.to_thread(self._checkpoint)
            except DBAPIError as exc:
                self._raise_translated(exc)
                raise
            finally:
                self._holder = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only connection in one snapshot."""
        try:
            async with self.reader.connect() as conn:
                async with conn.begin():
                    yield conn
        except DBAPIError as exc:
            self._raise_translated(exc)
            raise

    async def run_read(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` in a worker thread, on a read-only connection in one snapshot."""
        return await asyncio.wrap_future(self._threads.submit(self._run_read, fn))

    def _run_read(self, fn: Callable[[Connection], T]) -> T:
        try:
            with self.thread_reader.connect() as conn:
                with conn.begin():
                    return fn(conn)
        except DBAPIError as exc:
            self._raise_translated(exc)
            raise

    async def integrity(self, quick: bool) -> list[str]:
        """SQLite's own check of the file (see ``Index.integrity``)."""
        pragma = "PRAGMA quick_check(100)" if quick else "PRAGMA integrity_check(100)"
        try:
            rows = await self.run_read(lambda conn: conn.exec_driver_sql(pragma).all())
        except DatabaseDamaged as exc:
            return [exc.message]
        problems = [str(row[0]) for row in rows if row[0] != "ok"]
        if problems:
            self.damage = self.damage or DatabaseDamaged(
                f"the index {self.path} is damaged: {problems[0]}",
                hint="restore it from a backup, or move it away and mirror again")
        return problems

    def _raise_translated(self, exc: BaseException) -> None:
        error = self._translate(exc)
        if error is not None:
            raise error from exc

    def _translate(self, exc: BaseException) -> DatabaseDamaged | IndexDiskFull | IndexUnavailable | None:
        error = sqlite_error(exc, self.path)
        if isinstance(error, DatabaseDamaged):
            self.damage = self.damage or error
        elif isinstance(error, IndexDiskFull):
            self._full = True
        return error

    def _checkpoint(self) -> None:
        """Fold the write-ahead log into the file and empty it (after a full disk); tried again
        after the next write while readers keep it busy."""
        conn = sqlite3.connect(self.path, timeout=CHECKPOINT_TIMEOUT)
        try:
            busy, _log, _moved = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            log.info("checkpoint of %s after a full disk failed: %s", self.path.name, exc)
            return
        finally:
            conn.close()
        if not busy:
            self._full = False
            self.checkpoints += 1
            log.info("the disk has room again: the index's write-ahead log was checkpointed")

    async def dispose(self) -> None:
        """Close every connection: the pools, the reads still running in threads, and the
        connections of tasks cancelled mid-statement, which SQLAlchemy closes in tasks of its own
        (``_terminate_graceful_close``): their file stays open until those end, so wait for them.

        Such a connection is closed without its cursor (SQLAlchemy invalidates the connection of a
        statement a cancellation interrupted and leaves the cursor as it is), and SQLite keeps the
        file of a closed connection open until its last statement is finalized (``sqlite3_close_v2``)
        -- with the descriptors of the other connections to it, whose closing it defers while
        that one holds a lock. The cursor lives in the frames of the cancellation's traceback, a
        reference cycle only the garbage collector ends: so once a connection was dropped, collect
        here, which frees the cursors nothing holds any more (the cancelled tasks have ended)."""
        await self.writer.dispose()
        await self.reader.dispose()
        await asyncio.to_thread(self._close_threads)
        closing = [t for t in asyncio.all_tasks() if _closes_a_connection(t)]
        if closing:
            await asyncio.wait(closing, timeout=CLOSE_TIMEOUT)
        if self.dropped:
            gc.collect()

    def _close_threads(self) -> None:
        self._threads.shutdown(wait=True)
        self.thread_reader.dispose()


def _closes_a_connection(task: asyncio.Task[Any]) -> bool:
    coro = task.get_coro()
    return not task.done() and getattr(coro, "__name__", "") == "_terminate_graceful_close"


def bare(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under a SQLAlchemy one (``indexer.read`` and ``indexer.search``
    speak bare sqlite3), in that connection's snapshot or transaction."""
    sqlite = conn.connection.driver_connection
    assert isinstance(sqlite, sqlite3.Connection)
    return sqlite



def bare_query(conn: Connection) -> Query:
    """``indexer.read``'s Query on the sqlite3 connection under CONN (a thread reader's)."""
    return query_on(bare(conn))


async def on_query(conn: AsyncConnection, fn: Callable[[Query], T]) -> T:
    """``fn`` with a Query running its statements on CONN, in its transaction, from async code."""
    def run(sync: Connection) -> T:
        return fn(lambda sql, params: sync.exec_driver_sql(sql, tuple(params)).all())
    return await conn.run_sync(run)
