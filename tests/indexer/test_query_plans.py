"""Query plans that must not grow with the index: SQLite's own EXPLAIN QUERY PLAN for the
statements the code builds, on a real migrated index file.

Each of these was once a full scan or a sort of every document (found by bench/sync_scale.py at
500,000 documents): the winner lookup of the signed feed (a row-value IN list), browsing the
newest documents (an index on ``deleted`` chosen over the update-time index), counting live ones.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from sqlalchemy import event, func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from indexer import tallies
from indexer.db import on_query
from indexer import bindings, feeds, publication, search
from indexer.index import Index
from indexer.models import Document
from indexer.node_models import RETRACTED
from indexer.records import DocumentIn, SearchQuery

documents = Document.__table__


def _plan(db: Path, statement, params: tuple = ()) -> str:                   # noqa: ANN001
    sql = statement if isinstance(statement, str) else \
        str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with sqlite3.connect(db) as conn:
        return " / ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))


async def _index(tmp_path: Path) -> Path:
    index = await Index.open(tmp_path / "index.sqlite")
    try:
        await index.upsert_documents([DocumentIn(collection="c", source_id=f"s{i}", title=f"t {i}")
                                      for i in range(50)])
        await index.retract("c", "s3")
    finally:
        await index.close()
    return tmp_path / "index.sqlite"


async def test_browsing_newest_walks_the_update_time_index(tmp_path: Path) -> None:
    db = await _index(tmp_path)
    plan = _plan(db, *search.ranked_sql(search.plan(SearchQuery(text="", limit=20))))
    assert "ix_documents_updated_at_id" in plan and "TEMP B-TREE" not in plan, plan


async def test_retracted_documents_are_counted_from_the_partial_index(tmp_path: Path) -> None:
    db = await _index(tmp_path)
    plan = _plan(db, select(func.count()).select_from(documents).where(RETRACTED))
    assert "ix_documents_retracted" in plan, plan
    async with _recording(db) as (conn, _):
        assert await on_query(conn, tallies.count_documents) == 49


async def test_version_lookups_search_the_key_index(tmp_path: Path) -> None:
    db = await _index(tmp_path)
    async with _recording(db) as (conn, executed):
        await feeds.get_versions(conn, [("c", "a"), ("c", "b"), ("d", "a")])
        await feeds.delete_versions(conn, [("c", "a"), ("d", "b")])
    assert len(executed) == 4                            # one statement per collection, each
    with sqlite3.connect(db) as raw:
        for sql, params in executed:
            plan = " / ".join(row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql, params))
            assert "SEARCH doc_versions USING INDEX" in plan and "SCAN doc_versions" not in plan, plan


async def test_claims_are_settled_through_their_indexes(tmp_path: Path) -> None:
    """Settling the claims of a page of entries reads only those claims, their checks and their
    contents; counting the evidence (``status`` on every request) reads only the evidence."""
    db = await _index(tmp_path)
    with sqlite3.connect(db) as raw:
        for sql in (bindings._STATUS, bindings._UNSETTLED):
            plan = " / ".join(row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql, ('["a"]',)))
            assert "SCAN content_claims" not in plan and "SCAN c " not in plan, plan
            assert "SCAN contents" not in plan and "SCAN cid_checks" not in plan, plan
    disputed = select(func.count()).select_from(bindings.claims).where(
        bindings.claims.c.status.in_(bindings.DISPUTED))
    assert "ix_content_claims_disputed" in _plan(db, disputed)


@asynccontextmanager
async def _recording(db: Path) -> AsyncIterator[tuple[AsyncConnection, list[tuple[str, Any]]]]:
    """A connection to DB whose executed statements (SQL, parameters) are recorded."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{db}")
    executed: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        executed.append((statement, parameters))

    try:
        async with engine.connect() as conn:
            yield conn, executed
    finally:
        await engine.dispose()


async def test_private_documents_are_looked_for_in_the_partial_index(tmp_path: Path) -> None:
    """Every merged page asks whether any document is private: ``private IS 1`` read every
    document (1.4 s of the index writes of a 200,000-entry sync), ``private = 1`` seeks."""
    db = await _index(tmp_path)
    async with _recording(db) as (conn, executed):
        assert await publication.any_private(conn) is False
    with sqlite3.connect(db) as raw:
        (sql, params), = executed
        plan = " / ".join(row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql, params))
    assert "ix_documents_private" in plan and "SCAN documents" not in plan, plan


async def test_liars_are_found_without_reading_every_false_claim(tmp_path: Path) -> None:
    """The authors caught in a false claim are asked for once per chunk of a merge: reading
    every disputed claim made a sync of many false claims quadratic in its length."""
    db = await _index(tmp_path)
    claims = [(f"{i:064x}", f"cid{i}", 1, "p", "liar-a", "mismatch") for i in range(3000)]
    claims += [(f"{i:064x}", f"cid{i}", 1, "p", "liar-b", "mismatch") for i in range(3)]
    claims += [(f"{i:064x}", f"other{i}", 1, "p", "disputed", "conflict") for i in range(3)]
    claims += [(f"{i:064x}", f"cid{i}", 2, "p", "honest", "claimed") for i in range(3)]
    with sqlite3.connect(db) as raw:
        raw.executemany("INSERT INTO content_claims (sha256, cid, size, profile, author, status, "
                        "first_seen) VALUES (?, ?, ?, ?, ?, ?, '')", claims)
    async with _recording(db) as (conn, executed):
        assert await bindings._liars(conn) == {"liar-a", "liar-b"}
    with sqlite3.connect(db) as raw:
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0

        raw.set_progress_handler(count, 10)
        for sql, params in executed:
            raw.execute(sql, params).fetchall()
    assert steps * 10 < 1000, steps * 10                   # a seek per liar, not 3,000 rows
