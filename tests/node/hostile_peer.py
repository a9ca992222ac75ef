"""A hostile peer: a real aiohttp server in front of a real node that corrupts what it relays.

It forwards every ``/api/v1`` request to the honest node behind it and, depending on ``mode``,
damages the entry pages (or the feed list) on the way back, exactly as a malicious or broken peer
speaking protocol v1 could.
"""

from __future__ import annotations

import asyncio
import struct

import aiohttp
import zstandard
from aiohttp import web

from mirror.feed.codec import MEDIA_TYPE, decode_page, encode_page
from mirror.feed.entry import make_entry
from mirror.feed.identity import Identity
from tests.servers.local_app import FakeServer

MODES = ("flip-signature", "flip-payload", "broken-chain", "wrong-author", "malformed",
         "zstd-bomb", "endless", "oversized", "bad-feed-list")


class HostilePeer(FakeServer):
    def __init__(self, upstream: str, mode: str) -> None:
        super().__init__()
        assert mode in MODES
        self.upstream = upstream
        self.mode = mode
        self.pages_sent = 0
        self.app.router.add_route("*", "/api/v1/{tail:.*}", self.forward)

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/entries") and self.mode in ("endless", "oversized"):
            return await self._stream(request)
        async with aiohttp.ClientSession() as session:
            async with session.request(request.method, self.upstream + request.path_qs,
                                       data=await request.read(),
                                       headers={"Content-Type": request.content_type}) as resp:
                body = await resp.read()
                ctype = resp.headers.get("Content-Type", "application/json")
                status = resp.status
        if request.path.endswith("/entries") and status == 200:
            self.pages_sent += 1
            body = self._corrupt(body)
        if request.path == "/api/v1/feeds" and self.mode == "bad-feed-list":
            body = body.replace(b'"seq":', b'"seq":"many","was":')
        return web.Response(body=body, status=status, headers={"Content-Type": ctype})

    def _corrupt(self, body: bytes) -> bytes:
        entries = decode_page(body, max_entries=5000, max_bytes=32 << 20)
        if not entries:
            return body
        mid = len(entries) // 2
        records = [(e.payload, e.signature) for e in entries]
        if self.mode == "flip-signature":
            payload, sig = records[mid]
            records[mid] = (payload, sig[:10] + bytes([sig[10] ^ 1]) + sig[11:])
        elif self.mode == "flip-payload":
            payload, sig = records[mid]
            records[mid] = (payload.replace(b"River", b"Rivet", 1), sig)
        elif self.mode == "broken-chain":
            del records[mid]
        elif self.mode == "wrong-author":
            forger = Identity.generate()
            fake = make_entry(forger, entries[mid].seq, entries[mid].prev, "put", entries[mid].body,
                              ts=entries[mid].ts)
            records[mid] = (fake.payload, fake.signature)
        elif self.mode == "malformed":
            raw = bytearray(zstandard.ZstdDecompressor().decompress(body))
            struct.pack_into(">I", raw, 10, 1 << 30)       # first record's length runs past the end
            return zstandard.ZstdCompressor(write_content_size=True).compress(bytes(raw))
        elif self.mode == "zstd-bomb":
            return zstandard.ZstdCompressor(write_content_size=True).compress(b"\0" * (64 << 20))
        return encode_page(records)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": MEDIA_TYPE})
        if self.mode == "oversized":
            response.content_length = 1 << 40
        await response.prepare(request)
        chunk = b"\x28\xb5\x2f\xfd" + b"\0" * (1 << 16)
        try:
            while True:                                     # until the client hangs up
                await response.write(chunk)
                await asyncio.sleep(0)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass
        return response
