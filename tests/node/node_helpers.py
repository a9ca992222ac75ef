"""Real nodes for the sync tests: each with its own home, key and SQLite file, on 127.0.0.1 port 0.

``NodeFactory`` makes homes quickly by copying one migrated index file (a real, fully migrated
SQLite file: migrating each home takes ~0.4 s) and starts ``Node`` objects with fast timings.
``wait_for`` polls a predicate; tests never sleep a fixed time.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import pytest

from indexer import migrate
from indexer.records import ContentIn, DocumentIn, SearchQuery
from mirror.home import Home
from mirror.node.app import Node
from mirror.store.cid import CID, RAW

# Fast timings for tests: quick syncs and backoff, no request rate limit, and no cap on the
# connections of one address (every node and client of a test shares 127.0.0.1; the attack
# tests in tests/security set the limits they attack).
FAST: dict[str, Any] = {"sync_interval": 0.5, "rate_limit": 0, "backoff": 0.3, "backoff_max": 2.0,
                        "peer_timeout": 5.0, "max_connections_per_address": 0}


def document(i: int, *, collection: str = "c", license: str | None = "CC-BY-4.0",
             title: str | None = None, statement: str | None = None) -> DocumentIn:
    return DocumentIn(collection=collection, source_id=f"doc-{i}", title=title or f"River survey {i}",
                      creators=["Ada"], license=license, license_statement=statement,
                      contents=[ContentIn(sha256=f"{i:064x}", size=100 + i, cid=_cid(i),
                                          profile="unixfs-v1-2025", media_type="text/plain")])


def _cid(i: int) -> str:
    """A raw-leaf CID of some bytes no test stores."""
    return str(CID.of(f"content {i}".encode(), RAW))


async def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02,
                   what: str = "condition") -> Any:
    """Poll PREDICATE (sync or async) until it returns something true; fail after TIMEOUT."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


class NodeFactory:
    """Makes and starts nodes under ROOT; ``close()`` stops every node still running."""

    _template: Path | None = None

    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes: list[Node] = []

    @classmethod
    def template(cls) -> Path:
        if cls._template is None:
            import atexit
            import tempfile
            folder = tempfile.mkdtemp(prefix="om-template-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)     # one per test process
            path = Path(folder) / "index.sqlite"
            migrate.upgrade(path)
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cls._template = path
        return cls._template

    def home(self, name: str) -> Home:
        home = Home.open(self.root / name)
        if not home.db_path.exists():
            shutil.copyfile(self.template(), home.db_path)
        return home

    async def start(self, name: str, *, peers: list[str] | None = None, **overrides: Any) -> Node:
        node = Node(self.home(name), listen="127.0.0.1:0", peers=peers, **(FAST | overrides))
        await node.start()
        self.nodes.append(node)
        return node

    async def stop(self, node: Node) -> None:
        await node.stop()
        if node in self.nodes:
            self.nodes.remove(node)

    async def close(self) -> None:
        for node in list(self.nodes):
            await self.stop(node)


async def count(node: Node) -> int:
    return (await node.index.stats()).documents


async def snapshot(node: Node) -> list[tuple[Any, ...]]:
    """Every document (retracted ones too) as comparable tuples, in key order."""
    docs = [d async for d in node.index.iter_documents(include_deleted=True)]
    return sorted((d.collection, d.source_id, d.title, d.license, d.deleted,
                   tuple(c.sha256 for c in d.contents)) for d in docs)


async def titles(node: Node, text: str = "", limit: int = 100) -> list[str]:
    return sorted(h.title for h in await node.index.search(SearchQuery(text, limit=limit)))


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    """Start nodes with ``await nodes.start(name, ...)``; all are stopped after the test."""
    factory = NodeFactory(tmp_path)
    try:
        yield factory
    finally:
        await factory.close()
