"""The node's public web face: search, document and collection pages, its stylesheet, and OAI-PMH.

    web_routes(app, Site(identity, index, store, settings, url=lambda: node.url))

Routes (all GET/HEAD; server-rendered HTML, no JavaScript):

    /                     search box and filters; ``/?q=...&license=&collection=&type=&after=
                          &before=&lang=&page=`` shows results (without a query: the newest)
    /doc/{cid}            a document page: metadata, provenance, CID, digest, and the known
                          live copies (this node's and other holders', ``mirror.node.copies.census``)
    /collection/          every collection with its documents, size and main licences
    /collection/{name}    counts, licences and recent documents of one collection
    /static/{name}        the stylesheet (files of ``mirror/node/web/static``), served by the node
    /oai                  the OAI-PMH data provider (``mirror.node.oai.provider``), GET and POST

Every page carries ``SECURITY_HEADERS`` (a strict Content-Security-Policy: only the node's own
resources, no inline script, no framing) and is built by ``mirror.node.web.pages``. A query the
index refuses (``QueryError``) is answered 400 with the form and a readable message; an unknown
CID or collection is a 404 page; a retracted document is a 410 page.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from aiohttp import web

from indexer import listing
from indexer.errors import IndexError_, QueryError
from indexer.records import CollectionStats, Hit, SearchQuery
from mirror.node.oai import provider as oai_provider
from mirror.node.copies.census import holder_urls
from mirror.held import holds
from mirror.node.http import Problem, add_renderer
from mirror.node.web.html import render
from mirror.node.web.site import Site
from mirror.node.web.html import site_name
from mirror.node.web.pages import (MARKS, SearchParams, collection_page, collections_page, document_page,
                                   message_page, search_page)

PER_PAGE = 20
MAX_PAGE = 40                      # the index ranks at most 1000 hits per query
MAX_PARAM = 1000                   # characters of one search parameter
RECENT = 10                        # documents listed on a collection page
SUMMARY_TTL = 30.0                 # seconds a collection's counts are reused (they scan it)
NAMES_TTL = 5.0                    # seconds the collection list of the search form is reused
SUMMARIES_KEPT = 256
STATIC_DIR = Path(__file__).resolve().parent / "static"
_CID_LIKE = re.compile(r"[A-Za-z0-9]{1,128}")
_STATIC_TYPES = {".css": "text/css"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class StaticFile:
    body: bytes
    content_type: str
    etag: str


@dataclass
class WebState:
    site: Site
    static: dict[str, StaticFile]
    summaries: dict[str, tuple[float, Any]] = field(default_factory=dict)
    names: tuple[float, list[str]] | None = None
    listing: tuple[float, list[CollectionStats]] | None = None

    def name(self, request: web.Request) -> str:
        """The name pages carry: ``node.name``, else the host the page was asked from."""
        return site_name(self.site.settings.node.name, self.site.identity.node_id, request.host)

    async def collections(self) -> list[str]:
        """Every collection's name (for the search form), reused for ``NAMES_TTL`` seconds."""
        now = asyncio.get_running_loop().time()
        if self.names is None or now - self.names[0] >= NAMES_TTL:
            async with self.site.index.read() as conn:
                self.names = (now, await listing.collection_names(conn))
        return self.names[1]

    async def all_summaries(self) -> list[CollectionStats]:
        """Every collection's counts (``Index.stats``), reused for ``SUMMARY_TTL`` seconds."""
        now = asyncio.get_running_loop().time()
        if self.listing is None or now - self.listing[0] >= SUMMARY_TTL:
            self.listing = (now, (await self.site.index.stats()).collections)
        return self.listing[1]

    async def summary(self, name: str) -> Any:
        """``listing.collection_summary`` of NAME, reused for ``SUMMARY_TTL`` seconds."""
        now = asyncio.get_running_loop().time()
        cached = self.summaries.get(name)
        if cached is not None and now - cached[0] < SUMMARY_TTL:
            return cached[1]
        async with self.site.index.read() as conn:
            found = await listing.collection_summary(conn, name)
        if found is not None:
            if len(self.summaries) >= SUMMARIES_KEPT:
                self.summaries.clear()
            self.summaries[name] = (now, found)
        return found


WEB_KEY: web.AppKey[WebState] = web.AppKey("openmirror_web", WebState)


def load_static(folder: Path = STATIC_DIR) -> dict[str, StaticFile]:
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in _STATIC_TYPES:
            body = path.read_bytes()
            files[path.name] = StaticFile(body, _STATIC_TYPES[path.suffix],
                                          '"' + hashlib.sha256(body).hexdigest()[:16] + '"')
    return files


STATIC = load_static()          # read once, when the module is imported (not on the event loop)


def web_routes(app: web.Application, site: Site) -> None:
    """Register the pages, the stylesheet and ``/oai`` on ``app``; problems on paths no other face
    claims (unknown paths, wrong methods) are answered with a page in the site's style."""
    state = WebState(site, STATIC)
    app[WEB_KEY] = state
    add_renderer(app, "", _problem_page)
    app.router.add_get("/", friendly(search))
    app.router.add_get("/doc/{cid}", friendly(document))
    app.router.add_get("/collection/", friendly(collections_list))
    app.router.add_get("/collection", collections_slash)
    app.router.add_get("/collection/{name}", friendly(collection))
    app.router.add_get("/static/{name}", static)
    oai_provider.oai_routes(app, site)


def friendly(handler: Handler) -> Handler:
    """Answer an index failure (damaged file, ...) with a readable 503 page, not a traceback."""
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except IndexError_ as exc:
            state = request.app[WEB_KEY]
            return render(message_page(state.name(request), "The index is not available",
                                       f"This node cannot read its index right now: {exc}"), 503)
    wrapped.__name__ = handler.__name__
    return wrapped


# -- search --------------------------------------------------------------------------------------

class BadParams(ValueError):
    """A search parameter the page refuses before asking the index."""


def parse_params(query: Any) -> SearchParams:
    """The form's fields from the query string; ``BadParams`` for a value out of bounds."""
    values = {}
    for name in ("q", "license", "collection", "type", "after", "before", "lang"):
        value = query.get(name, "").strip()
        if len(value) > MAX_PARAM:
            raise BadParams(f"the {name} field is too long (at most {MAX_PARAM} characters)")
        values[name] = value
    raw = query.get("page", "1").strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadParams(f"page must be a number from 1 to {MAX_PAGE}; refine the search to see "
                        "other documents")
    return SearchParams(**values, page=int(raw))


def to_query(params: SearchParams, limit: int) -> SearchQuery:
    def opt(value: str) -> str | None:
        return value or None

    return SearchQuery(text=params.q, license=opt(params.license),
                       collection=opt(params.collection), type=opt(params.type),
                       after=opt(params.after), before=opt(params.before), lang=opt(params.lang),
                       limit=limit, marks=MARKS)


async def search(request: web.Request) -> web.Response:
    state = request.app[WEB_KEY]
    collections = await state.collections()
    try:
        params = parse_params(request.query)
    except BadParams as exc:
        fields: dict[str, Any] = {k: v[:MAX_PARAM] for k, v in request.query.items()
                                  if k in SearchParams.__dataclass_fields__ and k != "page"}
        params = SearchParams(**fields)
        return render(search_page(state.name(request), params, collections, None, more=False,
                                  per_page=PER_PAGE, problem=str(exc)), 400)
    try:
        hits = await _search(state, params)
    except QueryError as exc:
        return render(search_page(state.name(request), params, collections, None, more=False,
                                  per_page=PER_PAGE, problem=str(exc)), 400)
    start = (params.page - 1) * PER_PAGE
    shown = hits[start:start + PER_PAGE]
    return render(search_page(state.name(request), params, collections, shown,
                              more=len(hits) > start + PER_PAGE, per_page=PER_PAGE,
                              names=await _names(state, shown)))


async def _names(state: WebState, hits: list[Hit]) -> dict[str, str]:
    """File names of the hits' CIDs, for their download links (one query)."""
    async with state.site.index.read() as conn:
        return await listing.file_names(conn, [hit.cid for hit in hits if hit.cid])


async def _search(state: WebState, params: SearchParams) -> list[Hit]:
    """Hits up to the end of the asked page, plus one to tell whether another page follows."""
    return await state.site.index.search(to_query(params, params.page * PER_PAGE + 1))


# -- a document and a collection -----------------------------------------------------------------

async def document(request: web.Request) -> web.Response:
    state = request.app[WEB_KEY]
    cid = request.match_info["cid"]
    index = state.site.index
    docs = await index.find_by_cid(cid) if _CID_LIKE.fullmatch(cid) else []
    if not docs:
        if _CID_LIKE.fullmatch(cid) and await index.find_by_cid(cid, include_deleted=True):
            return render(message_page(state.name(request), "Document retracted",
                                       "This document was retracted from the index; its file is "
                                       "no longer listed here."), 410)
        return render(message_page(state.name(request), "Document not found",
                                   "No document on this node has that CID."), 404)
    content = next((c for c in docs[0].contents if cid in (c.cid, c.sha256)), docs[0].contents[0])
    held = await asyncio.to_thread(holds, state.site.store, content.cid)
    others = await other_copies(state, content.sha256)
    return render(document_page(state.name(request), cid, docs, held, others))


async def other_copies(state: WebState, sha256: str) -> int:
    """Live copies of a content known on other nodes (``mirror.node.copies.census``)."""
    site = state.site
    holders = await holder_urls(site.index, me=site.identity.node_id, sha256=sha256,
                                holder_timeout=site.settings.node.holder_timeout)
    return len(holders)


async def collection(request: web.Request) -> web.Response:
    state = request.app[WEB_KEY]
    name = request.match_info["name"]
    found = await state.summary(name) if len(name) <= MAX_PARAM else None
    if found is None:
        return render(message_page(state.name(request), "Collection not found",
                                   "This node has no collection of that name."), 404)
    recent = await state.site.index.search(SearchQuery(collection=name, limit=RECENT))
    return render(collection_page(state.name(request), found[0], found[1], recent,
                                  await _names(state, recent)))


async def collections_list(request: web.Request) -> web.Response:
    state = request.app[WEB_KEY]
    return render(collections_page(state.name(request), await state.all_summaries()))


async def collections_slash(request: web.Request) -> web.Response:
    return web.Response(status=301, headers={"Location": "/collection/"})


# -- the stylesheet ------------------------------------------------------------------------------

async def static(request: web.Request) -> web.Response:
    item = request.app[WEB_KEY].static.get(request.match_info["name"])
    if item is None:
        raise Problem(404, "no such file here")
    headers = {"ETag": item.etag, "Cache-Control": "public, max-age=3600",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("If-None-Match") == item.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=item.body, content_type=item.content_type, charset="utf-8",
                        headers=headers)


# -- problems ------------------------------------------------------------------------------------

_TITLES = {404: "Page not found", 405: "Method not allowed", 429: "Too many requests"}


def _problem_page(request: web.Request, problem: Problem) -> web.Response:
    """A problem on a page of the site (or a path nobody claims): a page in the site's style."""
    state = request.app[WEB_KEY]
    title = _TITLES.get(problem.status, "Request refused" if problem.status < 500 else "Server error")
    message = problem.message[:300]
    message = message[:1].upper() + message[1:] + ("" if message.endswith((".", "!", "?")) else ".")
    response = render(message_page(state.name(request), title, message), problem.status)
    response.headers.update(problem.headers)
    return response
