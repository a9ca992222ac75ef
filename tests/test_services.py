"""The composition root: every opened index is wired (signed, held contents kept) or read-only."""

from __future__ import annotations

import asyncio

import ast
from pathlib import Path

import pytest

from indexer import tallies
from indexer.db import on_query
from indexer import feeds
from indexer.errors import ReadOnlyIndex
from indexer.records import ContentIn
from mirror.feed.entry import parse_entry
from mirror.feed.identity import Identity
from mirror.home import Home
from mirror import held
from indexer.records import SearchQuery
from mirror.reading import search_home, search_now
from mirror.services import open_home
from tests.node.node_helpers import document

ROOT = Path(__file__).resolve().parents[1]


async def _own_entries(home: Home) -> list:
    async with open_home(home, read_only=True) as services, services.index.read() as conn:
        me = services.identity.node_id
        return [parse_entry(p, s) for p, s in await feeds.read_entries(conn, me, 0, 100)]


async def test_every_local_write_through_an_opened_home_is_signed(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    async with open_home(home) as services:
        await services.index.upsert_document(document(1))
        async with services.index.transaction() as tx:
            await tx.upsert_document(document(2))
        await services.index.retract("c", "doc-1")
    entries = await _own_entries(home)
    assert [(e.kind, e.target) for e in entries] == [
        ("put", ("c", "doc-1")), ("put", ("c", "doc-2")), ("retract", ("c", "doc-1"))]


async def test_a_read_only_home_refuses_every_write(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    async with open_home(home, read_only=True) as services:
        with pytest.raises(ReadOnlyIndex):
            await services.index.upsert_document(document(1))
        with pytest.raises(ReadOnlyIndex):
            await services.index.retract("c", "doc-1")
        with pytest.raises(ReadOnlyIndex):
            await services.index.set_state("c", "cursor", "1")
        assert await services.index.get_document("c", "doc-1") is None
    assert await _own_entries(home) == []


async def test_contents_of_merged_documents_are_marked_held_once_checked(tmp_path: Path) -> None:
    """The held-content hook sees changes from peers too (origin set), not only local ones; a
    peer's content is a claim until its bytes, here already, are checked (``reconcile``)."""
    home = Home.open(tmp_path / "home")
    async with open_home(home) as services:
        stored = services.store.add_file(_file(tmp_path, b"a report on glaciers\n" * 500))
        doc = document(7)
        doc.contents = [ContentIn(sha256=stored.sha256, size=stored.size, cid=str(stored.cid),
                                  profile=stored.profile)]
        await services.index.upsert_document(doc, origin=Identity.generate().node_id)
        await services.index.upsert_document(document(8), origin=Identity.generate().node_id)
        async with services.index.read() as conn:
            assert await on_query(conn, tallies.count_held_documents) == 0
        assert await held.reconcile(services.index, services.store) == 1
        async with services.index.read() as conn:
            assert await on_query(conn, tallies.count_held_documents) == 1
    assert await _own_entries(home) == []          # applied changes are never re-signed


def _file(folder: Path, data: bytes) -> Path:
    path = folder / "report.txt"
    path.write_bytes(data)
    return path


def test_only_the_composition_root_constructs_an_index() -> None:
    """Outside ``mirror/services.py`` no product code opens an ``Index`` or a bare ``Database``;
    ``mirror/reading.py`` opens only the ``BareReader`` (``mode=ro``: it cannot write)."""
    offenders = []
    for folder in ("mirror", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "mirror" / "services.py":
                continue
            read_only = path == ROOT / "mirror" / "reading.py"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and _constructs_index(node.func) \
                        and not (read_only and _names(node.func) == "BareReader"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def _names(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else getattr(getattr(func, "value", None), "id", "")


def _constructs_index(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("Index", "Database", "BareReader")
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id in ("Index", "Database", "BareReader") and func.attr == "open"
    return False


def test_the_indexer_package_exports_its_api_without_loading_the_database_layer() -> None:
    """``indexer`` names its public API; importing the package alone loads no SQLAlchemy."""
    import subprocess
    import sys

    code = ("import sys, indexer; assert 'sqlalchemy' not in sys.modules; "
            "assert sorted(indexer.__all__) == sorted(indexer._EXPORTS); "
            "[getattr(indexer, n) for n in indexer.__all__]")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_no_class_or_function_name_is_defined_twice() -> None:
    """One name, one thing: across mirror, indexer and cli no two top-level classes or functions
    share a name (a reader who greps a name finds one definition)."""
    seen: dict[str, list[str]] = {}
    for folder in ("mirror", "indexer", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) \
                        and not node.name.startswith("_"):
                    seen.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    assert {name: where for name, where in seen.items() if len(where) > 1} == {}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize(("where", "forbidden"), [
    ("indexer", ("mirror", "cli")),
    ("mirror", ("cli",)),
    ("mirror/feed", ("mirror.node", "aiohttp")),
    ("mirror/store", ("mirror.node",)),
    ("mirror/bundle", ("mirror.node",)),
    ("mirror/pipeline.py", ("mirror.node",)),
])
def test_dependencies_run_one_way(where: str, forbidden: tuple[str, ...]) -> None:
    """cli -> mirror -> indexer; the feed protocol, the store, bundles and the harvest know no node."""
    target = ROOT / where
    paths = [target] if target.is_file() else sorted(target.rglob("*.py"))
    bad = [f"{p.relative_to(ROOT)}: {name}" for p in paths for name in sorted(_imports(p))
           if any(name == f or name.startswith(f + ".") for f in forbidden)]
    assert bad == []


async def test_a_read_only_open_without_identity_neither_reads_nor_creates_the_key(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    async with open_home(home) as services:
        await services.index.upsert_document(document(1))
    home.key_file.unlink()
    async with open_home(home, read_only=True, identity=False) as services:
        assert await services.index.get_document("c", "doc-1") is not None
        with pytest.raises(RuntimeError):
            assert services.identity.node_id
    assert not home.key_file.exists()
    with pytest.raises(ValueError):
        async with open_home(home, identity=False):
            pass


async def test_search_home_reads_an_index_at_head_or_opens_it_first(tmp_path: Path) -> None:
    fresh = Home.open(tmp_path / "fresh")
    assert await search_home(fresh, SearchQuery("river")) == []       # created on the way
    assert fresh.db_path.exists()
    home = Home.open(tmp_path / "home")
    async with open_home(home) as services:
        await services.index.upsert_documents([document(1), document(2)])
        expected = await services.index.search(SearchQuery("river"))
    assert len(expected) == 2 and await search_home(home, SearchQuery("river")) == expected


def test_search_now_reads_without_an_event_loop_or_opens_the_index_first(tmp_path: Path) -> None:
    fresh = Home.open(tmp_path / "fresh")
    assert search_now(fresh, SearchQuery("river")) == []              # created on the way
    assert fresh.db_path.exists()
    home = Home.open(tmp_path / "home")

    async def fill() -> list:
        async with open_home(home) as services:
            await services.index.upsert_documents([document(1), document(2)])
            return await services.index.search(SearchQuery("river"))
    expected = asyncio.run(fill())
    assert len(expected) == 2 and search_now(home, SearchQuery("river")) == expected
