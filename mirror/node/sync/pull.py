"""Pulling feeds from a peer (protocol §7): only what is lacking, verified before anything is kept.

One sync with a peer: read its feed list (one line per feed, so unchanged feeds cost a line), and
for every accepted author it holds beyond our cursor, pull pages after our cursor. Pages are
fetched, decoded and verified (every signature, every link, against our cursor) in a producer task
while the previous page is being applied, so a large sync is bounded by verification and the index
writes, not by round trips. A page is applied in one index transaction with the cursor (see
``mirror.feed.merge``); anything wrong with a page stops the pull before that page is stored.

A page whose first entry does not link to our head may be a fork: the peer's entry at our head's
seq is fetched, and if it is a different validly signed entry, the feed forked; bisection finds
the first seq where the two branches differ, and the two entries there are the fork evidence.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import time
import weakref
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Awaitable, Callable, Iterator

from indexer import feeds
from indexer.feeds import Head
from mirror.errors import PeerError, SignatureError
from mirror.feed.merge import Applied, Merger, StaleHead, fork_evidence
from mirror.node.sync.client import PeerClient, RemoteFeed
from mirror.feed.entry import Entry, verify_chain
from mirror.node.limits import APPLY_ENTRIES, PAGE_ENTRIES, PAGES_AHEAD
from mirror.node.sync.quota import IndexQuota, Room

AppliedFn = Callable[[str, Head, str], Awaitable[None]]   # (author, new head, peer url)
SyncedFn = Callable[[PeerClient, "SyncReport"], Awaitable[None]]   # after a sync with a peer
log = logging.getLogger(__name__)


class ForkFound(PeerError):
    """The peer holds another branch of a feed; the evidence was recorded (not the peer's fault)."""


@dataclass
class SyncReport:
    """What one sync with one peer did."""

    peer: str
    node_id: str | None = None
    entries: int = 0            # entries stored
    documents: int = 0          # documents written or retracted
    bytes: int = 0              # response bytes received
    feeds: list[str] = field(default_factory=list)   # authors whose feed grew
    lag: int = 0                # entries the peer holds that we still lack (accepted authors)
    forked: list[str] = field(default_factory=list)  # authors the peer holds another branch of
    stopped: list[str] = field(default_factory=list)  # authors not pulled further: over a quota
    seconds: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class Syncer:
    def __init__(self, merger: Merger, *, on_applied: AppliedFn | None = None,
                 on_synced: SyncedFn | None = None, page: int = PAGE_ENTRIES,
                 quota: IndexQuota | None = None, every_signature: bool = False) -> None:
        self.merger = merger
        self.quota = quota
        self.on_applied = on_applied
        self.on_synced = on_synced
        self.page = page
        self.every_signature = every_signature    # True: verify as a protocol 1 reader does
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def sync(self, client: PeerClient, authors: set[str] | None = None) -> SyncReport:
        """Pull from CLIENT's peer every accepted feed (or only AUTHORS) it holds beyond ours.

        Raises ``PeerError`` (the report so far is lost) when the peer misbehaves. ``on_synced``
        runs after a sync that completed (the node pulls the peer's holdings announcements then).
        """
        start = time.monotonic()
        report = SyncReport(client.url)
        remote = await client.feeds()
        report.node_id = client.node_id
        async with self.merger.index.read() as conn:
            policy = await self.merger.policy(conn)
            local = await _local_heads(conn)
        wanted = [f for f in remote if policy.accepts_author(f.author)
                  and (authors is None or f.author in authors)]
        for feed in wanted:
            try:
                await self._sync_feed(client, feed, local.get(feed.author), report)
            except ForkFound:
                report.forked.append(feed.author)
            if self.quota is not None and self.quota.is_stopped(feed.author):
                report.stopped.append(feed.author)
        report.lag = await self._lag([f for f in wanted if f.author not in report.stopped])
        report.bytes = client.bytes_in
        report.seconds = time.monotonic() - start
        log.info("synced with %s: %d entries applied (%d documents changed), lag %d, %.1f s", client.url,
                 report.entries, report.documents, report.lag, report.seconds)
        if self.on_synced is not None:
            await self.on_synced(client, report)
        return report

    async def _sync_feed(self, client: PeerClient, feed: RemoteFeed, mine: Head | None,
                         report: SyncReport) -> None:
        mine = mine or Head(feed.author, 0, None, None)
        if feed.fork is not None and (mine.fork_seq is None or feed.fork < mine.fork_seq):
            await self._take_forks(client, feed.author)
        if feed.seq == mine.seq and feed.seq and feed.head != mine.head:
            await self._check_fork(client, feed.author, mine)
        if feed.seq > mine.seq:
            stored, changed = await self.pull(client, feed.author, feed.seq)
            report.entries += stored
            report.documents += changed
            if stored:
                report.feeds.append(feed.author)

    async def _lag(self, remote: list[RemoteFeed]) -> int:
        async with self.merger.index.read() as conn:
            local = await _local_heads(conn)
        return sum(max(0, f.seq - (local[f.author].seq if f.author in local else 0)) for f in remote)

    async def pull(self, client: PeerClient, author: str, until: int | None = None) -> tuple[int, int]:
        """Pull AUTHOR's entries after our cursor from CLIENT (up to seq UNTIL when given), as far
        as the index quota leaves room (``mirror.node.sync.quota``).

        Returns (entries stored, documents changed). One pull per author at a time.
        """
        lock = self._locks.get(author)
        if lock is None:
            lock = self._locks[author] = asyncio.Lock()
        async with lock:
            head = await self.merger.head(author)
            if until is not None and head.seq >= until:
                return 0, 0
            room = None
            if self.quota is not None:
                room = await self.quota.room(author, client.url, client.node_id)
                if room is not None and room.full:
                    return 0, 0
            with _fewer_collections(until is not None and until - head.seq > self.page):
                stored, changed, head = await self._pipeline(client, author, head, until, room)
        if stored and self.on_applied is not None:
            await self.on_applied(author, head, client.url)
        return stored, changed

    async def _pipeline(self, client: PeerClient, author: str, head: Head,
                        until: int | None, room: Room | None) -> tuple[int, int, Head]:
        queue: asyncio.Queue[list[Entry] | None] = asyncio.Queue(maxsize=PAGES_AHEAD)
        producer = asyncio.create_task(self._produce(client, author, head, until, queue))
        stored = changed = 0
        try:
            while (entries := await _take_run(queue)) is not None:
                kept = entries if room is None else room.fit(entries)
                try:
                    applied = await self._apply(author, kept, head, room)
                except StaleHead:
                    break                      # another pull moved the feed; next sync goes on
                stored += applied.stored
                changed += applied.changed
                head = applied.head or head
                if applied.stored < len(entries):
                    break                      # over the quota, or dated in the future: later
            else:
                await producer                 # re-raises what stopped the producer
        finally:
            producer.cancel()
        return stored, changed, head

    async def _apply(self, author: str, entries: list[Entry], head: Head, room: Room | None) -> Applied:
        """Apply a verified run; the quota room it took is settled whatever happens."""
        applied = Applied(head=head)
        try:
            if entries:
                applied = await self.merger.apply_run(author, entries, head)
        finally:
            if room is not None:
                room.give_back(entries[applied.stored:])
        return applied

    async def _produce(self, client: PeerClient, author: str, head: Head, until: int | None,
                       queue: asyncio.Queue[list[Entry] | None]) -> None:
        try:
            expected = head
            while until is None or expected.seq < until:
                entries = await client.entries(author, expected.seq, self.page)
                if not entries:
                    break
                await self._verify(client, author, expected, entries)
                await queue.put(entries)
                last = entries[-1]
                expected = Head(author, last.seq, last.hash, last.ts, head.fork_seq, head.feed_id)
        finally:
            await queue.put(None)

    async def _verify(self, client: PeerClient, author: str, expected: Head,
                      entries: list[Entry]) -> None:
        first = entries[0]
        if expected.seq and first.seq == expected.seq + 1 and first.prev != expected.head:
            await self._check_fork(client, author, expected)
        await asyncio.to_thread(verify_chain, entries, author=author, after_seq=expected.seq,
                                after_hash=expected.head, after_ts=expected.ts,
                                every_signature=self.every_signature)

    async def _check_fork(self, client: PeerClient, author: str, expected: Head) -> None:
        """The peer's page does not continue our head: fork evidence, or a broken page.

        The evidence is recorded at the *first* seq where the peer's branch and ours differ
        (found by bisection, about log2(seq) one-entry requests), so that every node holding
        the same evidence excludes the same entries, whichever branch it holds."""
        ours = await self._ours(author, expected.seq)
        theirs = await self._theirs(client, author, expected.seq)
        if ours is None or theirs is None or theirs.hash == expected.head:
            raise SignatureError(f"{client.url}: {author[:16]}… entry {expected.seq + 1} does not "
                                 "link to the entry before it")
        differ = expected.seq
        if expected.fork_seq is not None and expected.fork_seq <= differ:
            differ = expected.fork_seq - 1            # only an earlier divergence is news
            if differ == 0 or await self._agree(client, author, differ):
                raise ForkFound(f"{client.url} holds another branch of {author[:16]}… (known fork)")
        mine, other = await self._first_divergence(client, author, differ)
        try:
            fork = fork_evidence(mine, (other.payload, other.signature))
        except SignatureError as exc:
            raise PeerError(f"{client.url}: {exc}") from None
        await self.merger.add_fork(fork)
        raise ForkFound(f"{client.url} holds another branch of {author[:16]}… from seq "
                        f"{fork.seq}; fork evidence recorded")

    async def _first_divergence(self, client: PeerClient, author: str,
                                differ: int) -> tuple[tuple[bytes, bytes], Entry]:
        """Our entry and the peer's at the first seq where they differ (they do at DIFFER)."""
        agree = 0                                   # before seq 1 every branch agrees
        while differ - agree > 1:
            middle = (agree + differ) // 2
            if await self._agree(client, author, middle):
                agree = middle
            else:
                differ = middle
        ours, theirs = await self._ours(author, differ), await self._theirs(client, author, differ)
        if ours is None or theirs is None:
            raise PeerError(f"{client.url}: {author[:16]}… entry {differ} went missing")
        return ours, theirs

    async def _agree(self, client: PeerClient, author: str, seq: int) -> bool:
        ours, theirs = await self._ours(author, seq), await self._theirs(client, author, seq)
        if ours is None or theirs is None:
            raise PeerError(f"{client.url}: {author[:16]}… entry {seq} went missing")
        return hashlib.sha256(ours[0] + ours[1]).digest() == theirs.hash

    async def _ours(self, author: str, seq: int) -> tuple[bytes, bytes] | None:
        async with self.merger.index.read() as conn:
            found = await feeds.read_entries(conn, author, seq - 1, 1)
        return found[0] if found else None

    async def _theirs(self, client: PeerClient, author: str, seq: int) -> Entry | None:
        found = await client.entries(author, seq - 1, 1)
        return found[0] if found and found[0].seq == seq and found[0].author == author else None

    async def _take_forks(self, client: PeerClient, author: str) -> None:
        for ours, theirs in await client.forks(author):
            try:
                fork = fork_evidence(ours, theirs)
            except (SignatureError, PeerError) as exc:
                raise PeerError(f"{client.url}: bad fork evidence: {exc}") from None
            if fork.author == author:
                await self.merger.add_fork(fork)


BULK_GC_THRESHOLD = 20_000       # allocations between two young collections during a bulk pull
_bulk_pulls = 0
_saved_threshold = gc.get_threshold()


@contextmanager
def _fewer_collections(bulk: bool) -> Iterator[None]:
    """While a pull of many pages runs, the cyclic garbage collector looks at young objects every
    BULK_GC_THRESHOLD allocations instead of every 700 (the default; restored after the last bulk
    pull ends). Decoded entries are thousands of short-lived dicts kept alive a moment by the page
    queue: with the default, collections cost about a fifth of decoding and merging them (measured
    on 100,000 entries). Nothing is leaked: the collector still runs, less often."""
    global _bulk_pulls, _saved_threshold
    if not bulk:
        yield
        return
    if _bulk_pulls == 0:
        _saved_threshold = gc.get_threshold()
        gc.set_threshold(max(_saved_threshold[0], BULK_GC_THRESHOLD), *_saved_threshold[1:])
    _bulk_pulls += 1
    try:
        yield
    finally:
        _bulk_pulls -= 1
        if _bulk_pulls == 0:
            gc.set_threshold(*_saved_threshold)


async def _take_run(queue: asyncio.Queue[list[Entry] | None]) -> list[Entry] | None:
    """The verified pages waiting in QUEUE as one run (at least one page, at most about
    APPLY_ENTRIES entries); None once the producer is done and every page was taken.

    When the index writes are slower than the peer (a fresh node pulling a large feed), pages
    queue up and are applied many at once: one transaction, and one statement per table, for
    thousands of entries. When the peer is slower, each page is applied as soon as it arrives.
    """
    entries = await queue.get()
    if entries is None:
        return None
    run = list(entries)
    while len(run) < APPLY_ENTRIES and not queue.empty():
        more = queue.get_nowait()
        if more is None:
            queue.put_nowait(None)      # seen again on the next call: the end
            break
        run += more
    return run


async def _local_heads(conn) -> dict[str, Head]:
    heads: dict[str, Head] = {}
    after = ""
    while True:
        page = await feeds.list_heads(conn, after=after, limit=5000, include_blocked=True,
                                      include_empty=True)
        heads.update((h.author, h) for h in page)
        if len(page) < 5000:
            return heads
        after = page[-1].author
