"""CAR responses of the gateway: ``?format=car`` or ``Accept: application/vnd.ipld.car``.

The body is a CARv1 streamed block by block (never the whole DAG in memory) whose one root is the
requested CID: first the blocks read to walk the path, then the blocks ``dag-scope`` selects at
its end (ipfs-digest §7.1):

    block    the terminal block only
    entity   a whole file; a directory node alone (with its HAMT shard nodes)
    all      the whole DAG below the terminal (the default)

``entity-bytes=from:to`` (inclusive, ``*`` = end, negative = from the end) sends only the blocks a
byte range of a file needs. ``dups=y`` repeats a block at each occurrence; ``dups=n`` (default)
sends it once. Blocks come in depth-first order (``order=dfs``, which also satisfies ``unk``);
identity blocks are never sent. Query parameters beat the Accept media-type parameters.

A block found missing or damaged after the response started ends the stream abruptly (the
client sees an incomplete body and an incomplete CAR); before that, the usual 404 applies.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from aiohttp import web

from mirror.errors import IntegrityError, MirrorError, NotFound
from mirror.node.http import Problem
from mirror.node.gateway.request import (BlockRecorder, GatewayState, Target, Wanted, abort,
                                      content_disposition, content_location, immutable_headers,
                                      iterate_in_thread, not_modified, require_published, resolve_target,
                                      write_body)
from mirror.store.blockstore import BlockStore
from mirror.store.car import car_header
from mirror.store.cid import CID, IDENTITY, encode_varint
from mirror.store.exporter import SCOPES, Scope, stat, walk_dag, walk_file_range

CAR_TYPE = "application/vnd.ipld.car"
CHUNK = 256 * 1024
_ENTITY_BYTES = re.compile(r"^(-?\d{1,19}):(-?\d{1,19}|\*)$")


@dataclass(frozen=True)
class CarParams:
    scope: Scope = "all"
    entity_bytes: tuple[int, int | None] | None = None   # (from, to) as asked; to None means "*"
    dups: bool = False

    def etag_suffix(self, path: str) -> str:
        """A short digest of everything that changes the body (the weak Etag varies with it)."""
        key = f"{path}|{self.scope}|{self.entity_bytes}|{self.dups}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]


def parse_car_params(query: Mapping[str, str], media: Mapping[str, str]) -> CarParams:
    """Validate the CAR parameters: 400 for malformed values, 406 for other CAR versions."""
    version = query.get("car-version") or media.get("version") or "1"
    if version != "1":
        raise Problem(406 if version.isdigit() else 400, f"CAR version {version!r}: only 1 is offered")
    order = (query.get("car-order") or media.get("order") or "dfs").lower()
    if order not in ("dfs", "unk"):
        raise Problem(400, f"car-order {order!r}: use dfs or unk")
    dups = (query.get("car-dups") or media.get("dups") or "n").lower()
    if dups not in ("y", "n"):
        raise Problem(400, f"car-dups {dups!r}: use y or n")
    scope = query.get("dag-scope") or "all"
    if scope not in SCOPES:
        raise Problem(400, f"dag-scope {scope!r}: use one of {', '.join(SCOPES)}")
    span = query.get("entity-bytes")
    entity_bytes = None
    if span is not None:
        entity_bytes, scope = _parse_entity_bytes(span), "entity"
    return CarParams(scope, entity_bytes, dups == "y")  # type: ignore[arg-type]


def _parse_entity_bytes(text: str) -> tuple[int, int | None]:
    match = _ENTITY_BYTES.match(text.strip())
    if match is None:
        raise Problem(400, f"entity-bytes {text!r}: use from:to, e.g. 0:1023, 1024:* or -1024:*")
    first = int(match.group(1))
    last = None if match.group(2) == "*" else int(match.group(2))
    if last is not None and 0 <= last < first:
        raise Problem(400, f"entity-bytes {text!r}: the end comes before the start")
    return first, last


def byte_span(entity_bytes: tuple[int, int | None], size: int) -> tuple[int, int] | None:
    """(offset, length) of an entity-bytes range in a file of ``size`` bytes; None for empty.

    A range starting past the end is refused up front (400), as the spec advises.
    """
    first, last = entity_bytes
    start = first if first >= 0 else max(size + first, 0)
    end = size - 1 if last is None else (last if last >= 0 else size + last)
    end = min(end, size - 1)
    if start >= size and size > 0:
        raise Problem(400, f"entity-bytes start {first} is past the end of the file ({size} bytes)")
    if end < start:
        return None
    return start, end - start + 1


class _Repeating(set):
    """A ``seen`` set that remembers nothing, so ``walk_dag`` yields every occurrence (dups=y)."""

    def add(self, item: object) -> None:
        return None


def car_blocks(blocks: BlockStore, path_blocks: list[tuple[CID, bytes]], terminal: CID,
               scope: Scope, span: tuple[int, int] | None, dups: bool) -> Iterator[tuple[CID, bytes]]:
    """The blocks of the response in order: the path's, then the terminal's by scope or span."""
    seen: set[bytes] = _Repeating() if dups else set()
    for cid, block in path_blocks:
        if cid.hash_code != IDENTITY and bytes(cid) not in seen:
            seen.add(bytes(cid))
            yield cid, block
    if span is None:
        yield from walk_dag(blocks, terminal, scope, seen=seen)
        return
    for cid, block, _part in walk_file_range(blocks, terminal, *span):
        if cid.hash_code != IDENTITY and bytes(cid) not in seen:
            seen.add(bytes(cid))
            yield cid, block


def car_chunks(root: CID, sections: Iterator[tuple[CID, bytes]]) -> Iterator[bytes]:
    """CARv1 bytes: the header at once, then ``varint | CID | block`` sections in ~CHUNK pieces."""
    yield car_header([root])
    pending: list[bytes] = []
    size = 0
    for cid, block in sections:
        cid_bytes = bytes(cid)
        pending += (encode_varint(len(cid_bytes) + len(block)), cid_bytes, block)
        size += len(block) + len(cid_bytes)
        if size >= CHUNK:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


async def serve_car(request: web.Request, state: GatewayState, target: Target,
                    wanted: Wanted) -> web.StreamResponse:
    params = parse_car_params(request.query, wanted.params)
    await require_published(request, state, target.cid)
    recorder = BlockRecorder(state.store.blocks)
    trail = await resolve_target(recorder, target)
    dups = "y" if params.dups else "n"
    etag = f'W/"{target.text}.car.{params.etag_suffix(target.path)}"'
    filename = request.query.get("filename") or f"{target.text}.car"
    headers = {**immutable_headers(request, etag),
               "Content-Type": f"{CAR_TYPE}; version=1; order=dfs; dups={dups}",
               "Content-Disposition": content_disposition("attachment", filename),
               "Accept-Ranges": "none", "X-Ipfs-Roots": ",".join(map(str, trail))}
    if wanted.from_accept:
        headers["Content-Location"] = content_location(request, "car")
    cached = not_modified(request, etag, headers)
    if cached is not None:
        return cached
    scope, span = await _plan(state, trail[-1], params)
    response = web.StreamResponse(status=200, headers=headers)
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    sections = car_blocks(state.store.blocks, list(recorder.read.values()), trail[-1], scope,
                          span, params.dups)
    try:
        await write_body(response, iterate_in_thread(car_chunks(target.cid, sections)), state.limiter)
    except (MirrorError, OSError):
        abort(request)        # a block went missing or bad mid-stream, or the client left
        return response
    await response.write_eof()
    return response


async def _plan(state: GatewayState, terminal: CID, params: CarParams) -> tuple[Scope, tuple[int, int] | None]:
    """The scope and, for entity-bytes on a file, the byte span: (offset, length) or None.

    entity-bytes is ignored for anything but a file (an entity, then); an empty range sends the
    terminal block only, as ``dag-scope=block`` would.
    """
    if params.entity_bytes is None:
        return params.scope, None
    try:
        info = await asyncio.to_thread(stat, state.store.blocks, terminal)
    except NotFound as exc:
        raise Problem(404, str(exc)) from None
    except IntegrityError as exc:
        raise Problem(500, f"the DAG of {terminal} held here is damaged: {exc}") from None
    if info.type != "file":
        return "entity", None
    span = byte_span(params.entity_bytes, info.size)
    return ("entity", span) if span is not None else ("block", None)
