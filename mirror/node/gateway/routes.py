"""The node's IPFS gateway: ``GET``/``HEAD /ipfs/{cid}[/{path}]`` for what the node holds, and
``/ipfs/?uri=ipfs://{cid}/{path}`` redirected there.

Three kinds of answer (ipfs-digest §7), chosen by ``?format=`` (which wins) or ``Accept``:

    raw   application/vnd.ipld.raw   exactly one block, verified as it is read; Range gives 206
    car   application/vnd.ipld.car   a streamed CARv1 (``mirror.node.gateway.car``)
    file  anything else (browsers)   the deserialized UnixFS file or directory, sandboxed
                                     (``mirror.node.gateway.files``)

The gateway never asks other nodes: content that is not here is 404 (412 with
``Cache-Control: only-if-cached``), never 502/504. Blocks are read by a handler, not the static
file route (STYLE.md: ~23k against ~3k requests/s). Response bodies pass through the node's upload
limiter (``node.upload_rate``).

    gateway_routes(app, store, index, limiter)   registers the routes (index and limiter optional)
"""

from __future__ import annotations

from typing import Mapping

from aiohttp import web

from indexer.index import Index
from mirror.errors import InvalidCID, UsageError
from mirror.node.gateway.car import CAR_TYPE, serve_car
from mirror.node.gateway.files import serve_file
from mirror.node.gateway.request import (GATEWAY, RAW_TYPE, GatewayState, Target, Wanted,
                                      base_headers, content_disposition, content_location,
                                      immutable_headers, not_modified, parse_range, problem_response,
                                      read_block, require_published)
from mirror.node.http import GATEWAY_PREFIX, Problem, add_renderer
from mirror.node.limits import UploadLimiter
from mirror.store import ContentStore
from mirror.store.cid import CID, IDENTITY, SUPPORTED_HASHES
from mirror.store.paths import parse_content_path

# Formats and media types other gateways offer that this one does not (answered with 406).
UNSUPPORTED_FORMATS = frozenset({"tar", "dag-json", "dag-cbor", "json", "cbor", "ipns-record"})
UNSUPPORTED_TYPES = frozenset({"application/x-tar", "application/vnd.ipld.dag-json",
                               "application/vnd.ipld.dag-cbor", "application/vnd.ipfs.ipns-record"})


def gateway_routes(app: web.Application, store: ContentStore, index: Index | None = None,
                   limiter: UploadLimiter | None = None, *, max_in_flight: int = 0) -> None:
    """Register ``/ipfs/{cid}`` and ``/ipfs/{cid}/{path}`` (GET, HEAD, OPTIONS) on ``app``:
    content from STORE, file names from INDEX, bodies through LIMITER (``node.upload_rate``), at
    most MAX_IN_FLIGHT answers at once (``node.gateway_in_flight``; past it, 429 with
    ``Retry-After``: IPFS clients put the provider in cooldown instead of queueing on it)."""
    app[GATEWAY] = GatewayState(store, index, limiter, max_in_flight)
    add_renderer(app, GATEWAY_PREFIX, problem_response)
    for route in ("/ipfs/{cid}", "/ipfs/{cid}/{path:.*}"):
        app.router.add_get(route, handle)
        app.router.add_route("OPTIONS", route, handle_options)
    app.router.add_get("/ipfs/", handle_uri)


async def handle_uri(request: web.Request) -> web.Response:
    """``/ipfs/?uri=ipfs://CID/PATH`` (what a browser's protocol handler sends, as on Kubo's
    gateway): a permanent redirect to ``/ipfs/CID/PATH``."""
    uri = request.query.get("uri", "").strip()
    if not uri.lower().startswith("ipfs://"):
        raise Problem(400, "name content as /ipfs/CID[/PATH], or /ipfs/?uri=ipfs://CID[/PATH]")
    try:
        target = parse_content_path(uri)
    except UsageError as exc:
        raise Problem(400, exc.message) from None
    return web.Response(status=301, headers={**base_headers(request), "Location": target.url_path()})


async def handle_options(request: web.Request) -> web.Response:
    return web.Response(status=200, headers=base_headers(request))


async def handle(request: web.Request) -> web.StreamResponse:
    state = request.app[GATEWAY]
    if state.max_in_flight and state.in_flight >= state.max_in_flight:
        raise Problem(429, "this gateway is busy; retry shortly", headers={"Retry-After": "1"})
    state.in_flight += 1
    try:
        return await _answer(request, state)
    finally:
        state.in_flight -= 1


async def _answer(request: web.Request, state: GatewayState) -> web.StreamResponse:
    if request.headers.get("Service-Worker", "").strip().lower() == "script":
        raise Problem(400, "service worker registration is not allowed on /ipfs/")
    target = parse_target(request)
    wanted = negotiate(request.query, request.headers.get("Accept", ""))
    if wanted.kind == "raw":
        return await serve_raw(request, state, target, wanted)
    if wanted.kind == "car":
        return await serve_car(request, state, target, wanted)
    return await serve_file(request, state, target)


def parse_target(request: web.Request) -> Target:
    text = request.match_info["cid"]
    try:
        cid = CID.decode(text)
    except InvalidCID as exc:
        raise Problem(400, str(exc)) from None
    if cid.hash_code != IDENTITY and cid.hash_code not in SUPPORTED_HASHES:
        raise Problem(400, f"{text}: unsupported hash function 0x{cid.hash_code:x}")
    path = request.match_info.get("path")
    if path is None:
        return Target(text, cid)
    if any(part in (".", "..") for part in path.split("/")):
        raise Problem(400, "path segments '.' and '..' are not allowed")
    return Target(text, cid, path.strip("/"), slash=True if not path else path.endswith("/"))


def negotiate(query: Mapping[str, str], accept: str) -> Wanted:
    """``?format=`` first, then the most preferred ``Accept`` type we know; browsers get files."""
    fmt = query.get("format", "").strip().lower()
    if fmt:
        if fmt in ("raw", "car"):
            return Wanted(fmt)
        if fmt in UNSUPPORTED_FORMATS:
            raise Problem(406, f"format={fmt} is not offered here; use raw or car")
        raise Problem(400, f"unknown format {fmt!r}")
    unsupported = None
    for media, params in accepted_types(accept):
        if media == RAW_TYPE:
            return Wanted("raw", True, params)
        if media == CAR_TYPE:
            return Wanted("car", True, params)
        if media in UNSUPPORTED_TYPES:
            unsupported = unsupported or media
            continue
        return Wanted("file")
    if unsupported is not None:
        raise Problem(406, f"{unsupported} is not offered here; ask for {RAW_TYPE} or {CAR_TYPE}")
    return Wanted("file")


def accepted_types(accept: str) -> list[tuple[str, dict[str, str]]]:
    """The media types of an Accept header, most preferred first (q=0 dropped; stable)."""
    ranked = []
    for position, item in enumerate(accept.split(",")[:64]):
        media, *raw_params = (part.strip() for part in item.split(";"))
        params = {}
        for raw in raw_params:
            key, _, value = raw.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        try:
            quality = float(params.pop("q", "1"))
        except ValueError:
            quality = 1.0
        if media and quality > 0:
            ranked.append((-quality, position, media.lower(), params))
    ranked.sort()
    return [(media, params) for _q, _pos, media, params in ranked]


async def serve_raw(request: web.Request, state: GatewayState, target: Target,
                    wanted: Wanted) -> web.Response:
    """Exactly one block (the CID's own bytes), verified on read; Range gives 206."""
    if target.path:
        raise Problem(400, "format=raw names one block: a path is not allowed")
    await require_published(request, state, target.cid)
    etag = f'"{target.text}.raw"'
    filename = request.query.get("filename") or f"{target.text}.bin"
    headers = {**immutable_headers(request, etag), "Content-Type": RAW_TYPE,
               "Content-Disposition": content_disposition("attachment", filename),
               "X-Ipfs-Roots": target.text, "Accept-Ranges": "bytes"}
    if wanted.from_accept:
        headers["Content-Location"] = content_location(request, "raw")
    cached = not_modified(request, etag, headers)
    if cached is not None:
        return cached
    block = await read_block(state, target.cid)
    part = parse_range(request.headers.get("Range"), len(block))
    status = 200
    if part is not None:
        headers["Content-Range"] = part.content_range(len(block))
        block = block[part.start:part.end + 1]
        status = 206
    if request.method != "HEAD" and state.limiter is not None:
        await state.limiter.take(len(block))
    return web.Response(status=status, body=block, headers=headers)


