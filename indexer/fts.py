"""Keeping the FTS5 index in step with the documents.

``documents_fts`` is an *external content* FTS5 table: it stores only the inverted index and reads
the text of a row back from the view ``documents_fts_source`` (for snippets). The view lists live
(not deleted) documents with their creators and subjects flattened to "a; b" text and the extracted
text of their files appended. FTS5 cannot see changes to the view, so every write follows one rule:

    a document is unindexed (``unindex``) *before* anything the view shows for it changes
    (its metadata, its files, their text, or its deleted flag), and indexed (``index``) *after*.

``unindex`` hands FTS5 the row exactly as the view shows it at that moment, which is exactly what
was indexed, so the index never drifts. Both work on whole batches of ids in one statement.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Iterable, Union

if TYPE_CHECKING:        # the names above load without SQLAlchemy (``indexer.search`` needs them)
    from sqlalchemy import TextClause
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

FTS_TABLE = "documents_fts"
FTS_SOURCE = "documents_fts_source"
COLUMNS = ("title", "creators", "description", "subjects", "text")
# BM25 weight per column, in COLUMNS order: the title counts most.
WEIGHTS = (10.0, 4.0, 2.0, 3.0, 1.0)

_COLS = ", ".join(COLUMNS)
_IDS = "id IN (SELECT value FROM json_each(:ids))"
_INDEX = (f"INSERT INTO {FTS_TABLE}(rowid, {_COLS}) "
          f"SELECT id, {_COLS} FROM {FTS_SOURCE} WHERE {_IDS}")
_UNINDEX = (f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_COLS}) "
            f"SELECT 'delete', id, {_COLS} FROM {FTS_SOURCE} WHERE {_IDS}")
_CHECK = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)"
_REBUILD = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"

Conn = Union["AsyncConnection", "AsyncSession"]


@functools.cache
def _text(sql: str) -> "TextClause":
    from sqlalchemy import text

    return text(sql)


async def index(conn: Conn, ids: Iterable[int]) -> None:
    """Add the live documents among ``ids`` to the full-text index (call after writing them)."""
    batch = list(ids)
    if batch:
        await conn.execute(_text(_INDEX), {"ids": json.dumps(batch)})


async def unindex(conn: Conn, ids: Iterable[int]) -> None:
    """Remove the live documents among ``ids`` from the index (call before changing them)."""
    batch = list(ids)
    if batch:
        await conn.execute(_text(_UNINDEX), {"ids": json.dumps(batch)})


async def check_fts(conn: Conn) -> None:
    """Raise ``sqlalchemy.exc.DatabaseError`` when the index disagrees with the documents."""
    await conn.execute(_text(_CHECK))


async def rebuild(conn: Conn) -> None:
    """Rebuild the whole index from the documents (repair; slow on a large index)."""
    await conn.execute(_text(_REBUILD))
