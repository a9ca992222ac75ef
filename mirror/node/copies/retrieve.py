"""Retrieval: fetch a whole DAG into the local store from several peers at once, verifying every block.

    holders = await find_holders(cid, peer_urls)             # who answers HEAD for the root block
    stats = await retrieve(store, cid, holders)              # RetrieveStats; raises if impossible

Blocks are asked for one by one from the peers' trustless gateways (``?format=raw``), walking the
dag-pb links breadth-first (depth-first once the frontier passes ``FRONTIER_LIMIT``, so it stays
bounded). Different blocks come from different holders in parallel:

* each holder has a window of requests in flight (``parallel``) and takes the next block whenever
  one of its requests finishes, so a holder gets work in proportion to the throughput it shows and
  download speed grows with the number of holders;
* a request that takes longer than the hedge deadline (``hedge_after``, else 4x the mean latency,
  at least ``HEDGE_MIN`` s) is asked again from another holder; the first verified answer wins, and
  a holder beaten that way has its window halved (it grows back by one per answer);
* a holder that sends bytes not matching the CID (or an oversized block) is a liar: it is dropped
  for this retrieval and reported; one that fails ``MAX_FAILURES`` times in a row is dropped too;
  429/503 pause it for its Retry-After (and drop it only after ``MAX_BUSY`` in a row).

Nothing unverified is stored (``BlockWriter`` hashes first). Verified blocks are committed as they
come, so an interrupted or failed retrieval leaves them for the next attempt (which reuses local
blocks); the content counts as held only when the whole DAG is present. Replication asks for
more: a ``limit`` on the bytes the retrieval may add (the DAG is measured as it is fetched, and
the block that would pass the limit stops it with ``BudgetExceeded``), and ``keep_partial=False``:
whatever stops a retrieval, the blocks it added are removed again, and a journal
(``mirror.store.journal``) lets the next start remove them when a kill stopped it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import aiohttp

from mirror.errors import BlockMismatch, ContentUnavailable, InvalidCID, NoHonestHolder, UsageError
from mirror.node.copies.blockfetch import BlockWriter, Missing, PeerFailed, PeerLied, fetch_block, links_of, probe
from mirror.store import ContentStore
from mirror.store.cid import CID, DAG_PB, IDENTITY, SUPPORTED_HASHES
from mirror.store.journal import Journal

DEFAULT_TIMEOUT = 30.0      # seconds for one block request
FRONTIER_LIMIT = 100_000    # blocks waiting to be asked for before the walk turns depth-first
HEDGE_MIN = 0.5             # never hedge a request younger than this (seconds)
HEDGE_FACTOR = 4.0
MAX_FAILURES = 5            # failures in a row before a holder is dropped
MAX_BUSY = 20               # 429/503 answers in a row before a holder is dropped
PROBE_TIMEOUT = 5.0
PROBE_PARALLEL = 32


@dataclass
class RetrieveStats:
    """What one retrieval did. ``bytes``/``blocks`` count what was fetched (not what was reused)."""

    cid: str
    blocks: int = 0
    bytes: int = 0
    reused: int = 0                                             # blocks already held locally
    per_holder: dict[str, int] = field(default_factory=dict)    # bytes each holder supplied
    per_holder_blocks: dict[str, int] = field(default_factory=dict)
    liars: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)            # given up for failures, not lies
    hedged: int = 0                                             # requests asked again elsewhere
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def find_holders(cid: CID, candidates: Iterable[str], *,
                       session: aiohttp.ClientSession | None = None,
                       timeout: float = PROBE_TIMEOUT) -> list[str]:
    """The candidate peers that answer ``HEAD /ipfs/{cid}?format=raw`` with 200, in given order."""
    peers = list(dict.fromkeys(url.rstrip("/") for url in candidates))
    if not peers:
        return []
    own = session is None
    session = session or aiohttp.ClientSession()
    gate = asyncio.Semaphore(PROBE_PARALLEL)

    async def check(peer: str) -> bool:
        async with gate:
            return await probe(session, peer, cid, timeout)

    try:
        found = await asyncio.gather(*(check(peer) for peer in peers))
    finally:
        if own:
            await session.close()
    return [peer for peer, ok in zip(peers, found) if ok]


async def retrieve(store: ContentStore, cid: CID, holders: list[str], *,
                   session: aiohttp.ClientSession | None = None, parallel: int = 8,
                   timeout: float = DEFAULT_TIMEOUT, hedge_after: float | None = None,
                   limit: int | None = None, keep_partial: bool = True,
                   on_block: Callable[[int], None] | None = None) -> RetrieveStats:
    """Fetch every missing block of the DAG under ``cid`` from ``holders`` into ``store``
    (``on_block`` gets the size of each block verified and stored, for a progress bar).

    Raises ContentUnavailable when no holder has the root or some block, NoHonestHolder when the
    only holders that had data lied, BudgetExceeded when the blocks added would pass LIMIT bytes.
    Blocks verified before a failure stay stored, unless KEEP_PARTIAL is false.
    """
    if cid.hash_code != IDENTITY and cid.hash_code not in SUPPORTED_HASHES:
        raise InvalidCID(f"{cid}: unsupported hash function 0x{cid.hash_code:x}")
    if parallel < 1:
        raise UsageError("parallel must be at least 1")
    own = session is None
    if session is None:
        connector = aiohttp.TCPConnector(limit=max(100, parallel * len(holders) * 2))
        session = aiohttp.ClientSession(connector=connector)
    writer = BlockWriter(store.blocks, limit=limit,
                         journal=None if keep_partial else Journal(store.blocks))
    run = _Retrieval(store, cid, holders, session, parallel, timeout, hedge_after, writer)
    run.on_block = on_block
    try:
        return await run.run()
    finally:
        if own:
            await session.close()


@dataclass
class _Holder:
    url: str
    window: int
    in_flight: int = 0
    failures: int = 0
    busy: int = 0
    paused_until: float = 0.0
    gone: bool = False

    def free(self, now: float) -> bool:
        return not self.gone and self.in_flight < self.window and now >= self.paused_until


@dataclass
class _Want:
    """A block still to get: who does not have it, and who is fetching it now."""

    cid: CID
    excluded: set[str] = field(default_factory=set)
    fetchers: dict[str, float] = field(default_factory=dict)     # holder url -> start time


class _Retrieval:
    def __init__(self, store: ContentStore, root: CID, holders: list[str],
                 session: aiohttp.ClientSession, parallel: int, timeout: float,
                 hedge_after: float | None, writer: BlockWriter) -> None:
        self.store, self.root, self.session = store, root, session
        self.parallel, self.timeout, self.hedge_after = parallel, timeout, hedge_after
        self.holders = {url.rstrip("/"): _Holder(url.rstrip("/"), parallel) for url in holders}
        self.stats = RetrieveStats(str(root), per_holder={u: 0 for u in self.holders},
                                   per_holder_blocks={u: 0 for u in self.holders})
        self.fresh: deque[bytes] = deque()        # blocks nobody has been asked for yet
        self.again: list[bytes] = []              # blocks to ask again (failed, missing somewhere)
        self.wants: dict[bytes, _Want] = {}
        self.seen: set[bytes] = set()
        self.missing: list[CID] = []
        self.tasks: dict[asyncio.Task[tuple[list[CID], int]], tuple[bytes, str, float]] = {}
        self.latency: float | None = None
        self.writer = writer
        self.on_block: Callable[[int], None] | None = None

    # --- the loop --------------------------------------------------------------------------

    async def run(self) -> RetrieveStats:
        started = time.monotonic()
        whole = False
        try:
            await self._add([self.root])
            while self.fresh or self.again or self.tasks:
                self._assign()
                if not self.tasks:
                    if not await self._idle():
                        break
                    continue
                done, _ = await asyncio.wait(list(self.tasks), timeout=self._tick(),
                                             return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    await self._finish(task)
                self._hedge()
            self._raise_if_incomplete()
            whole = True
        finally:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            if whole or self.writer.journal is None:
                await self.writer.close()
            else:
                await self.writer.discard()
            self.stats.seconds = time.monotonic() - started
        return self.stats

    async def _idle(self) -> bool:
        """Nothing in flight: wait for a paused holder, or give up (False) when none can help."""
        self._settle_missing()
        alive = [h for h in self.holders.values() if not h.gone]
        if not (self.fresh or self.again) or not alive:
            return False
        wake = min(h.paused_until for h in alive)
        await asyncio.sleep(max(0.0, min(wake - time.monotonic(), 1.0)))
        return True

    def _tick(self) -> float:
        return max(0.05, min(self._deadline() / 4, 1.0))

    def _deadline(self) -> float:
        if self.hedge_after is not None:
            return self.hedge_after
        mean = self.latency if self.latency is not None else HEDGE_MIN
        return max(HEDGE_MIN, HEDGE_FACTOR * mean)

    # --- the walk ----------------------------------------------------------------------------

    async def _add(self, cids: list[CID]) -> None:
        """Queue blocks not yet seen; blocks already held are reused (their links followed)."""
        stack = list(cids)
        while stack:
            cid = stack.pop()
            key = cid.multihash
            if key in self.seen:
                continue
            self.seen.add(key)
            if cid.hash_code == IDENTITY:
                continue
            if self.store.blocks.has(cid):
                self.stats.reused += 1
                links, size = await asyncio.to_thread(_local_links, self.store, cid)
                await self.writer.count_existing(cid, size)
                stack.extend(links)
                continue
            self.wants[key] = _Want(cid)
            self.fresh.append(key)

    def _next_for(self, holder: _Holder) -> _Want | None:
        for i, key in enumerate(self.again):
            want = self.wants[key]
            if holder.url not in want.excluded and holder.url not in want.fetchers:
                del self.again[i]
                return want
        if not self.fresh:
            return None
        key = self.fresh.popleft() if len(self.fresh) < FRONTIER_LIMIT else self.fresh.pop()
        return self.wants[key]

    def _assign(self) -> None:
        now = time.monotonic()
        progress = True
        while progress:
            progress = False
            for holder in self.holders.values():
                if holder.free(now):
                    want = self._next_for(holder)
                    if want is not None:
                        self._start(want, holder, now)
                        progress = True

    def _start(self, want: _Want, holder: _Holder, now: float) -> None:
        want.fetchers[holder.url] = now
        holder.in_flight += 1
        task = asyncio.create_task(self._fetch(want.cid, holder.url))
        self.tasks[task] = (want.cid.multihash, holder.url, now)

    async def _fetch(self, cid: CID, url: str) -> tuple[list[CID], int]:
        """Fetch, verify and stage one block; (its links, its size)."""
        data = await fetch_block(self.session, url, cid, self.timeout)
        try:
            return await self.writer.put(cid, data), len(data)
        except BlockMismatch as exc:
            raise PeerLied(str(exc)) from exc

    # --- results -----------------------------------------------------------------------------

    async def _finish(self, task: asyncio.Task[tuple[list[CID], int]]) -> None:
        key, url, started = self.tasks.pop(task)
        holder = self.holders[url]
        holder.in_flight -= 1
        want = self.wants.get(key)
        if want is not None:
            want.fetchers.pop(url, None)
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            links, size = task.result()
            await self._done(key, holder, links, size, time.monotonic() - started)
        elif want is None:
            return                                   # a late duplicate of a finished block
        elif isinstance(error, Missing):
            want.excluded.add(url)
            self._again(key)
        elif isinstance(error, PeerLied):
            self._drop(holder, liar=True)
            self._again(key)
        elif isinstance(error, PeerFailed):
            self._failed(holder, error)
            self._again(key)
        else:
            raise error

    async def _done(self, key: bytes, holder: _Holder, links: list[CID], size: int, took: float) -> None:
        holder.failures = holder.busy = 0
        holder.window = min(self.parallel, holder.window + 1)
        self.latency = took if self.latency is None else 0.8 * self.latency + 0.2 * took
        want = self.wants.pop(key, None)
        if want is None:
            return                                   # another holder's copy was first
        self.stats.blocks += 1
        self.stats.bytes += size
        self.stats.per_holder[holder.url] += size
        self.stats.per_holder_blocks[holder.url] += 1
        if self.on_block is not None:
            self.on_block(size)
        for task, (other, url, _started) in list(self.tasks.items()):
            if other == key:                         # a hedge lost the race: stop it
                task.cancel()
                self.holders[url].window = max(1, self.holders[url].window // 2)
        if key in self.again:
            self.again.remove(key)
        await self._add(links)

    def _again(self, key: bytes) -> None:
        if key in self.wants and key not in self.again:
            self.again.append(key)

    def _failed(self, holder: _Holder, error: PeerFailed) -> None:
        if error.busy:
            holder.busy += 1
        else:
            holder.failures += 1
        backoff = 0.1 * 2 ** (holder.failures + min(holder.busy, 8))
        pause = error.retry_after if error.retry_after is not None else backoff
        holder.paused_until = time.monotonic() + min(pause, 30.0)
        if holder.failures >= MAX_FAILURES or holder.busy >= MAX_BUSY:
            self._drop(holder, liar=False)

    def _drop(self, holder: _Holder, *, liar: bool) -> None:
        if holder.gone:
            return
        holder.gone = True
        (self.stats.liars if liar else self.stats.dropped).append(holder.url)
        for task, (key, url, _started) in self.tasks.items():
            if url == holder.url:
                task.cancel()
                self._again(key)

    def _hedge(self) -> None:
        """Ask another holder for blocks whose only request is older than the deadline."""
        now = time.monotonic()
        deadline = self._deadline()
        for key, url, started in list(self.tasks.values()):
            want = self.wants.get(key)
            if want is None or len(want.fetchers) != 1 or now - started < deadline:
                continue
            spare = next((h for h in self.holders.values() if h.free(now) and h.url != url
                          and h.url not in want.excluded), None)
            if spare is not None:
                self.stats.hedged += 1
                self._start(want, spare, now)

    # --- the end -----------------------------------------------------------------------------

    def _settle_missing(self) -> None:
        """Blocks every remaining holder lacks (or that no holder is left to ask) are missing."""
        alive = {h.url for h in self.holders.values() if not h.gone}
        for key in list(self.again):
            want = self.wants[key]
            if not want.fetchers and alive <= want.excluded:
                self.again.remove(key)
                self.missing.append(want.cid)

    def _raise_if_incomplete(self) -> None:
        unfetched = len(self.missing) + len(self.fresh) + len(self.again)
        if not unfetched:
            return
        keeps = self.writer.journal is None
        kept = f"{self.stats.blocks} verified blocks were kept" if self.stats.blocks and keeps else ""
        if self.stats.liars and not any(not h.gone for h in self.holders.values()):
            raise NoHonestHolder(f"every peer that had {self.root} sent wrong bytes "
                                 f"({', '.join(self.stats.liars)}); nothing of theirs was stored")
        if self.root.multihash in self.wants:
            raise ContentUnavailable(f"no peer holds {self.root}", hint=_hint(len(self.holders)))
        raise ContentUnavailable(f"{unfetched} blocks of {self.root} are held by none of the peers"
                                 + (f"; {kept}" if kept else ""), hint="try again later or with more peers")


def _hint(asked: int) -> str:
    if not asked:
        return "no peer was asked: add one with --peer URL or the node.peers setting"
    return f"{asked} peer(s) asked; add more with --peer URL"


def _local_links(store: ContentStore, cid: CID) -> tuple[list[CID], int]:
    """The links and size of a block already held (only dag-pb nodes are read)."""
    if cid.codec != DAG_PB:
        return [], store.blocks.size(cid)
    data = store.blocks.get(cid)
    return links_of(cid, data), len(data)
