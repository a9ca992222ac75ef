"""A real aiohttp origin with awkward endpoints, and a recorder that measures politeness server-side.

Fixture (import it into a conftest: ``from tests.servers.origin import origin``):

``origin`` -> ``Origin`` serving on 127.0.0.1, port 0, reachable under two host names:
    ``.url(path, host="127.0.0.1")``   ``http://127.0.0.1:PORT/path``; ``host="localhost"`` gives the
                                       other host name for the same server (per-host independence)
    ``.robots``                        robots.txt text for every host (None: 404, the default)
    ``.robots_by_host``                {host name: text or None} overriding ``.robots`` per host
    ``.robots_status``                 when set, /robots.txt answers this status instead
    ``.recorder``                      every request, as ``Hit(path, host, start, end, headers)``

Recorder (times are ``time.monotonic()``, the client's clock too):
    ``hits``, ``hits_for(host=None, path=None)`` (path is a prefix), ``count(path)``,
    ``starts(host, path=None)``, ``max_in_flight[host]``, ``max_in_flight_total``

Endpoints (sizes in bytes; bodies are generated lazily, never materialised):
    /file/{size}?ct=TYPE&chunked=1   ``payload(size)`` (deterministic), Content-Length unless chunked
    /slow?delay=S&size=N             waits S seconds, then N bytes
    /trickle?chunks=N&interval=S     N chunks of 10 bytes, S seconds apart
    /flaky/{key}?fail=N&status=503&retry_after=V
                                     the first N requests (counted per key) answer ``status`` (with
                                     ``Retry-After: V`` when given), the next ones 200 "ok {key}"
    /truncated?size=N&send=M         Content-Length N, M bytes sent, then the connection is closed
    /drop                            the connection is closed before any response
    /redirect/{n}                    302 to /redirect/{n-1}; /redirect/0 answers "arrived"
    /loop/a, /loop/b                 302 to each other
    /to?url=U&status=302             a redirect to U (absolute or relative)
    /bomb?size=N&encoding=gzip       Content-Encoding gzip (or deflate): a small stream that inflates
                                     to N zero bytes (1 GiB by default), produced piece by piece
    /gzip?size=N&encoding=gzip&cut=K ``payload(N)`` compressed whole (gzip, deflate or raw-deflate),
                                     less its last K bytes (a well-framed response, a broken stream)
    /huge?size=N&length=1            ``payload(N)`` streamed (Content-Length only with length=1)
    /status/{code}                   that status
    /license/{kind}                  HTML page with licence markup: link, a, jsonld, meta, header
                                     (a ``Link`` header), nc, none
    /headers                         the request headers as JSON
    /html?charset=C                  a small HTML page in charset C, declared in Content-Type
    /doc/{kind}/{name}?size=N        ``documents.document(kind, N)`` in 64 KiB pieces, with its media
                                     type (kinds: text, html, csv, json, pdf, bin)
    /cut/{key}?size=N&send=M&fail=K  the first K requests (counted per key) declare N bytes, send M
                                     bytes that are not ``payload(N)``'s, then close; later ones
                                     serve ``payload(N)``
    anything else under /            200 "page PATH" (e.g. /private/x for robots tests)
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import AsyncIterator, Iterator

import pytest
from aiohttp import web

from tests.servers.documents import document

BLOCK = 1 << 16
_LICENSE_PAGES = {
    "link": '<link rel="license" href="https://creativecommons.org/licenses/by/4.0/">',
    "a": '<a rel="license" href="https://creativecommons.org/licenses/by-sa/4.0/">CC BY-SA</a>',
    "jsonld": '<script type="application/ld+json">{"@context": "https://schema.org", '
              '"license": "https://creativecommons.org/publicdomain/zero/1.0/"}</script>',
    "meta": '<meta name="DC.rights" content="CC BY 4.0">',
    "nc": '<link rel="license" href="https://creativecommons.org/licenses/by-nc/4.0/">',
    "header": "", "none": "",
}


def _block(i: int) -> bytes:
    return hashlib.sha256(str(i).encode()).digest() * (BLOCK // 32)


def payload_blocks(size: int) -> Iterator[bytes]:
    """``payload(size)`` in pieces of at most 64 KiB."""
    for i, start in enumerate(range(0, size, BLOCK)):
        yield _block(i)[:min(BLOCK, size - start)]


def payload(size: int) -> bytes:
    """The deterministic body /file/{size} serves (build it only for small sizes)."""
    return b"".join(payload_blocks(size))


def payload_sha256(size: int) -> str:
    h = hashlib.sha256()
    for piece in payload_blocks(size):
        h.update(piece)
    return h.hexdigest()


@dataclass
class Hit:
    path: str                     # path and query
    host: str                     # Host header without the port
    start: float
    end: float | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorder:
    hits: list[Hit] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    in_flight_total: int = 0
    max_in_flight_total: int = 0

    def hits_for(self, host: str | None = None, path: str | None = None) -> list[Hit]:
        return [h for h in self.hits
                if (host is None or h.host == host) and (path is None or h.path.startswith(path))]

    def count(self, path: str) -> int:
        return len(self.hits_for(path=path))

    def starts(self, host: str, path: str | None = None) -> list[float]:
        return sorted(h.start for h in self.hits_for(host, path))

    def enter(self, hit: Hit) -> None:
        self.hits.append(hit)
        self.in_flight[hit.host] = self.in_flight.get(hit.host, 0) + 1
        self.max_in_flight[hit.host] = max(self.max_in_flight.get(hit.host, 0), self.in_flight[hit.host])
        self.in_flight_total += 1
        self.max_in_flight_total = max(self.max_in_flight_total, self.in_flight_total)

    def leave(self, hit: Hit) -> None:
        hit.end = time.monotonic()
        self.in_flight[hit.host] -= 1
        self.in_flight_total -= 1


class Origin:
    """The origin server; see the module docstring."""

    def __init__(self) -> None:
        self.app = self._make_app()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self.recorder = Recorder()
        self.robots: str | None = None
        self.robots_by_host: dict[str, str | None] = {}
        self.robots_status: int | None = None
        self._counters: dict[str, int] = {}

    async def start(self) -> "Origin":
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        get = app.router.add_get
        for route, handler in (
            ("/robots.txt", self._robots), ("/file/{size}", self._file), ("/slow", self._slow),
            ("/trickle", self._trickle), ("/flaky/{key}", self._flaky), ("/truncated", self._truncated),
            ("/drop", self._drop), ("/redirect/{n}", self._redirect), ("/loop/{side}", self._loop),
            ("/to", self._to), ("/bomb", self._bomb), ("/gzip", self._gzip), ("/huge", self._huge),
            ("/status/{code}", self._status), ("/license/{kind}", self._license),
            ("/headers", self._headers), ("/html", self._html), ("/doc/{kind}/{name}", self._doc),
            ("/cut/{key}", self._cut), ("/{tail:.*}", self._any),
        ):
            get(route, handler)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: web.Handler) -> web.StreamResponse:
        host = (request.headers.get("Host") or "").rsplit(":", 1)[0]
        hit = Hit(request.path_qs, host, time.monotonic(), headers=dict(request.headers))
        self.recorder.enter(hit)
        try:
            return await handler(request)
        finally:
            self.recorder.leave(hit)

    async def _robots(self, request: web.Request) -> web.Response:
        if self.robots_status is not None:
            return web.Response(status=self.robots_status, text="robots unavailable")
        host = (request.headers.get("Host") or "").rsplit(":", 1)[0]
        text = self.robots_by_host.get(host, self.robots)
        return web.Response(status=404) if text is None else web.Response(text=text)

    async def _stream(self, request: web.Request, pieces: Iterator[bytes] | AsyncIterator[bytes],
                      headers: dict[str, str] | None = None, length: int | None = None) -> web.StreamResponse:
        resp = web.StreamResponse(headers=headers or {})
        if length is not None:
            resp.content_length = length
        await resp.prepare(request)
        try:
            if hasattr(pieces, "__aiter__"):
                async for piece in pieces:  # type: ignore[union-attr]
                    await resp.write(piece)
            else:
                for piece in pieces:  # type: ignore[union-attr]
                    await resp.write(piece)
                    await asyncio.sleep(0)  # let a client in this process read (and give up)
            await resp.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client went away (it stopped reading at its cap)
        return resp

    async def _file(self, request: web.Request) -> web.StreamResponse:
        size = int(request.match_info["size"])
        headers = {"Content-Type": request.query.get("ct", "application/octet-stream")}
        length = None if request.query.get("chunked") else size
        return await self._stream(request, payload_blocks(size), headers, length)

    async def _slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("delay", "0.5")))
        return web.Response(body=payload(int(request.query.get("size", "10"))))

    async def _trickle(self, request: web.Request) -> web.StreamResponse:
        chunks, interval = int(request.query.get("chunks", "5")), float(request.query.get("interval", "0.1"))

        async def pieces() -> AsyncIterator[bytes]:
            for _ in range(chunks):
                yield b"0123456789"
                await asyncio.sleep(interval)
        return await self._stream(request, pieces(), length=10 * chunks)

    async def _flaky(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        self._counters[key] = seen = self._counters.get(key, 0) + 1
        if seen <= int(request.query.get("fail", "1")):
            headers = {"Retry-After": request.query["retry_after"]} if "retry_after" in request.query else {}
            return web.Response(status=int(request.query.get("status", "503")), headers=headers)
        return web.Response(text=f"ok {key}")

    async def _truncated(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": request.query.get("size", "1000")})
        await resp.prepare(request)
        await resp.write(b"x" * int(request.query.get("send", "100")))
        assert request.transport is not None
        request.transport.close()
        return resp

    async def _drop(self, request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return web.Response(text="never sent")

    async def _redirect(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n <= 0:
            return web.Response(text="arrived")
        raise web.HTTPFound(f"/redirect/{n - 1}")

    async def _loop(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop/b" if request.match_info["side"] == "a" else "/loop/a")

    async def _to(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.query.get("status", "302")),
                            headers={"Location": request.query["url"]})

    async def _bomb(self, request: web.Request) -> web.StreamResponse:
        size, encoding = int(request.query.get("size", str(1 << 30))), request.query.get("encoding", "gzip")
        return await self._stream(request, zero_stream(size, encoding), {"Content-Encoding": encoding})

    async def _gzip(self, request: web.Request) -> web.Response:
        data, encoding = payload(int(request.query.get("size", "100000"))), request.query.get("encoding", "gzip")
        wbits = {"gzip": 31, "deflate": 15, "raw-deflate": -15}[encoding]
        z = zlib.compressobj(6, zlib.DEFLATED, wbits)
        body = z.compress(data) + z.flush()
        body = body[:len(body) - int(request.query.get("cut", "0"))]  # cut: a stream that ends early
        return web.Response(body=body, headers={"Content-Encoding": encoding.replace("raw-", "")})

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        size = int(request.query.get("size", str(1 << 31)))
        return await self._stream(request, payload_blocks(size),
                                  length=size if request.query.get("length") else None)

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status page")

    async def _license(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        headers = {"Link": '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'} \
            if kind == "header" else {}
        html = f"<!doctype html><html><head><title>{kind}</title>{_LICENSE_PAGES[kind]}</head>" \
               f"<body><p>A page with licence markup: {kind}.</p></body></html>"
        return web.Response(text=html, content_type="text/html", headers=headers)

    async def _headers(self, request: web.Request) -> web.Response:
        return web.json_response(dict(request.headers))

    async def _html(self, request: web.Request) -> web.Response:
        charset = request.query.get("charset", "utf-8")
        body = "<html><body>Grüße, café</body></html>".encode(charset)
        return web.Response(body=body, headers={"Content-Type": f"text/html; charset={charset}"})

    async def _doc(self, request: web.Request) -> web.StreamResponse:
        body, media = document(request.match_info["kind"], int(request.query.get("size", "300000")))
        pieces = (body[i:i + BLOCK] for i in range(0, len(body), BLOCK))
        return await self._stream(request, pieces, {"Content-Type": media}, len(body))

    async def _cut(self, request: web.Request) -> web.StreamResponse:
        key, size = request.match_info["key"], int(request.query.get("size", "1000"))
        self._counters[key] = seen = self._counters.get(key, 0) + 1
        if seen > int(request.query.get("fail", "1")):
            return await self._stream(request, payload_blocks(size), length=size)
        resp = web.StreamResponse(headers={"Content-Length": str(size)})
        await resp.prepare(request)
        send = int(request.query.get("send", "100"))
        for start in range(0, send, BLOCK):
            await resp.write(bytes([seen % 251]) * min(BLOCK, send - start))
        assert request.transport is not None
        request.transport.close()
        return resp

    async def _any(self, request: web.Request) -> web.Response:
        return web.Response(text=f"page {request.path}")


def zero_stream(size: int, encoding: str = "gzip") -> Iterator[bytes]:
    """A gzip (or zlib ``deflate``) stream of ``size`` zero bytes, built from one precomputed
    full-flush deflate piece per MiB so that serving it costs almost nothing."""
    mib = bytes(1 << 20)
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = z.compress(mib) + z.flush(zlib.Z_FULL_FLUSH)
    gzip = encoding == "gzip"
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" if gzip else b"\x78\xda"
    sent = 0
    while sent < size:
        n = min(1 << 20, size - sent)
        if n == 1 << 20:
            yield piece
        else:
            z = zlib.compressobj(9, zlib.DEFLATED, -15)
            yield z.compress(mib[:n]) + z.flush(zlib.Z_FULL_FLUSH)
        sent += n
    check = zlib.crc32(b"") if gzip else zlib.adler32(b"")  # only reached by clients reading it all
    for start in range(0, size, 1 << 20):
        n = min(1 << 20, size - start)
        check = zlib.crc32(mib[:n], check) if gzip else zlib.adler32(mib[:n], check)
    yield b"\x03\x00" + (struct.pack("<II", check, size & 0xFFFFFFFF) if gzip else struct.pack(">I", check))


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    server = Origin()
    await server.start()
    try:
        yield server
    finally:
        await server.close()
