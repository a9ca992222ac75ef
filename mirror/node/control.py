"""What the node commands do (``serve``, ``join``, ``peers``, ``status``), as library coroutines.

The CLI parses options, calls one of these and renders the result; nothing here prints. The node
and the admin client (aiohttp) and the merger (licences, lxml) load only in the coroutines that use
them: ``status`` and ``peers`` start without them.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
import time
from typing import TYPE_CHECKING, Any, Callable

from indexer.tallies import CONFIGURED
from mirror.errors import ConfigError, PeerError, UsageError
from mirror.feed.identity import is_node_id
from mirror.home import Home
from mirror.lock import HomeLock
from mirror.node.address import normalize_url, parse_listen
from mirror.feed.identity import parse_node_id
from mirror.node.status import read_status
from mirror.services import open_home

if TYPE_CHECKING:
    from indexer.index import Index
    from mirror.node.app import Node
    from mirror.node.sync.peers import PeerBook

ReadyFn = Callable[["Node"], None]
PROBE_TIMEOUT = 30.0          # seconds the first look at a node to join may take
NOT_A_NODE_HINT = "give the URL an openmirror node prints when it starts (its ready line: http://HOST:PORT)"


def listen_on(home: Home, listen: str | None, port: int | None) -> str | None:
    """The address to serve on: LISTEN (default ``node.listen``) with its port replaced by PORT."""
    if port is None:
        return listen
    if listen is not None:
        raise UsageError("give either --listen HOST:PORT or --port PORT, not both")
    host, _ = parse_listen(home.settings.node.listen)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def serve(home: Home, *, listen: str | None = None, port: int | None = None,
                peers: list[str] | None = None, on_ready: ReadyFn | None = None, **overrides: Any) -> None:
    """Run a node until SIGINT or SIGTERM, then shut it down cleanly. The home's lock is held
    meanwhile (``mirror.lock``): a second node on the same home is refused (``HomeLocked``)."""
    from mirror.node.app import Node

    node = Node(home, listen=listen_on(home, listen, port), peers=peers, **overrides)
    lock = await asyncio.to_thread(HomeLock.take, home)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await node.start()
        await asyncio.to_thread(lock.record, node.url)
        if on_ready is not None:
            on_ready(node)
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await node.stop()
        await asyncio.to_thread(lock.release)


async def join(home: Home, url: str, **options: Any) -> None:
    """``join URL``: check that URL is an openmirror node (nothing is kept of one that is not),
    then serve with it as a peer."""
    await check_peer(home, url)
    await serve(home, peers=[url], **options)


async def check_peer(home: Home, url: str) -> str:
    """The node id of the openmirror node at URL (its feed list answers as protocol §6 says);
    ``PeerError`` when URL cannot be reached or is not an openmirror node. Stores nothing."""
    import aiohttp

    from mirror.node.limits import Timeouts
    from mirror.node.reach import node_connector
    from mirror.node.sync.client import PeerClient, client_session

    url = normalize_url(url)
    timeouts = Timeouts(total=PROBE_TIMEOUT, read=PROBE_TIMEOUT, connect=min(10.0, PROBE_TIMEOUT))
    guard = node_connector(home.settings, [url])       # the operator named URL: trusted (§8)
    async with client_session(timeouts, home.settings.fetch.user_agent, guard) as session:
        try:
            answer = await PeerClient(session, url).get_json("/api/v1/feeds", {"limit": "1"})
        except PeerError as exc:
            if isinstance(exc.__cause__, (aiohttp.ClientConnectionError, TimeoutError)):
                raise PeerError(f"cannot join {url}: {exc}", hint=NOT_A_NODE_HINT) from exc
            raise PeerError(f"{url} is not an openmirror node ({exc})", hint=NOT_A_NODE_HINT) from exc
    node_id = answer.get("node_id")
    if not is_node_id(node_id) or type(answer.get("protocol")) is not int \
            or not isinstance(answer.get("feeds"), list):
        raise PeerError(f"{url} is not an openmirror node (its /api/v1/feeds is no feed list)",
                        hint=NOT_A_NODE_HINT)
    assert isinstance(node_id, str)
    return node_id


async def join_once(home: Home, url: str, **overrides: Any) -> dict[str, Any]:
    """Add URL as a peer, sync once with every peer, and summarise (no server is started)."""
    from mirror.node.app import Node

    url = normalize_url(url)
    await check_peer(home, url)
    node = Node(home, peers=[url], **overrides)
    start = time.monotonic()
    await node.open()
    try:
        reports = await node.sync_all(named=url)
        documents = (await node.status())["documents"]
    finally:
        await node.stop()
    return {"peer": url, "entries": sum(r.entries for r in reports),
            "documents_changed": sum(r.documents for r in reports), "documents": documents,
            "bytes": sum(r.bytes for r in reports), "seconds": round(time.monotonic() - start, 3),
            "feeds": sorted({a for r in reports for a in r.feeds}),
            "lag": sum(r.lag for r in reports),
            "errors": {r.peer: r.error for r in reports if r.error}}


async def _admin_call(home: Home, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], str] | None:
    """``mirror.node.admin.admin_call``; its module (aiohttp) is loaded in a worker thread on first use."""
    admin = await asyncio.to_thread(importlib.import_module, "mirror.node.admin")
    answer: tuple[int, dict[str, Any], str] | None = await admin.admin_call(home, path, body)
    return answer


def _book(home: Home, index: "Index") -> "PeerBook":
    from mirror.node.sync.peers import PeerBook

    node = home.settings.node
    return PeerBook(index, backoff=node.backoff, backoff_max=node.backoff_max)


async def list_peers_of(home: Home) -> list[dict[str, Any]]:
    """Every known peer with its state (ok, new, failing, backoff), last contact and lag, and the
    content claims of its key that are evidence (``conflicts``)."""
    from indexer import bindings
    from mirror.node.sync.peers import peer_state

    async with open_home(home, read_only=True, identity=False) as services:
        found = await _book(home, services.index).all()
        async with services.index.read() as conn:
            disputes = await bindings.disputes_by_author(conn)
    return [{"url": p.url, "node_id": p.node_id, "state": peer_state(p),
             "last_contact": p.last_contact, "lag": p.lag, "failures": p.failures,
             "source": p.source, "last_error": p.last_error,
             "conflicts": disputes.get(p.node_id or "", 0)} for p in found]


async def list_conflicts(home: Home, *, author: str | None = None,
                         limit: int = 1000) -> list[dict[str, Any]]:
    """The content claims this node keeps as evidence: a CID whose bytes are not the claimed
    content (``mismatch``), or another CID than the verified one (``conflict``), by author."""
    from indexer import bindings

    async with open_home(home, read_only=True, identity=False) as services:
        async with services.index.read() as conn:
            found = await bindings.disputed(conn, author=author, limit=limit)
    return [d.to_dict() for d in found]


async def add_peer_to(home: Home, url: str) -> dict[str, Any]:
    """Add a configured peer: through the node serving on HOME if there is one (its admin API,
    with the home's token: it syncs with the peer at once), else into the home's peers table (a
    node started later syncs with it). ``via`` tells which: the node's URL, or ``"home"``."""
    url = normalize_url(url)
    answer = await _admin_call(home, "/api/v1/peers", {"url": url})
    if answer is None:
        async with open_home(home) as services:
            added = await _book(home, services.index).add(url, CONFIGURED)
        return {"url": url, "added": added, "via": "home"}
    status, body, node_url = answer
    if status in (200, 201):
        return {"url": body.get("url", url), "added": bool(body.get("added")), "via": node_url}
    message = (body.get("error") or {}).get("message") or f"HTTP {status}"
    if status == 400:
        raise UsageError(f"the node refused the peer: {message}")
    raise ConfigError(f"the node at {node_url} refused the call: {message}",
                      hint="is that node serving this home? Its admin.token must be this home's")


async def remove_peer_from(home: Home, url: str) -> dict[str, Any]:
    async with open_home(home) as services:
        removed = await _book(home, services.index).remove(url)
    return {"url": normalize_url(url), "removed": removed}


async def set_blocked(home: Home, key: str, blocked: bool) -> dict[str, Any]:
    """Block or unblock an author and re-derive the documents it touched."""
    from mirror.feed.merge import Merger

    parse_node_id(key)
    async with open_home(home) as services:
        if blocked and key == services.identity.node_id:
            raise UsageError("a node cannot block its own key")
        merger = Merger(services.index, services.identity.node_id, home.settings.node.accept_authors)
        changed = await (merger.block(key) if blocked else merger.unblock(key))
    return {"author": key, "blocked": blocked, "documents_changed": changed}


def status(home: Home, *, check: bool = False) -> dict[str, Any]:
    """``openmirror status``: ``mirror.node.status.read_status`` (no event loop, no SQLAlchemy)."""
    return read_status(home, check=check)
