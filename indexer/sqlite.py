"""The index file as the bare ``sqlite3`` module sees it, without SQLAlchemy: the pragmas every
connection sets, the translation of SQLite's errors into ours, and ``BareReader``, the read-only
view that one-shot commands (``openmirror search``, ``show``, ``stats``) open without loading
SQLAlchemy at all.

The engines of ``indexer.db`` use the same pragmas and the same translation.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Callable, TypeVar

from indexer import read
from indexer.errors import DatabaseDamaged, IndexDiskFull, IndexUnavailable
from indexer.read import Query
from indexer.records import DocumentOut, Hit, IndexStats, SearchQuery

T = TypeVar("T")

FULL_BELOW = 1 << 20               # free bytes under which an I/O error means a full disk
BUSY_TIMEOUT_MS = 30_000
_DAMAGED_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}

_COMMON_PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA temp_store = MEMORY",
)
# Page caches: 64 MiB for the one writer (bulk loads), 8 MiB for each of the 2 x READERS readers
# (the OS caches the file for all of them). 64 MiB each let an idle node holding a million
# contents sit at 1.0-1.6 GB resident once its periodic scans had filled every reader's cache.
WRITER_PRAGMAS = ("PRAGMA journal_mode = WAL",) + _COMMON_PRAGMAS + ("PRAGMA cache_size = -65536",)
READER_PRAGMAS = _COMMON_PRAGMAS + ("PRAGMA query_only = ON", "PRAGMA cache_size = -8192")


def query_on(conn: sqlite3.Connection) -> Query:
    """``indexer.read``'s Query on a bare connection."""
    return lambda sql, params: conn.execute(sql, tuple(params)).fetchall()


def sqlite_error(exc: BaseException, path: Path) -> DatabaseDamaged | IndexDiskFull | IndexUnavailable | None:
    """Our error for a SQLite error that means the file is damaged (``DatabaseDamaged``) or the
    disk under it is full (``IndexDiskFull``: SQLITE_FULL, or an I/O error while the disk has no
    room), or None when it means something else. EXC is a sqlite3 error, or SQLAlchemy's wrapping
    of one (its ``orig``)."""
    wrapped = getattr(exc, "orig", None)
    orig = wrapped if isinstance(wrapped, sqlite3.Error) else exc
    code = getattr(orig, "sqlite_errorcode", None)
    if code is None:
        return None
    if code & 0xFF in _DAMAGED_CODES:
        return DatabaseDamaged(f"the index {path} is damaged: {orig}",
                               hint="restore it from a backup, or move it away and mirror again")
    if code & 0xFF == sqlite3.SQLITE_FULL or (code & 0xFF == sqlite3.SQLITE_IOERR and disk_is_full(path)):
        return IndexDiskFull(f"no space left on the disk holding the index {path} ({orig})",
                        hint="free some space on that disk: nothing committed was lost, and the "
                             "next write goes on (the same command resumes where it stopped)")
    if code & 0xFF in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY):
        return unavailable(path, orig)
    return None


def unavailable(path: Path, cause: object) -> IndexUnavailable:
    """The ``IndexUnavailable`` for an index SQLite cannot open or write, saying why if it can."""
    why, hint = f"{cause}", "check that the home's folder and files are yours to write"
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            why, hint = "the home is on a read-only file system", ("remount it read-write, or copy the "
                                                                   "home to a writable disk (--home)")
        elif not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            why = "permission denied"
    except OSError:
        pass
    return IndexUnavailable(f"cannot open the index {path}: {why}", hint=hint)


def disk_is_full(path: Path) -> bool:
    """True when the disk holding PATH has (almost) no space left for us."""
    try:
        import shutil                    # only on an I/O error (it loads bz2, lzma)

        return shutil.disk_usage(path.parent).free < FULL_BELOW
    except OSError:
        return False


def raise_sqlite_error(exc: BaseException, path: Path) -> None:
    """Raise the ``DatabaseDamaged``, ``IndexDiskFull`` or ``IndexUnavailable`` matching EXC (chained to it), if any."""
    error = sqlite_error(exc, path)
    if error is not None:
        raise error from exc


class BareReader:
    """A read-only view of an index file already at the code's schema revision, on one bare
    sqlite3 connection (``mode=ro`` and ``query_only``: it cannot write). Synchronous: async
    callers run it in a worker thread. Open it with ``BareReader.open(path)``, which returns None
    when the file is missing or not at the head revision (the full ``Index`` creates or migrates it).
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn

    @classmethod
    def open(cls, path: Path) -> "BareReader | None":
        from indexer.migrate import HEAD, read_revision

        if read_revision(path) != HEAD:
            return None
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        try:
            for pragma in READER_PRAGMAS:
                conn.execute(pragma)
        except sqlite3.Error as exc:
            conn.close()
            raise_sqlite_error(exc, path)
            raise
        return cls(path, conn)

    def search(self, query: SearchQuery, *, timeout: float | None = None) -> list[Hit]:
        """``Index.search`` on this view: the same statements and errors."""
        from indexer import search

        plan = search.plan(query)
        limit = search.SEARCH_TIMEOUT if timeout is None else timeout
        return self._snapshot(lambda conn: search.run(conn, plan, limit))

    def find_by_cid(self, cid: str, *, include_private: bool = False) -> list[DocumentOut]:
        """``Index.find_by_cid`` on this view (live documents)."""
        return self._snapshot(lambda conn: read.by_cid(query_on(conn), cid, include_private=include_private))

    def stats(self, *, include_private: bool = False) -> IndexStats:
        """``Index.stats`` on this view."""
        return self._snapshot(lambda conn: read.stats(query_on(conn), include_private=include_private))

    def read_query(self, fn: Callable[[Query], T]) -> T:
        """``Index.read_query`` on this view: FN's statements in one snapshot."""
        return self._snapshot(lambda conn: fn(query_on(conn)))

    def quick_check(self) -> None:
        """SQLite's quick check of the whole file (it reads every page), as ``Index.integrity``
        runs it: ``DatabaseDamaged`` for the first problem it finds."""
        rows = self._snapshot(lambda conn: conn.execute("PRAGMA quick_check(100)").fetchall())
        problems = [str(row[0]) for row in rows if row[0] != "ok"]
        if problems:
            raise DatabaseDamaged(f"the index {self.path} is damaged: {problems[0]}",
                                  hint="restore it from a backup, or move it away and mirror again")

    def _snapshot(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """FN in one read transaction (one snapshot); SQLite's errors translated as ``Index`` does."""
        try:
            self._conn.execute("BEGIN")
            try:
                return fn(self._conn)
            finally:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise_sqlite_error(exc, self.path)
            raise

    def close(self) -> None:
        self._conn.close()
