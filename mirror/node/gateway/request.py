"""Pieces shared by the gateway's handlers: the request model, headers, problems, ranges, file names.

Everything under ``/ipfs/`` is immutable, so every success carries the same cache and CORS headers
(ipfs-digest §7.1); errors carry the CORS headers too, so browsers can read them.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, TypeVar

from aiohttp import web

from mirror.errors import BlockNotFound, IntegrityError, NotFound
from mirror.node.http import Problem
from mirror.node.limits import UploadLimiter
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.publication import refused
from mirror.store.cid import CID, IDENTITY
from mirror.store.exporter import resolve

if TYPE_CHECKING:
    from indexer.index import Index

RAW_TYPE = "application/vnd.ipld.raw"
IMMUTABLE = "public, max-age=29030400, immutable"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Range, User-Agent, X-Requested-With",
    "Access-Control-Expose-Headers": "Content-Length, Content-Range, X-Chunked-Output, "
                                     "X-Stream-Output, X-Ipfs-Path, X-Ipfs-Roots, Etag",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_UNSAFE_FILENAME = re.compile(r'[^A-Za-z0-9 !#$&+,.=@^_`{}~()\[\]-]')

T = TypeVar("T")


def base_headers(request: web.Request) -> dict[str, str]:
    """CORS, ``Vary: Accept`` and ``X-Ipfs-Path`` (the path as requested, percent-encoded)."""
    return {**CORS, "Vary": "Accept", "X-Ipfs-Path": request.rel_url.raw_path}


def immutable_headers(request: web.Request, etag: str) -> dict[str, str]:
    """``base_headers`` plus the cache headers of content-addressed data."""
    return {**base_headers(request), "Cache-Control": IMMUTABLE, "Etag": etag,
            "X-Content-Type-Options": "nosniff"}


def problem_response(request: web.Request, problem: Problem) -> web.Response:
    """The gateway's form of a problem: one line of text, with the CORS headers browsers need."""
    headers = {**base_headers(request), "X-Content-Type-Options": "nosniff", **problem.headers}
    body = "" if request.method == "HEAD" else problem.message + "\n"
    return web.Response(status=problem.status, text=body, headers=headers)


def not_modified(request: web.Request, etag: str, headers: dict[str, str]) -> web.Response | None:
    """A 304 when ``If-None-Match`` names ``etag`` (weak comparison) or ``*``; else None."""
    wanted = request.headers.get("If-None-Match")
    if not wanted:
        return None
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    if "*" in tags or etag.removeprefix("W/") in tags:
        return web.Response(status=304, headers=headers)
    return None


@dataclass
class GatewayState:
    """What the handlers need from the node."""

    store: ContentStore
    index: "Index | None" = None
    limiter: UploadLimiter | None = None
    max_in_flight: int = 0            # requests answered at once; past it a 429 (0: no cap)
    in_flight: int = 0


GATEWAY = web.AppKey("openmirror_gateway", GatewayState)


@dataclass(frozen=True)
class Target:
    """The content a request names: the CID as written, and the path below it."""

    text: str
    cid: CID
    path: str = ""          # below the CID, no leading slash; "" for the CID itself
    slash: bool = False     # the URL ends with "/"


@dataclass(frozen=True)
class Wanted:
    """The response format: ``raw``, ``car`` or ``file``, and how it was asked for."""

    kind: str
    from_accept: bool = False
    params: Mapping[str, str] = field(default_factory=dict)   # media-type parameters (CAR)


def content_location(request: web.Request, fmt: str) -> str:
    """The URL that names this response without ``Accept``: the path plus ``?format=``."""
    query = [(k, v) for k, v in request.query.items() if k != "format"] + [("format", fmt)]
    return request.rel_url.raw_path + "?" + urllib.parse.urlencode(query)


def require_root(request: web.Request, state: GatewayState, cid: CID) -> None:
    """Problem(404), or 412 for ``only-if-cached``, unless the root block is held here."""
    if state.store.blocks.has(cid):
        return
    if "only-if-cached" in request.headers.get("Cache-Control", "").lower():
        raise Problem(412, f"{cid} is not held by this node")
    raise Problem(404, f"{cid} is not held by this node")


async def require_published(request: web.Request, state: GatewayState, cid: CID) -> None:
    """``require_root``, and Problem(404) too when CID is held but not published
    (``mirror.publication.refused``): the same answer as for content not held, so nothing tells
    that this node has it."""
    require_root(request, state, cid)
    if state.index is not None and cid.hash_code != IDENTITY and await refused(state.index, cid):
        raise Problem(404, f"{cid} is not held by this node")


async def read_block(state: GatewayState, cid: CID) -> bytes:
    try:
        return await asyncio.to_thread(state.store.blocks.get, cid)
    except BlockNotFound:
        raise Problem(404, f"{cid} is not held by this node") from None
    except IntegrityError:
        raise Problem(404, f"the copy of {cid} on this node is damaged") from None


# --- ranges ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int           # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range of a ``Range`` header, or None to send everything.

    Several ranges, other units and malformed headers are ignored (a full 200, as RFC 9110
    allows); a range that starts past the end raises Problem(416).
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":                      # suffix range: the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            raise _unsatisfiable(size)
        return ByteRange(max(size - count, 0), size - 1)
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise _unsatisfiable(size)
    return ByteRange(start, end)


def _unsatisfiable(size: int) -> Problem:
    return Problem(416, "range not satisfiable", headers={"Content-Range": f"bytes */{size}"})


# --- Content-Disposition ------------------------------------------------------------------

def ascii_filename(name: str) -> str:
    """A file name safe inside a quoted header value: ASCII, no quotes, slashes or controls."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_FILENAME.sub("_", base).strip(" .")
    return cleaned[:200] or "download"


def content_disposition(kind: str, name: str) -> str:
    """``attachment`` or ``inline`` with an ASCII ``filename=`` and the exact ``filename*=``."""
    plain = ascii_filename(name)
    value = f'{kind}; filename="{plain}"'
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if base and base != plain:
        value += "; filename*=UTF-8''" + urllib.parse.quote(base, safe="")
    return value


# --- streaming bodies ------------------------------------------------------------------------

async def iterate_in_thread(items: Iterator[T]) -> AsyncIterator[T]:
    """Advance a blocking iterator (block reads, hashing) in a worker thread, one item at a time."""
    done = object()
    while True:
        item = await asyncio.to_thread(next, items, done)
        if item is done:
            return
        yield item  # type: ignore[misc]


async def write_body(response: web.StreamResponse, chunks: AsyncIterator[bytes],
                     limiter: UploadLimiter | None) -> int:
    """Write chunks to a prepared response through the upload limiter; returns the bytes sent."""
    sent = 0
    async for chunk in chunks:
        if limiter is not None:
            await limiter.take(len(chunk))
        await response.write(chunk)
        sent += len(chunk)
    return sent


def abort(request: web.Request) -> None:
    """End a streamed response abruptly (no final chunk), so the client sees it is incomplete."""
    if request.transport is not None:
        request.transport.close()


# --- paths -----------------------------------------------------------------------------------

def resolve_trail(blocks: "BlockStore | BlockRecorder", root: CID, path: str) -> list[CID]:
    """The CID of every path segment, root first: ``X-Ipfs-Roots``, and the terminal at the end.

    ``blocks`` may be a ``BlockRecorder`` to learn which blocks the walk read (CAR path blocks).
    """
    trail = [root]
    for part in filter(None, path.split("/")):
        trail.append(resolve(blocks, trail[-1], part))
    return trail


async def resolve_target(blocks: "BlockStore | BlockRecorder", target: Target) -> list[CID]:
    """``resolve_trail`` off the event loop, with the gateway's statuses for what can go wrong."""
    try:
        return await asyncio.to_thread(resolve_trail, blocks, target.cid, target.path)
    except NotFound as exc:
        raise Problem(404, str(exc)) from None
    except IntegrityError as exc:
        raise Problem(500, f"the DAG of {target.cid} held here is damaged: {exc}") from None


class BlockRecorder:
    """A read-only view of a blockstore that remembers every block read through it, in order."""

    def __init__(self, blocks: BlockStore) -> None:
        self._blocks = blocks
        self.read: dict[bytes, tuple[CID, bytes]] = {}

    def get(self, cid: CID) -> bytes:
        data = self._blocks.get(cid)
        self.read.setdefault(bytes(cid), (cid, data))
        return data

    def has(self, cid: CID) -> bool:
        return self._blocks.has(cid)
