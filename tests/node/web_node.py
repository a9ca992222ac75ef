"""A real node for the web page, OAI-PMH and browser tests, without the sync machinery.

``WebNode`` carries what ``mirror.node.web.routes.web_routes`` uses (home, settings, identity, a real
``Index`` and ``ContentStore`` on a tmp home, and ``url``); ``WebServer`` serves it on 127.0.0.1,
port 0, with the real web routes and the real gateway (``/ipfs``). Documents go in through the real
APIs: the file through ``ContentStore.add_file``, its metadata through ``Index.upsert_document``.
"""

from __future__ import annotations

import hashlib
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web

from indexer.index import Index
from indexer.records import ContentIn, DocumentIn
from mirror.home import Home
from mirror.node.gateway import routes as gateway
from mirror.node.limits import limiter_for
from mirror.node.web import routes as web_routes
from mirror.node.web.site import Site
from mirror.feed.identity import Identity
from mirror.settings import Settings
from mirror.services import open_home
from mirror.store import ContentStore


@dataclass
class WebNode:
    home: Home
    settings: Settings
    identity: Identity
    index: Index
    store: ContentStore
    url: str = "http://127.0.0.1:0"
    opened: AsyncExitStack | None = None

    @classmethod
    async def open(cls, path: Path, **settings: Any) -> "WebNode":
        """HOME opened as every command opens it (``open_home``: the signing, binding, held and
        publication hooks attached)."""
        home = Home.open(path)
        for key, value in settings.items():
            home.settings.set(f"node.{key}", value)
        opened = AsyncExitStack()
        services = await opened.enter_async_context(open_home(home))
        return cls(home, home.settings, services.identity, services.index, services.store,
                   opened=opened)

    async def add(self, data: bytes, *, name: str = "file.txt", media_type: str = "text/plain",
                  collection: str = "books", source_id: str | None = None,
                  **fields: Any) -> DocumentIn:
        """Store DATA and index a document for it; returns the document as indexed."""
        folder = self.home.staging_dir
        path = folder / f"upload-{hashlib.sha256(data).hexdigest()[:16]}"
        path.write_bytes(data)
        result = self.store.add_file(path)
        path.unlink()
        content = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                            profile=result.profile, media_type=media_type, name=name,
                            url=fields.pop("final_url", None))
        fields.setdefault("title", name)
        fields.setdefault("license", "CC-BY-4.0")
        doc = DocumentIn(collection=collection, source_id=source_id or str(result.cid),
                         contents=[content], **fields)
        await self.index.upsert_document(doc)
        return doc

    async def close(self) -> None:
        if self.opened is not None:
            await self.opened.aclose()


class WebServer:
    """The node's web face (and gateway) on 127.0.0.1; ``url`` is set once started."""

    def __init__(self, node: WebNode) -> None:
        self.node = node
        self.app = web.Application()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return self.node.url

    async def start(self) -> "WebServer":
        node = self.node
        gateway.gateway_routes(self.app, node.store, node.index,
                               limiter_for(node.settings.node.upload_rate))
        web_routes.web_routes(self.app, Site(node.identity, node.index, node.store, node.settings,
                                             url=lambda: node.url))
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.node.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def start_site(path: Path, **settings: Any) -> WebServer:
    return await WebServer(await WebNode.open(path, **settings)).start()


async def stop_site(server: WebServer) -> None:
    await server.close()
    await server.node.close()


@pytest.fixture
async def site(tmp_path: Path):
    """A ``WebServer`` on a fresh home (a fixture the test modules import)."""
    server = await start_site(tmp_path / "home")
    try:
        yield server
    finally:
        await stop_site(server)


@pytest.fixture
async def http():
    """An HTTP client session (a fixture the test modules import)."""
    async with ClientSession() as session:
        yield session
