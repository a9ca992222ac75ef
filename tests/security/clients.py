"""Clients that stand in for remote ones: raw sockets and aiohttp sessions bound to another
loopback source address (127.0.0.2, 127.1.0.5 ...), so the node sees them as distinct addresses and
prefixes. Every wait is bounded."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator
from urllib.parse import urlsplit

import aiohttp


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def connect(url: str, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to the node at URL from the address SOURCE."""
    host, port = host_port(url)
    return await asyncio.open_connection(host, port, local_addr=(source, 0))


async def read_for(reader: asyncio.StreamReader, seconds: float) -> tuple[bytes, bool]:
    """What arrives within SECONDS, and whether the server closed the connection by then."""
    data = bytearray()
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            chunk = await asyncio.wait_for(reader.read(65536), left)
            if not chunk:
                return bytes(data), True
            data += chunk
    except TimeoutError:
        pass
    except ConnectionError:
        return bytes(data), True
    return bytes(data), False


async def raw_request(url: str, source: str, request: bytes, seconds: float = 3.0) -> bytes:
    """Send REQUEST on a new connection from SOURCE; what came back within SECONDS."""
    reader, writer = await connect(url, source)
    try:
        writer.write(request)
        await writer.drain()
        return (await read_for(reader, seconds))[0]
    finally:
        writer.close()


def status_of(answer: bytes) -> int | None:
    """The status code of the first answer in ANSWER (None if there is none)."""
    line = answer.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[0].startswith(b"HTTP/") and line[1].isdigit() else None


@asynccontextmanager
async def session_from(source: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session whose connections come from SOURCE."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def timed_get(session: aiohttp.ClientSession, url: str) -> tuple[int, float]:
    """(status, seconds) of one GET."""
    started = time.monotonic()
    async with session.get(url) as resp:
        await resp.read()
        return resp.status, time.monotonic() - started
