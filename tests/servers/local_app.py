"""The common part of the fake servers: an aiohttp app on 127.0.0.1 (free port) with a request log."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, NamedTuple, TypeVar

from aiohttp import web


class Seen(NamedTuple):
    """One request as the server saw it."""

    path: str
    query: dict[str, str]
    at: float               # time.monotonic() on arrival


class FakeServer:
    """Subclasses add routes to ``self.app`` in ``__init__``; ``start()`` serves them and sets
    ``self.url`` (``http://HOST:PORT``, ``host`` 127.0.0.1 unless a subclass sets another loopback
    address); ``self.requests`` logs every request."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.app = web.Application(middlewares=[self._log])
        self.requests: list[Seen] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> Any:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{self.host}:{port}"
        self.started()
        return self

    def started(self) -> None:
        """Hook: runs once the URL is known (build content that names it)."""

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(Seen(request.path, dict(request.query), time.monotonic()))
        return await handler(request)


S = TypeVar("S", bound=FakeServer)


@asynccontextmanager
async def running(server: S) -> AsyncIterator[S]:
    """``async with running(Server()) as server:`` for fixtures and ad-hoc tests."""
    await server.start()
    try:
        yield server
    finally:
        await server.close()
