"""The node's HTTP API under ``/api/v1`` (protocol §6): feeds, entry pages, notify, peers, forks,
status and search.

Read endpoints are open to anyone; administrative ones (``POST /api/v1/peers``) answer only
requests from the loopback address or bearing ``Authorization: Bearer <node.admin_token>``.
Every parameter is checked and bounded; errors are ``{"error": {"code", "message"}}``.

Every route is rate limited per client address (``protocol_middleware``): the API at
``node.rate_limit`` requests per second (notifies a quarter of it), while ``/ipfs/`` (one request
per block, the path replication and ``get`` take) has its own class ``BLOCK_RATE_FACTOR`` times
higher, its bytes being capped by ``node.upload_rate`` instead.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from indexer import feeds
from indexer import peers as peer_rows
from indexer.errors import QueryError
from indexer.records import SearchQuery
from mirror.errors import UsageError
from mirror.feed.codec import (MEDIA_TYPE, PAGE_DEFAULT_ENTRIES, PAGE_MAX_BYTES, PAGE_MAX_ENTRIES,
                               encode_page)
from mirror.feed.entry import PROTOCOL_VERSION
from mirror.feed.identity import is_node_id
from mirror.node.limits import (FEEDS_PAGE, FORKS_LISTED, MAX_JSON_REQUEST, MAX_NOTIFY, MAX_URL,
                                SERVER_BODY_TIMEOUT)
from mirror.node.sync.peers import is_loopback

if TYPE_CHECKING:
    from mirror.node.app import Node

NODE_KEY: web.AppKey["Node"] = web.AppKey("openmirror_node")
MAX_SEARCH = 100
BLOCK_RATE_FACTOR = 100       # /ipfs requests per second: 100 x node.rate_limit (2000/s by default)
BLOCK_BURST_FACTOR = 40       # ... and 40 x node.rate_burst at once (4000 by default)
_LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status,
                             headers=headers)


class BadRequest(Exception):
    """A parameter or body the API refuses (answered 400, or the given status)."""

    def __init__(self, message: str, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(message)
        self.status, self.code = status, code


def int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if len(raw) > 16 or not raw.isdigit():
        raise BadRequest(f"{name} must be an integer")
    value = int(raw)
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}")
    return value


async def read_json(request: web.Request, limit: int) -> dict[str, Any]:
    """The request's JSON object body, at most LIMIT bytes, received within the body timeout."""
    if request.content_length is not None and request.content_length > limit:
        raise BadRequest(f"body over {limit} bytes", 413, "too_large")
    try:
        async with asyncio.timeout(SERVER_BODY_TIMEOUT):
            data = bytearray()
            async for chunk in request.content.iter_chunked(1 << 14):
                data += chunk
                if len(data) > limit:
                    raise BadRequest(f"body over {limit} bytes", 413, "too_large")
    except TimeoutError:
        raise BadRequest("body not received in time", 408, "timeout") from None
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        raise BadRequest("body is not JSON") from None
    if not isinstance(obj, dict):
        raise BadRequest("body is not a JSON object")
    return obj


def is_admin(request: web.Request, token: str) -> bool:
    if request.remote in _LOOPBACK:
        return True
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


# -- handlers ------------------------------------------------------------------------------------

async def get_feeds(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    after = request.query.get("after", "")
    if len(after) > 64:
        raise BadRequest("after is not an author")
    limit = int_param(request, "limit", FEEDS_PAGE, 1, FEEDS_PAGE)
    async with node.index.read() as conn:
        heads = await feeds.list_heads(conn, after=after, limit=limit + 1)
    items = [{"author": h.author, "seq": h.seq, "head": h.head.hex() if h.head else None, "ts": h.ts}
             | ({"fork": h.fork_seq} if h.fork_seq else {}) for h in heads[:limit]]
    return web.json_response({"protocol": PROTOCOL_VERSION, "node_id": node.identity.node_id,
                              "feeds": items, "more": len(heads) > limit})


async def get_entries(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    author = request.match_info["author"]
    if not is_node_id(author):
        raise BadRequest("not a node id")
    after = int_param(request, "after", 0, 0, (1 << 53) - 1)
    limit = int_param(request, "limit", PAGE_DEFAULT_ENTRIES, 1, PAGE_MAX_ENTRIES)
    async with node.index.read() as conn:
        if await peer_rows.is_blocked(conn, author):
            raise BadRequest("this node blocks that author", 403, "blocked")
        head = await feeds.get_head(conn, author)
        rows = (await feeds.read_entries(conn, author, after, limit, max_bytes=PAGE_MAX_BYTES)
                if head.seq else [])
    if not head.seq:
        raise BadRequest("this node holds no entry of that author", 404, "not_found")
    body = await asyncio.to_thread(encode_page, rows, max_entries=limit)
    headers = {"X-Openmirror-Feed-Seq": str(head.seq), "X-Openmirror-Feed-Head": head.head.hex()}
    if len(rows) == limit:
        headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return web.Response(body=body, content_type=MEDIA_TYPE, headers=headers)


async def post_notify(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    obj = await read_json(request, MAX_NOTIFY)
    author, seq, origin = obj.get("author"), obj.get("seq"), obj.get("origin")
    if not is_node_id(author) or type(seq) is not int or not 0 <= seq < 1 << 53:
        raise BadRequest("notify needs an author and a seq")
    if origin is not None and (not isinstance(origin, str) or len(origin) > MAX_URL):
        raise BadRequest("origin is not a URL")
    node.on_notify(author, seq, origin)
    return web.json_response({"accepted": True}, status=202)


async def get_peers(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    listed = await node.book.public()
    if request.remote not in _LOOPBACK:           # loopback URLs mean nothing to another host
        listed = [p for p in listed if not is_loopback(p["url"])]
    return web.json_response({"peers": listed})


async def post_peers(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    if not is_admin(request, node.settings.node.admin_token):
        raise BadRequest("adding peers needs localhost or the admin token", 403, "forbidden")
    obj = await read_json(request, MAX_JSON_REQUEST)
    url = obj.get("url")
    if not isinstance(url, str):
        raise BadRequest("body needs a url")
    try:
        added = await node.add_peer(url)
    except UsageError as exc:
        raise BadRequest(str(exc)) from None
    return web.json_response({"url": added[0], "added": added[1]}, status=201 if added[1] else 200)


async def get_forks(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    author = request.query.get("author")
    if author is not None and not is_node_id(author):
        raise BadRequest("author is not a node id")
    async with node.index.read() as conn:
        found = await feeds.list_forks(conn, author=author, limit=FORKS_LISTED)
    b64 = lambda data: base64.b64encode(data).decode("ascii")  # noqa: E731
    return web.json_response({"forks": [
        {"author": f.author, "seq": f.seq, "found_at": f.found_at,
         "a": {"payload": b64(f.a[0]), "signature": b64(f.a[1])},
         "b": {"payload": b64(f.b[0]), "signature": b64(f.b[1])}} for f in found]})


async def get_status(request: web.Request) -> web.Response:
    return web.json_response(await request.app[NODE_KEY].status())


async def get_search(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    q = request.query
    if any(len(q.get(name, "")) > 1000 for name in ("q", "license", "collection")):
        raise BadRequest("parameter too long")
    query = SearchQuery(text=q.get("q", ""), license=q.get("license") or None,
                        collection=q.get("collection") or None,
                        limit=int_param(request, "limit", 20, 1, MAX_SEARCH))
    try:
        hits = await node.index.search(query)
    except QueryError as exc:
        raise BadRequest(str(exc)) from None
    return web.json_response([hit.to_dict() for hit in hits])


# -- middlewares ---------------------------------------------------------------------------------

@web.middleware
async def protocol_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Rate limit per client address, turn ``BadRequest`` into JSON errors, mark the protocol."""
    node = request.app[NODE_KEY]
    address = request.remote or "?"
    if request.path.startswith("/ipfs/"):
        wait = node.block_limiter.check(address, "block")
    else:
        wait = node.limiter.check(address, "notify" if request.path == "/api/v1/notify" else "any")
    if wait > 0:
        response: web.StreamResponse = error(429, "rate_limited", "too many requests",
                                             {"Retry-After": str(max(1, round(wait)))})
    else:
        try:
            response = await handler(request)
        except BadRequest as exc:
            response = error(exc.status, exc.code, str(exc))
    if request.path.startswith("/api/"):
        response.headers["X-Openmirror-Protocol"] = str(PROTOCOL_VERSION)
    return response


def add_api_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/feeds", get_feeds)
    app.router.add_get("/api/v1/feeds/{author}/entries", get_entries)
    app.router.add_post("/api/v1/notify", post_notify)
    app.router.add_get("/api/v1/peers", get_peers)
    app.router.add_post("/api/v1/peers", post_peers)
    app.router.add_get("/api/v1/forks", get_forks)
    app.router.add_get("/api/v1/status", get_status)
    app.router.add_get("/api/v1/search", get_search)
