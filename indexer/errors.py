"""The error tree of the `indexer` package.

The index never imports ``mirror``, so it has its own tree; ``cli.errors`` renders it exactly like
``mirror.errors.MirrorError``: one line ``Error: ...`` (plus ``Hint: ...``) and the exit code below.
SQLite and Alembic errors are translated once, where they enter (``indexer.db``, ``indexer.migrate``),
with the cause chained.

    IndexError_                         exit 1
    ├── QueryError (ValueError)         exit 2   bad search syntax or filter values
    ├── NotIndexed (LookupError)        exit 1   no document with that CID / identifier
    ├── SchemaTooNew (RuntimeError)     exit 3   the database was written by a newer openmirror
    ├── IndexDiskFull (OSError)         exit 3   no space left on the disk holding the index
    ├── IndexUnavailable (OSError)      exit 3   the index cannot be opened or written (read-only)
    ├── DatabaseDamaged (RuntimeError)  exit 4   the file is not a SQLite database, or is corrupt
    └── ReadOnlyIndex (PermissionError) exit 1   a write through an index opened read-only

The trailing underscore keeps the root from shadowing the builtin ``IndexError``.
"""

from __future__ import annotations

import errno

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_READY = 3
EXIT_INTEGRITY = 4


class IndexError_(Exception):
    """Root of every error the index raises on purpose."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class QueryError(IndexError_, ValueError):
    """A search query or filter the index cannot run; the message is one line for the user."""

    exit_code = EXIT_USAGE


class NotIndexed(IndexError_, LookupError):
    """Nothing in the index has that CID, digest or identifier."""


class SchemaTooNew(IndexError_, RuntimeError):
    """The database carries a schema revision this code does not know; it is left untouched."""

    exit_code = EXIT_NOT_READY


class DatabaseDamaged(IndexError_, RuntimeError):
    """The file is not a SQLite database or is corrupt; it is left untouched (an integrity
    failure: the bytes on disk are not what was written)."""

    exit_code = EXIT_INTEGRITY


class IndexDiskFull(IndexError_, OSError):
    """A write failed for want of space on the disk holding the index (SQLITE_FULL). Nothing
    committed is lost: the transaction rolled back, and the next one after space is freed goes
    on (the write-ahead log is checkpointed then)."""

    exit_code = EXIT_NOT_READY

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.errno = errno.ENOSPC
        self.strerror = message


class IndexUnavailable(IndexError_, OSError):
    """SQLite cannot open or write the index file (SQLITE_CANTOPEN, SQLITE_READONLY): the home is
    on a read-only file system, or its files are not ours to write. Nothing was changed."""

    exit_code = EXIT_NOT_READY


class ReadOnlyIndex(IndexError_, PermissionError):
    """A write was attempted through an index opened read-only (a programming error: the caller
    should have opened the home for writing, with the signed-feed hook attached)."""
