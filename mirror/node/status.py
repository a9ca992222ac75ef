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
the total is full, and the authors no longer pulled, with the reason); ``holdings_quota``
(``node.holdings_quota`` and the bytes the stored holdings announcements take, as it counts them:
``indexer.copies.put_holding``). ``openmirror status`` adds
``serving`` (a node serves on the home now: it holds the home's lock) and its ``pid``; ``url`` is
then the URL that node advertises. Readers ignore fields they do not know.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Coroutine, Generic, TypeVar

from indexer import tallies
from indexer.read import Query
from mirror.errors import UsageError
from mirror.home import Home
from mirror.lock import LockHolder, running
from mirror.node.address import local_url, parse_listen
from mirror.node.copies.budget import storage_budget, unmeasured_bytes
from mirror.node.copies.census import live_cutoff, shortfall
from mirror.feed.entry import PROTOCOL_VERSION
from mirror.node.routing.multiaddr import provider_addrs
from mirror.node.routing.peerid import peer_id
from mirror.node.sync.quota import read_quota
from mirror.settings import Settings
from mirror.store.blockstore import BlockStore

if TYPE_CHECKING:
    from indexer.index import Index
    from indexer.sqlite import BareReader
    from mirror.feed.identity import Identity
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


async def storage_used(store: "ContentStore") -> int:
    """Bytes of block data in STORE (walks the blockstore's folders in a worker thread)."""
    return (await asyncio.to_thread(store.blocks.stats))[1]


def collect_on(query: Query, identity: "Identity", *, used: int, url: str | None) -> dict[str, Any]:
    """The status fields of the node IDENTITY, read through QUERY (one snapshot)."""
    counts = tallies.counts(query)
    return {"node_id": identity.node_id, "peer_id": peer_id(identity.public_key_bytes), "url": url,
            "provider_addrs": provider_addrs(url), "protocol": PROTOCOL_VERSION,
            "documents": counts["documents"], "held": counts["held"], "storage_used": used,
            "feeds": counts["feeds"], "entries": counts["entries"], "peers": counts["peers"],
            "blocked": counts["blocked"], "conflicts": counts["conflicts"],
            "conflict_authors": counts["conflict_authors"]}


async def collect(identity: "Identity", index: "Index", *, used: int, url: str | None) -> dict[str, Any]:
    """``collect_on`` in one snapshot of INDEX."""
    return await index.read_query(partial(collect_on, identity=identity, used=used, url=url))


def health_on(query: Query, me: str, settings: Settings, blocks: BlockStore | None = None) -> dict[str, Any]:
    """The diffusion fields for the node ME with SETTINGS (budget, copies target, holder timeout),
    as running tallies (SQL aggregates: no object per content), read through QUERY. Others' held
    contents count the bytes of their blocks on disk as measured once (``held_contents.bytes``);
    with BLOCKS, those not measured yet are measured now (not stored: status may read a
    read-only home)."""
    cutoff, target = live_cutoff(float(settings.node.holder_timeout)), int(settings.node.copies)
    figures = tallies.copy_tallies(query, me=me, cutoff=cutoff, target=target)
    used, own = tallies.held_bytes(query, me=me)
    others = tallies.live_capacity(query, cutoff=cutoff, me=me)
    if blocks is not None:
        used += unmeasured_bytes(query, blocks, me=me)
    room = storage_budget(settings)
    fields = {"storage_budget": room, "storage_budget_used": used, "own_bytes": own,
              "copies_target": target, "contents": figures["contents"],
              "under_replicated": figures["under_replicated"], "collections": figures["collections"],
              "holdings_quota": {"quota": int(settings.node.holdings_quota),
                                 "used": tallies.holdings_bytes(query)}}
    return fields | shortfall(figures, copies=target, free=room - used, others=others)


async def health_fields(index: "Index", me: str, settings: Settings,
                        store: "ContentStore | None" = None) -> dict[str, Any]:
    """``health_on`` in one snapshot of INDEX (with STORE's blocks: measured now)."""
    blocks = store.blocks if store is not None else None
    return await index.read_query(partial(health_on, me=me, settings=settings, blocks=blocks))


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


def home_fields(query: Query, home: Home, identity: "Identity", blocks: BlockStore) -> dict[str, Any]:
    """Every field of ``openmirror status`` for HOME, read through QUERY (one snapshot)."""
    serving = running(home)
    fields = collect_on(query, identity, used=blocks.stats()[1], url=_url(home, serving))
    fields["serving"] = serving is not None
    if serving is not None and serving.pid:
        fields["pid"] = serving.pid
    me = identity.node_id
    return (fields | health_on(query, me, home.settings, blocks)
            | {"index_quota": read_quota(query, home.settings, me)})


def _reads(home: Home, check: bool) -> tuple[Callable[["BareReader"], dict[str, Any]],
                                              Callable[["Index"], Awaitable[dict[str, Any]]]]:
    """The status of HOME as ``mirror.reading`` reads it: on the bare reader, or on an index."""
    from mirror.feed.identity import Identity

    fields = partial(home_fields, home=home, identity=Identity.load_or_create(home.key_file),
                     blocks=BlockStore(home.blocks_dir))

    def bare(reader: "BareReader") -> dict[str, Any]:
        if check:
            reader.quick_check()
        return reader.read_query(fields)

    async def full(index: "Index") -> dict[str, Any]:
        if check and await index.integrity(quick=True):     # never a status from a damaged file
            assert index.damage is not None
            raise index.damage
        return await index.read_query(fields)

    return bare, full


def read_status(home: Home, *, check: bool = False) -> dict[str, Any]:
    """The status of HOME read from its files (no running node needed), synchronously: through
    the bare reader (no SQLAlchemy, no event loop) when the index is at the code's revision
    (``mirror.reading``). A damaged page met while reading raises ``DatabaseDamaged``; with
    CHECK, SQLite's quick check of the whole file runs first (it reads every page: seconds on a
    large index), and any damage it finds raises too."""
    from mirror.reading import read_now

    return read_now(home, *_reads(home, check))


async def home_status(home: Home, *, check: bool = False) -> dict[str, Any]:
    """``read_status`` from a coroutine."""
    from mirror.reading import read_home

    return await read_home(home, *await asyncio.to_thread(_reads, home, check))
