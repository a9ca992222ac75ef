"""The common part of the fake servers: an aiohttp app on 127.0.0.1 (free port) with a request log."""

from __future__ import annotations

import hashlib
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
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
    address); ``self.requests`` logs every request.

    Files answered through ``static()`` carry an ``ETag`` and a ``Last-Modified`` and honour
    ``If-None-Match`` / ``If-Modified-Since`` as RFC 9110 section 13 says (If-None-Match decides
    when both are sent); ``self.conditional`` logs the paths asked with a validator and
    ``self.not_modified`` those answered 304. ``validators = False`` serves them without."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.app = web.Application(middlewares=[self._log])
        self.requests: list[Seen] = []
        self.conditional: list[str] = []
        self.not_modified: list[str] = []
        self.validators = True
        self.url = ""
        self._runner: web.AppRunner | None = None

    def static(self, request: web.Request, body: bytes, content_type: str | None = None, *,
               modified: datetime | None = None, headers: dict[str, str] | None = None) -> web.Response:
        """BODY as a file of its own: validators, and a 304 when the client's still match."""
        extra = dict(headers or {})
        if self.validators:
            stamp = (modified or _EPOCH).replace(microsecond=0)
            extra |= {"ETag": '"' + hashlib.sha256(body).hexdigest()[:20] + '"',
                      "Last-Modified": format_datetime(stamp, usegmt=True)}
            if _not_modified(request, extra["ETag"], stamp):
                self.not_modified.append(request.path)
                return web.Response(status=304, headers=extra)
        return web.Response(body=body, content_type=content_type, headers=extra)

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
        if "If-None-Match" in request.headers or "If-Modified-Since" in request.headers:
            self.conditional.append(request.path)
        return await handler(request)


_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _not_modified(request: web.Request, etag: str, modified: datetime) -> bool:
    if "If-None-Match" in request.headers:
        sent = [t.strip().removeprefix("W/") for t in request.headers["If-None-Match"].split(",")]
        return etag in sent or "*" in sent
    since = request.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        return modified <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


S = TypeVar("S", bound=FakeServer)


@asynccontextmanager
async def running(server: S) -> AsyncIterator[S]:
    """``async with running(Server()) as server:`` for fixtures and ad-hoc tests."""
    await server.start()
    try:
        yield server
    finally:
        await server.close()
