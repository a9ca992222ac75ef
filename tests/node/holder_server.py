"""Real holder nodes for the gateway and retrieval tests.

A ``HolderNode`` is a node home (its own blockstore, index and settings) with the attributes the
gateway uses; ``HolderServer`` serves it through the real ``mirror.node.gateway.routes`` on 127.0.0.1,
port 0. Misbehaving holders are the same server plus a middleware: ``corrupting`` (a peer that
sends wrong block bytes) and ``delaying`` (a slow peer).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from aiohttp import ClientSession, web

from indexer.index import Index
from indexer.records import ContentIn, DocumentIn
from mirror.home import Home
from mirror.node.gateway.request import GATEWAY, GatewayState
from mirror.node.gateway.routes import gateway_routes
from mirror.node.limits import limiter_for
from mirror.settings import Settings
from mirror.store import ContentStore, ImportResult, open_store
from mirror.store.profiles import Profile
from tests.servers.local_app import FakeServer

# Small chunks and links so that kilobytes make deep DAGs with many blocks.
SMALL = Profile("test-small", cid_version=1, chunk_size=1024, max_links=4, raw_leaves=True,
                hamt_estimate="links", hamt_threshold=300, hamt_fanout=8)
SMALL_V0 = Profile("test-small-v0", cid_version=0, chunk_size=1024, max_links=4, raw_leaves=False,
                   hamt_estimate="disabled")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class HolderNode:
    home: Home
    store: ContentStore
    index: Index | None
    settings: Settings

    def add_bytes(self, tmp: Path, name: str, data: bytes, profile: Profile = SMALL) -> ImportResult:
        path = tmp / name
        path.write_bytes(data)
        return self.store.add_file(path, profile)

    async def index_content(self, result: ImportResult, *, media_type: str | None,
                            name: str | None) -> None:
        assert self.index is not None
        content = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                            profile=result.profile, media_type=media_type, name=name)
        doc = DocumentIn(collection="tests", source_id=str(result.cid), title=name or "",
                         license="CC0-1.0", contents=[content])
        await self.index.upsert_document(doc)

    async def close(self) -> None:
        if self.index is not None:
            await self.index.close()


async def make_node(path: Path, *, with_index: bool = False, upload_rate: int = 0,
                    in_flight: int = 0) -> HolderNode:
    home = Home.open(path)
    home.settings.set("node.upload_rate", upload_rate)
    home.settings.set("node.gateway_in_flight", in_flight)
    index = await Index.open(home.db_path) if with_index else None
    return HolderNode(home, open_store(home), index, home.settings)


class HolderServer(FakeServer):
    """The real gateway of ``node`` on 127.0.0.1 (``start()`` sets ``url``); ``requests`` logs
    every request; extra middlewares make it misbehave."""

    def __init__(self, node: HolderNode, *middlewares: Any) -> None:
        super().__init__()
        self.node = node
        self.app.middlewares.extend(middlewares)
        gateway_routes(self.app, node.store, node.index, limiter_for(node.settings.node.upload_rate),
                       max_in_flight=int(node.settings.node.gateway_in_flight))

    def node_state(self) -> GatewayState:
        return self.app[GATEWAY]

    def blocks_served(self) -> int:
        return sum(1 for seen in self.requests if seen.query.get("format") == "raw")


@web.middleware
async def corrupting(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A lying peer: every raw block it sends has its last byte flipped (or one byte added)."""
    response = await handler(request)
    if isinstance(response, web.Response) and response.status == 200 and response.body is not None:
        body = bytes(response.body)  # type: ignore[arg-type]
        lie = body[:-1] + bytes([body[-1] ^ 0xFF]) if body else b"\x00"
        return web.Response(status=200, body=lie, headers={"Content-Type": response.content_type})
    return response


def delaying(seconds: float) -> Any:
    """A slow peer: every request waits ``seconds`` before it is answered."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return await handler(request)

    return middleware


def throttling(every: int) -> Any:
    """A busy peer: every ``every``-th request gets 429 with ``Retry-After: 0``."""
    seen = [0]

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen[0] += 1
        if seen[0] % every == 0:
            return web.Response(status=429, headers={"Retry-After": "0"})
        return await handler(request)

    return middleware


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- fixtures (imported by the test modules that use them) ----------------------------------------

@pytest.fixture
async def gateway(tmp_path: Path):
    """A holder node with an index, served by the real gateway; yields the running server."""
    node = await make_node(tmp_path / "holder", with_index=True)
    server = await HolderServer(node).start()
    try:
        yield server
    finally:
        await server.close()
        await node.close()


@pytest.fixture
async def http():
    async with ClientSession() as session:
        yield session
