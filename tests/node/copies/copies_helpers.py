"""Real volunteer nodes for the diffusion tests, without background work.

A ``Volunteer`` is a real ``Node`` (its own home, key, index with the feed hook, blockstore and
read pool), opened but not started: the test serves ``build_app(node)`` (with the diffusion routes
of ``mirror.node.copies.holdings`` and ``mirror.node.copies.audit``) on 127.0.0.1 port 0 itself, so nothing runs
that the test did not ask for. ``seen`` logs the paths each one served. Homes start from one
migrated index file copied into place (``NodeFactory.template``: migrating each home takes
~0.4 s).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from aiohttp import web

from indexer.records import ContentIn, DocumentIn
from mirror.home import Home
from mirror.node.copies import holdings
from mirror.node.app import Node, build_app
from mirror.store import ImportResult
from tests.node.holder_server import SMALL      # 1 KiB chunks, 4 links: many blocks from little data
from tests.node.node_helpers import NodeFactory

__all__ = ["SMALL", "Swarm", "Volunteer", "content_of", "document", "make_home", "swarm"]


def make_home(path: Path, **settings: Any) -> Home:
    home = Home.open(path)
    if not home.db_path.exists():
        shutil.copyfile(NodeFactory.template(), home.db_path)
    for key, value in settings.items():
        home.settings.set(key, value)
    return home


class Volunteer:
    """A real node serving the API, the gateway and the diffusion routes (see the module doc)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.seen: list[str] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return self.node.url

    @property
    def node_id(self) -> str:
        return self.node.identity.node_id

    @classmethod
    async def start(cls, home: Home) -> "Volunteer":
        node = Node(home, listen="127.0.0.1:0", rate_limit=0)
        await node.open()
        volunteer = cls(node)
        app = build_app(node)
        app.middlewares.insert(0, volunteer._log)
        volunteer._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await volunteer._runner.setup()
        site = web.TCPSite(volunteer._runner, "127.0.0.1", 0)
        await site.start()
        node.url = f"http://127.0.0.1:{volunteer._runner.addresses[0][1]}"
        return volunteer

    @web.middleware
    async def _log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.seen.append(request.path)
        return await handler(request)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.node.stop()

    def put_bytes(self, tmp: Path, name: str, data: bytes) -> ImportResult:
        """Store DATA in the blockstore only (not indexed)."""
        path = tmp / f"{self.node_id[:10]}-{name}"
        path.write_bytes(data)
        return self.node.store.add_file(path, SMALL)

    async def add(self, tmp: Path, name: str, data: bytes, *, collection: str = "c",
                  license: str = "CC0-1.0") -> ContentIn:
        """Store DATA and index a document for it, as a mirror run on this node would (own)."""
        result = self.put_bytes(tmp, name, data)
        content = content_of(result, name)
        await self.node.index.upsert_document(document(content, collection, license))
        return content

    async def publish(self, budget: int = 1 << 30, used: int = 0, ts: str | None = None) -> holdings.Announcement:
        return await holdings.publish_holdings(self.node.index, self.node.identity, url=self.url,
                                               budget=budget, used=used, ts=ts)


def content_of(result: ImportResult, name: str) -> ContentIn:
    return ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                     profile=result.profile, media_type="application/octet-stream", name=name)


def document(content: ContentIn, collection: str = "c", license: str = "CC0-1.0") -> DocumentIn:
    return DocumentIn(collection=collection, source_id=content.sha256[:16], title=content.name or "",
                      license=license, contents=[content])


class Swarm:
    """Volunteers under one tmp folder; ``close`` stops them all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.members: list[Volunteer] = []

    async def start(self, name: str, **settings: Any) -> Volunteer:
        volunteer = await Volunteer.start(make_home(self.root / name, **settings))
        self.members.append(volunteer)
        return volunteer

    async def close(self) -> None:
        for member in self.members:
            await member.stop()


@pytest.fixture
async def swarm(tmp_path: Path) -> AsyncIterator[Swarm]:
    group = Swarm(tmp_path)
    try:
        yield group
    finally:
        await group.close()
