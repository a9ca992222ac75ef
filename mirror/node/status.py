"""What ``openmirror status`` and ``GET /api/v1/status`` report about a node.

Fields: ``node_id``, ``peer_id`` (the same key as the IPFS network names it, ``12D3KooW…``),
``url``, ``provider_addrs`` (``url`` as a multiaddr: where IPFS clients fetch from), ``protocol``,
``documents`` (live documents in the index), ``held`` (live documents having files, every one of
them fully held in the local blockstore), ``storage_used`` (bytes of block data in the
blockstore), ``feeds`` (feeds held), ``entries`` (entries held), ``peers`` (known peers),
``blocked`` (blocked authors), ``conflicts`` and ``conflict_authors`` (content claims kept as
evidence, and the authors who made them: ``openmirror peers conflicts``), and the diffusion
figures of ``mirror.node.copies.census.health``:
``storage_budget``, ``storage_budget_used`` (bytes of others' content held), ``own_bytes``,
``copies_target``, ``contents``, ``under_replicated`` and per collection {contents, held,
under_replicated, copies: distribution of known live copies}; and ``index_quota``
(``mirror.node.sync.quota``: the quotas, the bytes of entries kept for authors not chosen, whether
the total is full, and the authors no longer pulled, with the reason). ``openmirror status`` adds
``serving`` (a node serves on the home now: it holds the home's lock) and its ``pid``; ``url`` is
then the URL that node advertises. Readers ignore fields they do not know.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Coroutine, Generic, TypeVar

from indexer import copies as copy_rows
from indexer import copy_plans as plans

from indexer import bindings, feeds
from indexer import peers as peer_rows
from indexer.index import Index
from mirror.errors import UsageError
from mirror.home import Home
from mirror.lock import LockHolder, running
from mirror.node.address import local_url, parse_listen
from mirror.node.copies.budget import measure_held, storage_budget
from mirror.node.copies.census import live_cutoff, shortfall
from mirror.feed.entry import PROTOCOL_VERSION
from mirror.feed.identity import Identity
from mirror.node.routing.multiaddr import provider_addrs
from mirror.node.routing.peerid import peer_id
from mirror.node.sync.quota import IndexQuota
from mirror.settings import Settings
from mirror.services import open_home
from mirror.store import ContentStore



T = TypeVar("T")


class Reused(Generic[T]):
    """A figure that costs a scan, as the status API (open to anyone) reports it: computed by one
    task at a time, which every concurrent caller awaits, and reused for ``max(TTL, FACTOR x what
    its computation took)`` seconds. However many clients ask, a node spends at most about
    1/FACTOR of its time on it (a status of 1,000,000 contents that takes 8 s is reused 160 s).
    SPAWN runs the computation as a task of the node, ended with it."""

    def __init__(self, compute: Callable[[], Awaitable[T]], ttl: float,
                 spawn: Callable[[Coroutine[Any, Any, T]], "asyncio.Task[T]"], factor: float = 20.0) -> None:
        self.compute, self.ttl, self.spawn, self.factor = compute, ttl, spawn, factor
        self._value: tuple[float, T] | None = None      # loop time it was computed, the figure
        self._keep = ttl
        self._flight: asyncio.Task[T] | None = None
        self.computed = 0                               # computations run (tests, bench)

    async def get(self) -> T:
        loop = asyncio.get_running_loop()
        if self._value is not None and loop.time() - self._value[0] <= self._keep:
            return self._value[1]
        if self._flight is None or self._flight.done():
            self._flight = self.spawn(self._run())
        return await asyncio.shield(self._flight)

    async def _run(self) -> T:
        loop = asyncio.get_running_loop()
        start = loop.time()
        value = await self.compute()
        self.computed += 1
        now = loop.time()
        self._value, self._keep = (now, value), max(self.ttl, self.factor * (now - start))
        return value


async def storage_used(store: ContentStore) -> int:
    """Bytes of block data in STORE (walks the blockstore's folders in a worker thread)."""
    return (await asyncio.to_thread(store.blocks.stats))[1]


async def collect(identity: Identity, index: Index, *, used: int, url: str | None) -> dict[str, Any]:
    """The status fields, read in one snapshot of the index."""
    async with index.read() as conn:
        documents = await feeds.count_documents(conn)
        held = await feeds.count_held_documents(conn)
        feed_count, entry_count = await feeds.feed_totals(conn)
        peer_count = await peer_rows.count_peers(conn)
        blocked = len(await peer_rows.list_blocked(conn))
        conflicts, conflict_authors = await bindings.dispute_totals(conn)
    return {"node_id": identity.node_id, "peer_id": peer_id(identity.public_key_bytes), "url": url,
            "provider_addrs": provider_addrs(url), "protocol": PROTOCOL_VERSION,
            "documents": documents, "held": held, "storage_used": used, "feeds": feed_count,
            "entries": entry_count, "peers": peer_count, "blocked": blocked,
            "conflicts": conflicts, "conflict_authors": conflict_authors}


async def health_fields(index: Index, me: str, settings: Settings,
                        store: ContentStore | None = None) -> dict[str, Any]:
    """The diffusion fields for the node ME with SETTINGS (budget, copies target, holder timeout),
    as running tallies (SQL aggregates: no object per content). Others' held contents count the
    bytes of their blocks on disk as measured once (``held_contents.bytes``); with STORE, those
    not measured yet are measured now (not stored: status may read a read-only home)."""
    cutoff, target = live_cutoff(float(settings.node.holder_timeout)), int(settings.node.copies)
    async with index.read() as conn:
        tallies = await plans.copy_tallies(conn, me=me, cutoff=cutoff, target=target)
        used, own = await plans.held_bytes(conn, me=me)
        others = await copy_rows.live_capacity(conn, cutoff=cutoff, me=me)
    if store is not None:
        used += await measure_held(index, store.blocks, me=me, keep=False)
    room = storage_budget(settings)
    fields = {"storage_budget": room, "storage_budget_used": used, "own_bytes": own,
              "copies_target": target, "contents": tallies["contents"],
              "under_replicated": tallies["under_replicated"], "collections": tallies["collections"]}
    return fields | shortfall(tallies, copies=target, free=room - used, others=others)


def _url(home: Home, serving: LockHolder | None) -> str | None:
    """The URL of the node serving on HOME (as it advertises it), else the one it would serve
    on: node.public_url, or the listen address (loopback for a wildcard: nothing advertises
    0.0.0.0); None when that cannot be read."""
    if serving is not None and serving.url:
        return serving.url
    try:
        host, port = parse_listen(home.settings.node.listen)
        return local_url(home.settings.node.public_url, host, port)
    except UsageError:
        return None


async def home_status(home: Home, *, check: bool = False) -> dict[str, Any]:
    """The status of HOME read from its files (no running node needed). A damaged page met while
    reading raises ``DatabaseDamaged``; with CHECK, SQLite's quick check of the whole file runs
    first (it reads every page: seconds on a large index), and any damage it finds raises too."""
    async with open_home(home, read_only=True) as services:
        if check and await services.index.integrity(quick=True):   # never a status from a damaged file
            assert services.index.damage is not None
            raise services.index.damage
        serving = await asyncio.to_thread(running, home)
        fields = await collect(services.identity, services.index,
                               used=await storage_used(services.store), url=_url(home, serving))
        fields["serving"] = serving is not None
        if serving is not None and serving.pid:
            fields["pid"] = serving.pid
        quota = IndexQuota(services.index, home.settings, services.identity.node_id)
        await quota.read()
        return (fields | await health_fields(services.index, services.identity.node_id,
                                             home.settings, services.store)
                | {"index_quota": await quota.fields()})
