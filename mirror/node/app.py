"""The volunteer node: the HTTP service plus the background work that keeps its index in sync.

    node = Node(home, listen="127.0.0.1:0", peers=["http://a.example:8470"])
    await node.start()          # opens the home, serves, syncs until stopped
    ...
    await node.stop()           # cancels every task, closes the server, the session and the home

``Node.open`` opens the home through ``mirror.services.open_home`` and builds each part from its
explicit collaborators: the merger (``mirror.feed.merge``), the peers table (``sync.peers``), the
syncer (``sync.pull``), the gossip loops (``sync.gossip``: a sync with every peer on connect and
every ``node.sync_interval`` seconds, pulls triggered by notifies, notifies when a feed grows here),
and the copies loops (``copies.upkeep``: holdings pulled after every sync and pushed when they change
(``copies.spread``), replication rounds within the storage budget, announcements, audits, remote
pinning). ``build_app(node)`` composes the faces,
each given only what it uses: the API (``api``), holdings and audits (``copies``), the gateway
(``/ipfs``), the web pages and OAI-PMH (``web``, ``oai``); one problem family (``http``) answers for
all of them.

Keyword overrides set ``node.*`` settings for this node only: ``Node(home, sync_interval=0.5)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from typing import Any, Coroutine

import aiohttp
import multiformats.multibase  # noqa: F401 - rare CID bases: its first import reads data files,
from aiohttp import web         # which must not happen on the loop, inside a request

from indexer.index import Index
from indexer.records import Change
from mirror.errors import UsageError
from mirror.feed.identity import Identity
from mirror.feed.merge import Merger
from mirror.home import Home
from mirror.node import status
from mirror.node.admin import ADMIN, AdminGuard, accepted_tokens, names_of, remove_api_file, write_api_file
from mirror.node.address import advertised_url, local_url, parse_listen
from mirror.node.api import BLOCK_BURST_FACTOR, BLOCK_RATE_FACTOR, Api, api_routes, rate_limit_middleware
from mirror.node.copies.audit import audit_routes
from mirror.node.copies.holdings import holdings_room, holdings_routes
from mirror.node.copies.spread import Spread, spread_routes
from mirror.node.copies.upkeep import Upkeep
from mirror.node.faults import check_at_start, environmental, fault_middleware
from mirror.node.gateway.routes import gateway_routes
from mirror.node.http import BODY_TIMEOUT, problem_middleware
from mirror.node.ipni.http import ipni_routes
from mirror.node.ipni.keeper import IpniKeeper
from mirror.node.limits import MAX_JSON_REQUEST, RateLimiter, Timeouts, limiter_for
from mirror.node.logs import limit_logs
from mirror.node.reach import node_connector
from mirror.node.routing.api import routing_routes
from mirror.node.routing.known import KnownProviders
from mirror.node.server import ConnectionGate, NodeRunner
from mirror.node.sync.client import client_session
from mirror.node.sync.gossip import Gossip
from mirror.node.sync.peers import CONFIGURED, PeerBook, normalize_url
from mirror.node.sync.pull import SyncReport, Syncer
from mirror.node.sync.quota import IndexQuota
from mirror.node.web.routes import web_routes
from mirror.node.web.site import Site
from mirror.services import open_home
from mirror.settings import Settings
from mirror.store import ContentStore

log = logging.getLogger(__name__)
STORAGE_TTL = 30.0           # seconds a measured storage_used is reused
HEALTH_TTL = 2.0             # seconds the copies figures of status are reused
STOP_GRACE = 10.0            # seconds each step of a stop may take


class Node:
    """One volunteer node on a home. The attributes below the first group exist after ``open``."""

    home: Home
    settings: Settings
    url: str                       # public base URL (node.public_url, or http://LISTEN once serving)
    serving: bool                  # the HTTP server is up
    limiter: RateLimiter           # per-address request limits of the API
    gate: ConnectionGate           # open connections in all, per address and per prefix
    block_limiter: RateLimiter     # per-address request limits of /ipfs (much higher)
    identity: Identity
    index: Index                   # opened by mirror.services.open_home: local changes signed
    store: ContentStore
    merger: Merger                 # stores and merges verified runs
    book: PeerBook                 # the peers table
    quota: IndexQuota              # what is kept for authors the node has not chosen
    syncer: Syncer                 # pulls from peers
    gossip: Gossip                 # background syncs and notifies
    upkeep: Upkeep                 # background copies work: holdings, replication, audits, pinning
    spread: Spread                 # holdings announcements pushed to and from peers
    known: KnownProviders          # what the delegated router answers
    ipni: IpniKeeper               # the IPNI advertisement chain of what is held here
    admin: AdminGuard              # who may call the administrative routes
    session: aiohttp.ClientSession

    def __init__(self, home: Home, *, listen: str | None = None, peers: list[str] | None = None,
                 **overrides: Any) -> None:
        self.home = home
        self.settings = home.settings
        for name, value in {"listen": listen, **overrides}.items():
            self.settings.set(f"node.{name}", value, "override")
        self.listen = parse_listen(self.settings.node.listen)
        self.configured_peers = [normalize_url(p) for p in [*self.settings.node.peers, *(peers or [])]]
        host, port = self.listen
        self.url = local_url(self.settings.node.public_url, host, port)   # never 0.0.0.0 (node.address)
        self.serving = False
        rate, burst = self.settings.node.rate_limit, self.settings.node.rate_burst
        self.limiter = RateLimiter(rate, burst)
        self.block_limiter = RateLimiter(rate * BLOCK_RATE_FACTOR, burst * BLOCK_BURST_FACTOR)
        self.gate = ConnectionGate(self.settings.node.max_connections,
                                   self.settings.node.max_connections_per_address)
        self._opened = False
        self._port = self.listen[1]
        self._exit = contextlib.AsyncExitStack()
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.storage_used = status.Reused(lambda: status.storage_used(self.store), STORAGE_TTL, self.spawn)
        self.health = status.Reused(self._health_fields, HEALTH_TTL, self.spawn)

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the home and build the parts (no server, no background work)."""
        if self._opened:
            return
        try:
            services = await self._exit.enter_async_context(open_home(self.home))
            tokens = await asyncio.to_thread(accepted_tokens, self.home)
            self.admin = AdminGuard(tokens=lambda: tokens, names=self._names)
            self._build(services.identity, services.store, services.index)
            self.ipni = await IpniKeeper.open(self.home.path / "ipni", self.identity, self.index,
                                              self.store, self.session, url=lambda: self.url,
                                              indexers=list(self.settings.node.ipni_announce))
            self._exit.push_async_callback(self.ipni.close)
            self.index.add_listener(self._on_changes)
            for url in self.configured_peers:
                await self.book.add(url, CONFIGURED)
            self.book.trust(await self.book.all())
        except BaseException:
            await self._exit.aclose()
            raise
        self._opened = True

    def _build(self, identity: Identity, store: ContentStore, index: Index) -> None:
        node = self.settings.node
        self.identity, self.store, self.index = identity, store, index
        self.merger = Merger(index, identity.node_id, node.accept_authors)
        trusted = [*self.configured_peers, *node.ipni_announce, *node.gateways]   # the operator's
        guard = node_connector(self.settings, trusted, limit=64, limit_per_host=4)
        self.book = PeerBook(index, backoff=node.backoff, backoff_max=node.backoff_max,
                             self_url=self.url, guard=guard)
        timeouts = Timeouts(total=node.peer_timeout, read=min(30.0, node.peer_timeout),
                            connect=min(10.0, node.peer_timeout))
        self.session = client_session(timeouts, self.settings.fetch.user_agent, guard)
        self._exit.push_async_callback(self.session.close)
        self.quota = IndexQuota(index, self.settings, identity.node_id)
        self.syncer = Syncer(self.merger, quota=self.quota)
        self.gossip = Gossip(self.book, self.syncer, self.session, self.settings, self.spawn,
                             me=identity.node_id, public_url=self.public_url)
        self.spread = Spread(index, self.book, self.session, me=identity.node_id, url=self.public_url,
                             stored=lambda: self.upkeep.wake(), spawn=self.spawn,
                             enabled=lambda: bool(node.push),
                             room=lambda: holdings_room(self.settings, identity.node_id))
        self.upkeep = Upkeep(index, store, identity, self.session, self.book, self.settings,
                             public_url=lambda: self.url, held_changed=lambda: self.ipni.wake(),
                             spread=self.spread)
        self.known = KnownProviders(index, store, identity, url=self.public_url,
                                    holder_timeout=lambda: float(node.holder_timeout))
        self.syncer.on_applied, self.syncer.on_synced = self.gossip.applied, self.upkeep.synced

    def _names(self) -> frozenset[str]:
        """The host names this node answers to (``Host`` of administrative calls)."""
        return names_of(self.url, str(self.settings.node.public_url), str(self.settings.node.listen))

    def api_url(self) -> str:
        """The URL of the listen address from this host (``node.api``; a wildcard means loopback)."""
        return local_url("", self.listen[0] or "0.0.0.0", self._port)

    def public_url(self) -> str | None:
        """The URL others reach this node at, while it serves; None otherwise."""
        return self.url if self.serving else None

    async def start(self) -> None:
        """Open everything, serve on ``listen`` and start the background work."""
        await self.open()
        try:
            actual = self._port = await self._serve()
            if not self.settings.node.public_url:
                self.url = await asyncio.to_thread(advertised_url, "", self.listen[0], actual)
                self.book.self_url = self.url
        except BaseException:
            await self.stop()
            raise
        self.serving = True
        await asyncio.to_thread(write_api_file, self.home, self.api_url())
        self.spawn(self.gossip.run())
        self.spawn(self._reconcile_then_upkeep())
        self.spawn(self.ipni.run())
        log.info("node %s serving on %s", self.identity.node_id, self.url)

    async def _reconcile_then_upkeep(self) -> None:
        await check_at_start(self.index, self.store)
        await self.upkeep.run()

    async def _serve(self) -> int:
        """Start the HTTP server (``mirror.node.server``); returns the port it listens on."""
        limit_logs()
        self._runner = NodeRunner(build_app(self), self.settings, self.gate, shutdown_timeout=2.0)
        await self._runner.setup()
        host, port = self.listen
        site = web.TCPSite(self._runner, host, port, backlog=256)
        try:
            await site.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop the server (no request spawns work after it), then every background task, those
        spawned while stopping too, then close the session and the home (idempotent).

        Waiting for the tasks is bounded by ``STOP_GRACE`` seconds: a task that does not end when
        cancelled is logged with its stack, and the stop goes on."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            await asyncio.to_thread(remove_api_file, self.home, self.api_url())
        self.serving = False
        await self._cancel_tasks()
        if self._opened:
            await self._exit.aclose()
            self._opened = False

    async def _cancel_tasks(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_GRACE
        while tasks := [task for task in self._tasks if not task.done()]:
            for task in tasks:
                task.cancel()
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
            for task in pending:
                log.error("a node task did not stop within %.0f s: %r\n%s", STOP_GRACE, task,
                          "".join(_stack(task)))
            if pending:
                return

    async def _on_changes(self, changes: list[Change]) -> None:
        if any(c.kind != "retracted" for c in changes):
            self.ipni.wake()                 # new documents may bring contents held here

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run CORO in the background until it ends or the node stops."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            if (why := environmental(error)) is not None:
                log.warning("node task stopped: %s", why)      # one line; its loop tries again
            else:
                log.error("node task failed", exc_info=error)

    # -- operations ----------------------------------------------------------------------------

    async def sync_all(self, *, named: str | None = None) -> list[SyncReport]:
        """One sync with every peer not backed off, and with NAMED even if it is (the peer the
        user named: ``join URL --once``), in parallel."""
        peers = [p.url for p in await self.book.all() if not self.book.in_backoff(p) or p.url == named]
        return list(await asyncio.gather(*(self.gossip.sync_peer(url, log_failure=False) for url in peers)))

    async def add_peer(self, url: str) -> tuple[str, bool]:
        """Add a configured peer and sync with it soon; returns (normalised URL, was new)."""
        url = normalize_url(url)
        added = await self.book.add(url, CONFIGURED)
        self.gossip.wake()
        return url, added

    def on_notify(self, author: str, seq: int, origin: str | None, sender: str,
                  joined: bool = False) -> bool:
        """The client at SENDER says AUTHOR's feed reached SEQ at ORIGIN (a hint: checked, then
        pulled and verified; JOINED: ORIGIN joined the network through this node); False when
        too many notifies wait already."""
        return self.gossip.notified(author, seq, origin, sender, joined)

    async def status(self) -> dict[str, Any]:
        """The status fields (see ``mirror.node.status``); storage_used and the copies figures are
        reused (``status.Reused``: the API is open to anyone)."""
        used = await self.storage_used.get()
        health = await self.health.get()
        fields = await status.collect(self.identity, self.index, used=used, url=self.url)
        return fields | health

    async def _health_fields(self) -> dict[str, Any]:
        return await status.health_fields(self.index, self.identity.node_id, self.settings,
                                          self.store) | {"index_quota": await self.quota.fields()}


def _stack(task: asyncio.Task[Any]) -> list[str]:
    buffer = io.StringIO()
    task.print_stack(file=buffer)
    return [buffer.getvalue()]


def build_app(node: Node) -> web.Application:
    """The node's aiohttp application: every face, each with only the collaborators it uses."""
    app = web.Application(client_max_size=MAX_JSON_REQUEST,
                          middlewares=[problem_middleware, fault_middleware(node.index),
                                       rate_limit_middleware(node.limiter, node.block_limiter)])
    app[BODY_TIMEOUT] = max(0.1, float(node.settings.node.body_timeout))
    app[ADMIN] = node.admin
    api_routes(app, Api(node.index, node.identity.node_id, node.book, notified=node.on_notify,
                        add_peer=node.add_peer, status=node.status))
    holdings_routes(app, node.index, node.identity.node_id)
    spread_routes(app, node.spread)
    audit_routes(app, node.store, node.identity)
    gateway_routes(app, node.store, node.index, limiter_for(node.settings.node.upload_rate),
                   max_in_flight=int(node.settings.node.gateway_in_flight))
    web_routes(app, Site(node.identity, node.index, node.store, node.settings, url=lambda: node.url))
    routing_routes(app, node.known.providers, node.known.peers,
                   max_ttl=int(float(node.settings.node.holder_timeout)))
    ipni_routes(app, node.ipni.publisher)
    return app
