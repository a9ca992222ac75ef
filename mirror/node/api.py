"""The node's HTTP API under ``/api/v1`` (protocol §6): feeds, entry pages, notify, peers, forks,
status and search.

    api_routes(app, Api(index, node_id, book, notified=..., add_peer=..., status=...))

Read endpoints are open to anyone; administrative ones (``POST /api/v1/peers``) answer only what
the app's ``mirror.node.admin.AdminGuard`` lets through (the home's admin token, no browser
``Origin``, the node's own ``Host``, a JSON body).
Every parameter is checked and bounded; a refusal is a ``mirror.node.http.Problem``, written as
``{"error": {"code", "message"}}`` under ``/api/``.

Every route is rate limited per client address (``rate_limit_middleware``): the API at
``node.rate_limit`` requests per second (notifies a quarter of it), while ``/ipfs/`` (one request
per block, the path replication and ``get`` take) has its own class ``BLOCK_RATE_FACTOR`` times
higher, its bytes being capped by ``node.upload_rate`` instead.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiohttp import web

from indexer import feeds
from indexer import peers as peer_rows
from indexer.errors import QueryError
from indexer.index import Index
from indexer.records import SearchQuery
from mirror.errors import UsageError
from mirror.feed.codec import MEDIA_TYPE, PAGE_DEFAULT_ENTRIES, PAGE_MAX_BYTES, PAGE_MAX_ENTRIES, encode_page
from mirror.feed.entry import PROTOCOL_VERSION
from mirror.feed.identity import is_node_id
from mirror.node.admin import admin_only
from mirror.node.http import Handler, Problem, add_renderer, bad_request, int_param, json_problem, read_json
from mirror.node.limits import FEEDS_PAGE, FORKS_LISTED, MAX_JSON_REQUEST, MAX_NOTIFY, MAX_URL, RateLimiter
from mirror.node.sync.peers import PeerBook, is_loopback

MAX_SEARCH = 100
MAX_SEARCH_OFFSET = 10_000
SEARCH_FILTERS = ("q", "license", "collection", "type", "after", "before", "lang")
BLOCK_RATE_FACTOR = 100       # /ipfs requests per second: 100 x node.rate_limit (2000/s by default)
BLOCK_BURST_FACTOR = 40       # ... and 40 x node.rate_burst at once (4000 by default)
_LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


@dataclass(frozen=True)
class Api:
    """What the API handlers use: the index, the node's id and peers, and three node operations."""

    index: Index
    node_id: str
    book: PeerBook
    notified: Callable[[str, int, str | None, str, bool], bool]   # (author, seq, origin, sender, joined)
    add_peer: Callable[[str], Awaitable[tuple[str, bool]]]    # url -> (normalised url, was new)
    status: Callable[[], Awaitable[dict[str, Any]]]


API: web.AppKey[Api] = web.AppKey("openmirror_api", Api)


# -- handlers ------------------------------------------------------------------------------------

async def get_feeds(request: web.Request) -> web.Response:
    api = request.app[API]
    after = request.query.get("after", "")
    if len(after) > 64:
        raise bad_request("after is not an author")
    limit = int_param(request, "limit", FEEDS_PAGE, 1, FEEDS_PAGE)
    async with api.index.read() as conn:
        heads = await feeds.list_heads(conn, after=after, limit=limit + 1)
    items = [{"author": h.author, "seq": h.seq, "head": h.head.hex() if h.head else None, "ts": h.ts}
             | ({"fork": h.fork_seq} if h.fork_seq else {}) for h in heads[:limit]]
    return web.json_response({"protocol": PROTOCOL_VERSION, "node_id": api.node_id,
                              "feeds": items, "more": len(heads) > limit})


async def get_entries(request: web.Request) -> web.Response:
    api = request.app[API]
    author = request.match_info["author"]
    if not is_node_id(author):
        raise bad_request("not a node id")
    after = int_param(request, "after", 0, 0, (1 << 53) - 1)
    limit = int_param(request, "limit", PAGE_DEFAULT_ENTRIES, 1, PAGE_MAX_ENTRIES)
    async with api.index.read() as conn:
        if await peer_rows.is_blocked(conn, author):
            raise bad_request("this node blocks that author", 403, "blocked")
        head = await feeds.get_head(conn, author)
        rows = (await feeds.read_entries(conn, author, after, limit, max_bytes=PAGE_MAX_BYTES)
                if head.seq else [])
    if not head.seq:
        raise bad_request("this node holds no entry of that author", 404, "not_found")
    body = await asyncio.to_thread(encode_page, rows, max_entries=limit)
    headers = {"X-Openmirror-Feed-Seq": str(head.seq),
               "X-Openmirror-Feed-Head": head.head.hex() if head.head else ""}
    if len(rows) == limit:
        headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return web.Response(body=body, content_type=MEDIA_TYPE, headers=headers)


async def post_notify(request: web.Request) -> web.Response:
    obj = await read_json(request, MAX_NOTIFY)
    author, seq, origin = obj.get("author"), obj.get("seq"), obj.get("origin")
    if not is_node_id(author) or type(seq) is not int or not 0 <= seq < 1 << 53:
        raise bad_request("notify needs an author and a seq")
    if origin is not None and (not isinstance(origin, str) or len(origin) > MAX_URL):
        raise bad_request("origin is not a URL")
    if not request.app[API].notified(str(author), seq, origin, request.remote or "?", obj.get("joined") is True):
        raise Problem(429, "too many notifies wait to be handled", code="rate_limited",
                      headers={"Retry-After": "5"})
    return web.json_response({"accepted": True}, status=202)


async def get_peers(request: web.Request) -> web.Response:
    listed = await request.app[API].book.public()
    if request.remote not in _LOOPBACK:           # loopback URLs mean nothing to another host
        listed = [p for p in listed if not is_loopback(str(p["url"]))]
    return web.json_response({"peers": listed})


async def post_peers(request: web.Request) -> web.Response:
    """Add a configured peer (administrative: registered behind ``admin_only``)."""
    api = request.app[API]
    obj = await read_json(request, MAX_JSON_REQUEST)
    url = obj.get("url")
    if not isinstance(url, str):
        raise bad_request("body needs a url")
    try:
        added = await api.add_peer(url)
    except UsageError as exc:
        raise bad_request(str(exc)) from None
    return web.json_response({"url": added[0], "added": added[1]}, status=201 if added[1] else 200)


async def get_forks(request: web.Request) -> web.Response:
    api = request.app[API]
    author = request.query.get("author")
    if author is not None and not is_node_id(author):
        raise bad_request("author is not a node id")
    async with api.index.read() as conn:
        found = await feeds.list_forks(conn, author=author, limit=FORKS_LISTED)

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return web.json_response({"forks": [
        {"author": f.author, "seq": f.seq, "found_at": f.found_at,
         "a": {"payload": b64(f.a[0]), "signature": b64(f.a[1])},
         "b": {"payload": b64(f.b[0]), "signature": b64(f.b[1])}} for f in found]})


async def get_status(request: web.Request) -> web.Response:
    return web.json_response(await request.app[API].status())


async def get_search(request: web.Request) -> web.Response:
    api = request.app[API]
    q = request.query
    if any(len(q.get(name, "")) > 1000 for name in SEARCH_FILTERS):
        raise bad_request("parameter too long")
    query = SearchQuery(text=q.get("q", ""), license=q.get("license") or None,
                        collection=q.get("collection") or None, type=q.get("type") or None,
                        after=q.get("after") or None, before=q.get("before") or None,
                        lang=q.get("lang") or None, limit=int_param(request, "limit", 20, 1, MAX_SEARCH),
                        offset=int_param(request, "offset", 0, 0, MAX_SEARCH_OFFSET))
    try:
        hits = await api.index.search(query)
    except QueryError as exc:
        raise bad_request(str(exc)) from None
    return web.json_response([hit.to_dict() for hit in hits])


# -- middleware ----------------------------------------------------------------------------------

def rate_limit_middleware(limiter: RateLimiter, block_limiter: RateLimiter) -> Any:
    """Rate limit per client address (``/ipfs/`` with BLOCK_LIMITER); mark API answers with the
    protocol version."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        _check_rate(request, limiter, block_limiter)
        response = await handler(request)
        if request.path.startswith("/api/"):
            response.headers["X-Openmirror-Protocol"] = str(PROTOCOL_VERSION)
        return response

    return middleware


def _check_rate(request: web.Request, limiter: RateLimiter, block_limiter: RateLimiter) -> None:
    address = request.remote or "?"
    if request.path.startswith("/ipfs/"):
        wait = block_limiter.check(address, "block")
    else:
        wait = limiter.check(address, "notify" if request.path == "/api/v1/notify" else "any")
    if wait > 0:
        raise Problem(429, "too many requests", code="rate_limited",
                      headers={"Retry-After": str(max(1, round(wait)))})


def _api_problem(request: web.Request, problem: Problem) -> web.Response:
    response = json_problem(request, problem)
    response.headers["X-Openmirror-Protocol"] = str(PROTOCOL_VERSION)
    return response


def api_routes(app: web.Application, api: Api) -> None:
    """Register the ``/api/v1`` routes of API on APP; its problems are written as JSON."""
    app[API] = api
    add_renderer(app, "/api/", _api_problem)
    app.router.add_get("/api/v1/feeds", get_feeds)
    app.router.add_get("/api/v1/feeds/{author}/entries", get_entries)
    app.router.add_post("/api/v1/notify", post_notify)
    app.router.add_get("/api/v1/peers", get_peers)
    app.router.add_post("/api/v1/peers", admin_only(post_peers))
    app.router.add_get("/api/v1/forks", get_forks)
    app.router.add_get("/api/v1/status", get_status)
    app.router.add_get("/api/v1/search", get_search)
