"""The bare reader (``indexer.sqlite.BareReader``): what ``openmirror search`` reads through, with
no SQLAlchemy. It finds what ``Index.search`` finds, refuses what it refuses, cannot write, and
steps aside for a file that is missing or not at the code's schema revision."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from index_helpers import document
from test_index_search import corpus_file  # noqa: F401  (fixture)

from indexer.errors import DatabaseDamaged, QueryError
from indexer.index import Index
from indexer.records import SearchQuery
from indexer.sqlite import BareReader

QUERIES = [SearchQuery("glacier"), SearchQuery("open data"), SearchQuery('"open data"'),
           SearchQuery("gla*"), SearchQuery(""), SearchQuery("", license="CC-BY*"),
           SearchQuery("", collection="data"), SearchQuery("", type="ARTICLE", lang="en"),
           SearchQuery("", after="2021", before="2023-12"), SearchQuery("data", limit=1, offset=1),
           SearchQuery("café"), SearchQuery("nothing-here")]


async def test_the_bare_reader_finds_what_the_index_finds(corpus_file: Path) -> None:
    reader = BareReader.open(corpus_file)
    assert reader is not None
    try:
        async with await Index.open(corpus_file, read_only=True) as index:
            for query in QUERIES:
                assert reader.search(query) == await index.search(query), query
            assert reader.stats() == await index.stats()
            docs = [d async for d in index.iter_documents()]
            keys = {key for d in docs for c in d.contents for key in (c.cid, c.sha256, c.sha256.upper())}
            assert len(keys) == 6                 # two contents, each by CID and sha256 (either case)
            for key in sorted(keys) + ["bafynothing", ""]:
                assert reader.find_by_cid(key) == await index.find_by_cid(key), key
    finally:
        reader.close()


@pytest.mark.parametrize("query", [SearchQuery("gl*"), SearchQuery("x", limit=0),
                                   SearchQuery("", license="not a licence"), SearchQuery("", after="2021-13")])
def test_the_bare_reader_refuses_what_the_index_refuses(corpus_file: Path, query: SearchQuery) -> None:
    reader = BareReader.open(corpus_file)
    assert reader is not None
    try:
        with pytest.raises(QueryError):
            reader.search(query)
    finally:
        reader.close()


async def test_a_search_running_too_long_is_stopped(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    async with await Index.open(path) as index:
        await index.upsert_documents([document(str(i), type="article") for i in range(3000)])
    reader = BareReader.open(path)
    assert reader is not None
    try:
        with pytest.raises(QueryError, match="was stopped"):
            reader.search(SearchQuery("", type="nothing-matches"), timeout=-1)
        assert len(reader.search(SearchQuery("document"))) == 20     # the connection still works
        with pytest.raises(sqlite3.OperationalError):                # query_only, and mode=ro
            reader._conn.execute("DELETE FROM documents")
    finally:
        reader.close()


async def test_a_missing_or_outdated_file_is_left_to_the_index(tmp_path: Path, corpus_file: Path) -> None:
    assert BareReader.open(tmp_path / "absent.sqlite") is None
    assert not (tmp_path / "absent.sqlite").exists()
    old = tmp_path / "old.sqlite"
    shutil.copyfile(corpus_file, old)
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    assert BareReader.open(old) is None


def test_a_damaged_file_is_database_damaged(tmp_path: Path, corpus_file: Path) -> None:
    path = tmp_path / "damaged.sqlite"
    shutil.copyfile(corpus_file, path)
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'documents_fts_data'").fetchone()[0]
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xa5" * page_size)
    reader = BareReader.open(path)
    assert reader is not None
    try:
        with pytest.raises(DatabaseDamaged):
            reader.search(SearchQuery("glacier"))
    finally:
        reader.close()
