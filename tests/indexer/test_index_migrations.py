"""Migrations: upgrade from empty, one head, models match the schema, refusals touch nothing."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from indexer import migrate
from indexer.errors import DatabaseDamaged, IndexError_, SchemaTooNew
from indexer.index import Index
from indexer.models import Base


def _sql(path: Path, *statements: str) -> list[tuple]:
    """Run statements on a plain sqlite3 connection, commit and close; rows of the last one."""
    with closing(sqlite3.connect(path)) as conn:
        rows = [conn.execute(s).fetchall() for s in statements][-1]
        conn.commit()
    return rows


def _tables(path: Path) -> set[str]:
    return {r[0] for r in _sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def _snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


async def test_open_creates_an_empty_index_at_head(db_path: Path) -> None:
    index = await Index.open(db_path)
    await index.close()
    assert {"collections", "documents", "contents", "document_contents", "texts",
            "record_status", "harvest_state", "documents_fts"} <= _tables(db_path)
    assert migrate.check(db_path).current == migrate.head()
    assert _sql(db_path, "PRAGMA journal_mode") == [("wal",)]


async def test_several_new_indexes_open_at_once_in_one_process(tmp_path: Path) -> None:
    """Alembic runs a migration through module globals: concurrent opens must not mix them."""
    paths = [tmp_path / f"index-{i}.sqlite" for i in range(6)]
    indexes = await asyncio.gather(*(Index.open(p) for p in paths))
    for index in indexes:
        await index.close()
    assert all(migrate.check(p).current == migrate.head() for p in paths)


async def test_writer_connection_enforces_foreign_keys(db_path: Path) -> None:
    async with await Index.open(db_path) as index:
        async with index.transaction() as tx:
            result = await tx.session.execute(text("PRAGMA foreign_keys"))
            assert result.scalar() == 1


def test_one_head_and_a_linear_history() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(scripts.get_heads()) == 1
    revisions = list(scripts.walk_revisions())
    assert all(not isinstance(r.down_revision, tuple) for r in revisions)
    assert revisions[-1].down_revision is None
    assert migrate.script_heads() == [migrate.HEAD]      # the constant that spares importing Alembic


def test_opening_an_index_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    code = ("import sys, asyncio; from pathlib import Path; from indexer.index import Index\n"
            "async def main():\n"
            "    index = await Index.open(Path(sys.argv[1])); await index.close()\n"
            "asyncio.run(main()); print('alembic' in sys.modules)")
    db = tmp_path / "index.db"
    run = [sys.executable, "-c", code, str(db)]
    root = Path(__file__).resolve().parents[2]
    first = subprocess.run(run, capture_output=True, text=True, cwd=root, check=True)
    again = subprocess.run(run, capture_output=True, text=True, cwd=root, check=True)
    assert (first.stdout.strip(), again.stdout.strip()) == ("True", "False")   # migrated once


def test_the_alembic_folder_never_shadows_the_library() -> None:
    assert not (migrate.SCRIPT_LOCATION / "__init__.py").exists()
    assert (migrate.SCRIPT_LOCATION / "env.py").exists()


def test_models_match_the_migrated_schema(db_path: Path) -> None:
    migrate.upgrade(db_path)
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "include_name": migrate.include_name, "compare_type": True,
                "compare_server_default": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_nothing_and_up_again(db_path: Path) -> None:
    migrate.upgrade(db_path)
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.begin() as conn:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
    finally:
        engine.dispose()
    assert _tables(db_path) == {"alembic_version"}
    assert migrate.upgrade(db_path).current is None
    assert migrate.check(db_path).up_to_date


def test_upgrade_is_idempotent(db_path: Path) -> None:
    migrate.upgrade(db_path)
    before = _snapshot(db_path)
    assert migrate.upgrade(db_path).up_to_date
    assert _snapshot(db_path) == before


async def test_newer_schema_is_refused_and_left_untouched(db_path: Path) -> None:
    migrate.upgrade(db_path)
    _sql(db_path, "UPDATE alembic_version SET version_num = 'ffff_from_the_future'")
    _sql(db_path, "PRAGMA journal_mode = DELETE")
    before = _snapshot(db_path)
    with pytest.raises(SchemaTooNew) as info:
        await Index.open(db_path)
    assert "ffff_from_the_future" in str(info.value) and info.value.hint
    assert info.value.exit_code == 3
    assert _snapshot(db_path) == before


@pytest.mark.parametrize("garbage", [b"hello, this is not a database\n" * 200, os.urandom(8192)])
async def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(
        db_path: Path, garbage: bytes) -> None:
    db_path.write_bytes(garbage)
    before = _snapshot(db_path)
    with pytest.raises(DatabaseDamaged) as info:
        await Index.open(db_path)
    assert "not a SQLite database" in str(info.value)
    assert _snapshot(db_path) == before


async def test_a_corrupt_index_is_refused_and_left_untouched(db_path: Path) -> None:
    migrate.upgrade(db_path)
    page = _sql(db_path, "PRAGMA journal_mode = DELETE", "PRAGMA page_size")[0][0]
    data = bytearray(db_path.read_bytes())
    data[page:] = b"\xff" * (len(data) - page)    # keep the header page, wreck every other
    db_path.write_bytes(bytes(data))
    before = _snapshot(db_path)
    with pytest.raises(DatabaseDamaged) as info:
        await Index.open(db_path)
    assert info.value.exit_code == 4 and isinstance(info.value, IndexError_)   # integrity
    assert _snapshot(db_path) == before


async def test_another_sqlite_database_is_refused_and_left_untouched(db_path: Path) -> None:
    _sql(db_path, "CREATE TABLE recipes (name TEXT)")
    before = _snapshot(db_path)
    with pytest.raises(DatabaseDamaged, match="not an openmirror index"):
        await Index.open(db_path)
    assert _snapshot(db_path) == before
