"""The SQLite database under the index: engines, pragmas and the single-writer discipline.

Engines sharing one file (WAL mode, so readers never wait for the writer):

* the **writer** (async): one connection; every write transaction holds ``Database.lock`` (an
  asyncio lock, so one task writes at a time in this process) and starts with ``BEGIN IMMEDIATE``
  (so another process writing the same file makes us wait ``busy_timeout``, never fail mid-way);
* the **readers**: small pools of ``query_only`` connections, each read in its own deferred
  transaction (one consistent snapshot per read). ``read()`` hands out an async connection;
  ``run_read(fn)`` runs a whole synchronous read function in a worker thread, which costs one
  thread hop instead of several per statement (the search path uses it).

SQLite errors that mean the file is not a database or is corrupt become ``DatabaseDamaged`` here.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool

from indexer.errors import DatabaseDamaged

T = TypeVar("T")
BUSY_TIMEOUT_MS = 30_000
READERS = 4
_DAMAGED_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}

_COMMON_PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA cache_size = -65536",     # 64 MiB page cache per connection
)
_WRITER_PRAGMAS = ("PRAGMA journal_mode = WAL",) + _COMMON_PRAGMAS
_READER_PRAGMAS = _COMMON_PRAGMAS + ("PRAGMA query_only = ON",)


def damaged_error(exc: BaseException, path: Path) -> DatabaseDamaged | None:
    """The ``DatabaseDamaged`` matching a SQLite error, or None when it means something else."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(orig, "sqlite_errorcode", None)
    if code is None or (code & 0xFF) not in _DAMAGED_CODES:
        return None
    return DatabaseDamaged(f"the index {path} is damaged: {orig}",
                           hint="restore it from a backup, or move it away and mirror again")


def raise_damaged(exc: BaseException, path: Path) -> None:
    """Raise the ``DatabaseDamaged`` matching EXC (chained to it) when there is one."""
    damaged = damaged_error(exc, path)
    if damaged is not None:
        raise damaged from exc


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
        self._holder: asyncio.Task[Any] | None = None
        self.writer = _async_engine(path, _WRITER_PRAGMAS, "BEGIN IMMEDIATE", pool_size=1)
        self.reader = _async_engine(path, _READER_PRAGMAS, "BEGIN", pool_size=READERS)
        self.thread_reader = _thread_engine(path, _READER_PRAGMAS, pool_size=READERS)

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
            except DBAPIError as exc:
                raise_damaged(exc, self.path)
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
            raise_damaged(exc, self.path)
            raise

    async def run_read(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` in a worker thread, on a read-only connection in one snapshot."""
        return await asyncio.to_thread(self._run_read, fn)

    def _run_read(self, fn: Callable[[Connection], T]) -> T:
        try:
            with self.thread_reader.connect() as conn:
                with conn.begin():
                    return fn(conn)
        except DBAPIError as exc:
            raise_damaged(exc, self.path)
            raise

    async def dispose(self) -> None:
        await self.writer.dispose()
        await self.reader.dispose()
        await asyncio.to_thread(self.thread_reader.dispose)
