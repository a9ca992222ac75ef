"""Attack: one client tries to take a node down (issue 12, item 5).

Attackers are sockets bound to other loopback addresses (127.0.0.2 ... stand in for remote
clients; 127.1.0.x and 127.2.0.x are two /24 prefixes), the honest client lives on 127.9.0.1.
Every load is bounded in count and time: slowloris heads and trickled bodies, a client that stops
reading, too many connections from one address, one prefix and in all, a spread request flood,
a flood of malformed requests (log lines), oversized requests and audits that cost too much.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from mirror.node.app import Node
from mirror.node.copies.audit import MAX_AUDIT_BYTES
from mirror.node.logs import BURST, limit_logs
from mirror.store.cid import CID, RAW
from tests.node.node_helpers import NodeFactory, nodes, wait_for  # noqa: F401  (fixture)
from tests.security.clients import (
    connect,
    host_port,
    raw_request,
    read_for,
    session_from,
    status_of,
    timed_get,
)

HONEST = "127.9.0.1"
HEAD_START = b"GET /api/v1/status HTTP/1.1\r\nHost: node\r\nX-Slow: "


async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  first: bytes, seconds: float = 6.0) -> tuple[bytes, float | None]:
    """Send FIRST, then one more byte every 0.2 s; (what came back, seconds until the server
    closed the connection or None if it did not within SECONDS)."""
    started = time.monotonic()
    data = bytearray()
    try:
        writer.write(first)
        while time.monotonic() - started < seconds:
            got, closed = await read_for(reader, 0.2)
            data += got
            if closed:
                return bytes(data), time.monotonic() - started
            writer.write(b" ")
            await writer.drain()
    except ConnectionError:
        return bytes(data), time.monotonic() - started
    finally:
        writer.close()
    return bytes(data), None


async def honest_gets(node: Node, count: int = 5) -> list[tuple[int, float]]:
    async with session_from(HONEST) as honest:
        return [await timed_get(honest, node.url + "/api/v1/status") for _ in range(count)]


async def test_slowloris_heads_are_cut_off_while_an_honest_client_is_served(nodes: NodeFactory) -> None:
    node = await nodes.start("target", header_timeout=1.0, max_connections_per_address=4)
    sources = [f"127.0.0.{i}" for i in range(2, 6)]
    conns = [await connect(node.url, source) for source in sources for _ in range(6)]
    attack = asyncio.gather(*(trickle(r, w, HEAD_START) for r, w in conns))
    served = await honest_gets(node)
    results = await attack
    busy = [seconds for data, seconds in results if status_of(data) == 503]
    cut = [seconds for data, seconds in results if not data]
    assert len(busy) == 8 and max(s or 99 for s in busy) < 0.5      # 2 over the cap per address
    assert len(cut) == 16 and max(s or 99 for s in cut) < 2.5       # heads cut off after ~1 s
    assert all(status == 200 and seconds < 1.0 for status, seconds in served), served


@pytest.mark.parametrize("path, media_type", [("/api/v1/notify", "application/json"),
                                              ("/api/v1/audit", "application/json"),
                                              ("/oai", "application/x-www-form-urlencoded")])
async def test_a_trickled_body_is_cut_off(nodes: NodeFactory, path: str, media_type: str) -> None:
    node = await nodes.start("target", body_timeout=1.0)
    reader, writer = await connect(node.url, "127.0.0.2")
    head = (f"POST {path} HTTP/1.1\r\nHost: node\r\nContent-Type: {media_type}\r\n"
            "Content-Length: 2000\r\n\r\n").encode()
    data, _closed = await trickle(reader, writer, head + b"{")
    assert status_of(data) == 408, data[:200]
    assert (await honest_gets(node, 1))[0][0] == 200


async def test_a_client_that_stops_reading_is_cut_off(nodes: NodeFactory, tmp_path) -> None:
    node = await nodes.start("target", body_timeout=1.0)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(16 << 20))
    cid = (await asyncio.to_thread(node.store.add_file, big)).cid
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind(("127.0.0.2", 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(sock, host_port(node.url))
        await loop.sock_sendall(sock, f"GET /ipfs/{cid} HTTP/1.1\r\nHost: node\r\n\r\n".encode())
        await wait_for(lambda: node.gate.open == 1, what="the connection to be open")
        started = time.monotonic()
        await wait_for(lambda: node.gate.open == 0, timeout=6.0, what="the stalled connection to be cut")
        assert time.monotonic() - started < 4.0
        received = await _drain(loop, sock)
        assert received < 16 << 20
    finally:
        sock.close()
    assert (await honest_gets(node, 1))[0][0] == 200


async def _drain(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> int:
    """Read what the socket still holds until the server's close shows; the byte count."""
    total = 0
    while True:
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 1 << 20), 2.0)
        except (ConnectionError, TimeoutError):
            return total
        if not chunk:
            return total
        total += len(chunk)


async def test_connections_are_capped_per_address_per_prefix_and_in_all(nodes: NodeFactory) -> None:
    node = await nodes.start("target", max_connections_per_address=3, max_connections=16)
    held = []

    async def open_from(source: str, count: int) -> list[int | None]:
        conns = [await connect(node.url, source) for _ in range(count)]
        held.extend(conns)
        return [status_of(data) for data, _ in await asyncio.gather(*(read_for(r, 0.3) for r, _ in conns))]

    try:
        assert sorted(await open_from("127.0.0.2", 5), key=str) == [503, 503, None, None, None]
        prefix = [s for i in range(1, 5) for s in await open_from(f"127.1.0.{i}", 3)]
        assert prefix.count(None) == 12                       # the prefix's cap: 4 x 3
        assert await open_from("127.1.0.5", 1) == [503]       # a fresh address, a full prefix
        assert (await honest_gets(node, 1))[0][0] == 200       # another prefix, then closed
        await wait_for(lambda: node.gate.open == 15, what="the honest connection to close")
        assert await open_from("127.3.0.1", 2) == [None, 503]  # 16 in all: full
    finally:
        for _, writer in held:
            writer.close()
    await wait_for(lambda: node.gate.open == 0, what="the connections to close")
    assert (await honest_gets(node, 1))[0][0] == 200


async def test_rate_limits_apply_per_prefix(nodes: NodeFactory) -> None:
    node = await nodes.start("target", rate_limit=1.0, rate_burst=2)
    statuses = []
    for i in range(1, 9):                # 8 addresses of one /24, each within its own burst
        async with session_from(f"127.1.0.{i}") as session:
            statuses += [(await timed_get(session, node.url + "/api/v1/status"))[0] for _ in range(2)]
    assert statuses.count(429) >= 4 and statuses.count(200) >= 8, statuses
    async with session_from("127.2.0.1") as other:
        assert (await timed_get(other, node.url + "/api/v1/status"))[0] == 200


async def test_a_flood_of_bad_requests_writes_few_log_lines(nodes: NodeFactory,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    node = await nodes.start("target")
    caplog.set_level(logging.INFO)
    limiter = limit_logs()
    before = limiter.suppressed
    bad = b"GET /api/v1/status HTTP/1.1\r\nHost: node\r\nthis line has no colon\r\n\r\n"
    for _ in range(300):
        assert status_of(await raw_request(node.url, "127.0.0.2", bad, 2.0)) == 400
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) <= BURST + 1, len(lines)
    assert limiter.suppressed - before >= 300 - BURST - 1
    assert (await honest_gets(node, 1))[0][0] == 200


OVERSIZED = {
    "path": b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: node\r\n\r\n",
    "query": b"GET /api/v1/search?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: node\r\n\r\n",
    "header": b"GET /api/v1/status HTTP/1.1\r\nHost: node\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n",
    "headers": (b"GET /api/v1/status HTTP/1.1\r\nHost: node\r\n"
                + b"".join(b"X-H%d: v\r\n" % i for i in range(100)) + b"\r\n"),
}


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with session_from("127.0.0.2") as session:
        yield session


async def test_oversized_requests_are_refused(nodes: NodeFactory, client: aiohttp.ClientSession) -> None:
    node = await nodes.start("target")
    for name, request in OVERSIZED.items():
        answer = await raw_request(node.url, "127.0.0.2", request)
        assert status_of(answer) in (400, 413, 414, 431), (name, answer[:120])

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b" " * (16 << 10)

    big = b" " * (1 << 20)
    for path, body, media_type in (("/api/v1/notify", big, "application/json"),
                                   ("/api/v1/notify", chunks(), "application/json"),
                                   ("/api/v1/audit", big, "application/json"),
                                   ("/oai", b"verb=" + big, "application/x-www-form-urlencoded")):
        async with client.post(node.url + path, data=body, headers={"Content-Type": media_type}) as resp:
            assert resp.status == 413, (path, resp.status)
    assert (await honest_gets(node, 1))[0][0] == 200


def _audit(blocks: list[CID]) -> dict[str, object]:
    return {"cid": str(blocks[0]), "blocks": [str(b) for b in blocks], "nonce": os.urandom(32).hex()}


async def test_audits_are_bounded_and_budgeted_per_prefix(nodes: NodeFactory) -> None:
    node = await nodes.start("target")
    blocks = []
    for _ in range(16):                                     # 16 MiB: the most one audit may cover
        data = os.urandom(1 << 20)
        blocks.append(CID.of(data, RAW))
        node.store.blocks.put(blocks[-1], data)
    huge = []
    for _ in range(MAX_AUDIT_BYTES // (2 << 20) + 1):       # 2 MiB blocks, just over the bound
        data = os.urandom(2 << 20)
        huge.append(CID.of(data, RAW))
        node.store.blocks.put(huge[-1], data)
    url = node.url + "/api/v1/audit"
    async with session_from("127.1.0.1") as one, session_from("127.1.0.2") as neighbour:
        async with one.post(url, json=_audit(huge)) as resp:
            assert resp.status == 413
        statuses = []
        for session in (one, neighbour, one, neighbour, one):
            async with session.post(url, json=_audit(blocks)) as resp:
                statuses.append(resp.status)
                if resp.status == 429:
                    assert int(resp.headers["Retry-After"]) >= 1
    assert statuses == [200, 200, 200, 200, 429]              # 64 MiB per /24 at once
    async with session_from("127.2.0.1") as other, other.post(url, json=_audit(blocks)) as resp:
        assert resp.status == 200


async def test_many_status_requests_at_once_compute_the_costly_figures_once(nodes: NodeFactory) -> None:
    """/api/v1/status is open to anyone and its copies figures cost a scan (seconds at a million
    contents). Before, every request arriving while the cached figures were stale computed them
    again, all at once; now concurrent requests share one computation, reused for at least the
    TTL and twenty times what it took."""
    node = await nodes.start("victim", rate_limit=0)
    before = node.health.computed
    async with aiohttp.ClientSession() as client:
        async def ask() -> int:
            async with client.get(node.url + "/api/v1/status") as resp:
                await resp.read()
                return resp.status
        assert await asyncio.gather(*(ask() for _ in range(30))) == [200] * 30
    assert node.health.computed - before == 1
    assert node.storage_used.computed <= 1
