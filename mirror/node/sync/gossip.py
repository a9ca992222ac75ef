"""The node's background work: periodic syncs, notify fan-out and notify-triggered pulls.

* **Sync loop**: every peer not backed off is synced on connect, then every
  ``node.sync_interval`` seconds (``wake()`` makes it sync everyone at once). A successful sync
  records the contact and lag, greets the peer once (a notify carrying our URL, so it learns us
  and notifies us back) and, with ``node.peer_exchange``, learns the peers it lists.
* **Fan-out**: when a feed grows here (entries pulled from a peer, or our own feed, whose head is
  polled every second so appends by another process on the same home are seen too), every peer
  except the one the entries came from gets a notify. Notifies to one peer are coalesced: at most
  one in flight, and the latest head per author is sent.
* **Introductions**: a node greets its configured peers with ``joined``; such a peer, once it
  reached the newcomer, introduces it to every other peer (a notify about its feed with its URL as
  the origin), so volunteers that joined the same node learn each other at once, not at their
  next peer exchange.
* **Notified**: a notify for a feed beyond ours schedules a pull of that author from the notifying
  node (coalesced per peer); the hint is trusted for nothing, the entries are verified as always.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Coroutine

import aiohttp

from indexer.feeds import Head
from indexer.records import Change
from mirror.errors import IntegrityError, MirrorError, PeerError, UsageError
from mirror.node.faults import environmental
from mirror.node.limits import address_prefix
from mirror.node.waiting import wait_event
from mirror.node.sync.client import PeerClient, PeerRetryLater
from mirror.node.sync.peers import CONFIGURED, LEARNED, normalize_url, reachable_from
from mirror.node.sync.peers import PeerBook
from mirror.node.sync.pull import ForkFound, SyncReport, Syncer
from mirror.settings import Settings

log = logging.getLogger(__name__)
OWN_FEED_POLL = 1.0           # seconds between looks at our own feed head
LOOP_TICK = 1.0               # seconds between looks at the peers table
MAX_JOINERS = 1_000           # new peers waiting to be introduced
MAX_NOTICES = 1_000           # notifies received and not yet handled (beyond: 429)
NOTICE_WORKERS = 4            # notifies handled at once


Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class Gossip:
    """The sync loop, notifies out and in, for the node ME whose public URL PUBLIC_URL gives
    (None while it does not serve)."""

    def __init__(self, book: PeerBook, syncer: Syncer, session: aiohttp.ClientSession,
                 settings: Settings, spawn: Spawn, *, me: str,
                 public_url: Callable[[], str | None]) -> None:
        self.book, self.syncer, self.session = book, syncer, session
        self.settings, self.spawn, self.me, self.public_url = settings, spawn, me, public_url
        self.merger = syncer.merger
        self._wake = asyncio.Event()
        self._own_changed = asyncio.Event()
        self._syncing: set[str] = set()
        self._next_sync: dict[str, float] = {}
        self._greeted: set[str] = set()
        self._joiners: set[str] = set()                 # URLs to introduce once reached
        self._pulls: dict[str, set[str]] = {}          # peer url -> authors to pull
        self._outbox: dict[str, dict[str, dict[str, Any]]] = {}   # peer url -> author -> notify
        self._notices: dict[tuple[str, str | None], tuple[int, str, bool]] = {}   # received, oldest first
        self._notice_workers = 0
        self._announced = 0
        self.merger.index.add_listener(self._on_changes)

    def wake(self) -> None:
        """Sync with every peer now."""
        self._next_sync.clear()
        self._wake.set()

    async def run(self) -> None:
        """The sync loop and the watch of our own feed, until cancelled. A task group, not
        ``gather``: cancelling (or one loop failing) ends both loops before ``run`` returns, so
        neither outlives the node's index (gather returns as soon as the first child is cancelled)."""
        async with asyncio.TaskGroup() as loops:
            loops.create_task(self._sync_loop())
            loops.create_task(self._watch_own_feed())

    # -- periodic sync ---------------------------------------------------------------------------

    async def _sync_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            peers = await self.book.all()
            self.book.trust(peers)
            for peer in peers:
                if peer.url in self._syncing or self.book.in_backoff(peer):
                    continue
                if self._next_sync.get(peer.url, 0.0) <= now:
                    self._next_sync[peer.url] = now + self.settings.node.sync_interval
                    self.spawn(self.sync_peer(peer.url))
            await wait_event(self._wake, LOOP_TICK)
            self._wake.clear()

    async def sync_peer(self, url: str, *, log_failure: bool = True) -> SyncReport:
        """Sync with the peer at URL now, recording the outcome in the peers table (and logging a
        failure, unless the caller reports ``SyncReport.error`` itself)."""
        self._syncing.add(url)
        client = PeerClient(self.session, url)
        report = SyncReport(url)
        try:
            report = await self.syncer.sync(client)
            if report.node_id == self.me:
                await self._is_self(url)
                report.error = "this is this node"
                return report
            await self.book.contacted(url, report.node_id, report.lag)
            await self._after_contact(client)
            if url in self._joiners and report.node_id is not None:
                self._joiners.discard(url)
                await self._introduce(url, report.node_id)
        except PeerRetryLater as exc:
            report.error = str(exc)
            await self.book.failed(url, str(exc), exc.retry_after)
        except (PeerError, IntegrityError) as exc:
            report.error = str(exc)
            if log_failure:
                log.warning("sync with %s failed: %s", url, exc)
            await self.book.failed(url, str(exc))
        except Exception as exc:               # the environment's fault, not the peer's: retried
            if (why := environmental(exc)) is None:
                raise
            report.error = why
            log.warning("sync with %s stopped: %s", url, why)
        finally:
            self._syncing.discard(url)
            report.bytes = client.bytes_in
        return report

    async def _after_contact(self, client: PeerClient) -> None:
        if self.public_url() is not None and client.url not in self._greeted:
            head = await self.merger.head(self.me)
            peer = await self.book.get(client.url)
            joined = {"joined": True} if (self.settings.node.push and peer is not None
                                          and peer.source == CONFIGURED) else {}
            try:
                await client.notify(self._notice(head, client.url) | joined)
                self._greeted.add(client.url)
            except PeerError as exc:
                log.info("greeting %s failed: %s", client.url, exc)
        if self.settings.node.peer_exchange:
            try:
                listed = [u for u in await client.peers() if reachable_from(u, client.url)]
                await self.book.learn(listed, announcer=client.url)
            except PeerError as exc:
                log.info("peer list of %s unreadable: %s", client.url, exc)

    async def _is_self(self, url: str) -> None:
        peer = await self.book.get(url)
        if peer is not None and peer.source == LEARNED:
            await self.book.remove(url)
        else:
            await self.book.failed(url, "this URL reaches this node itself")

    # -- notifies out ----------------------------------------------------------------------------

    def _notice(self, head: Head, to: str) -> dict[str, Any]:
        """A notify about HEAD for the peer at TO; our URL as origin when TO could reach it."""
        url = self.public_url()
        origin = url if url is not None and reachable_from(url, to) else None
        return {"author": head.author, "seq": head.seq, "head": head.head.hex() if head.head else None,
                "origin": origin}

    async def applied(self, author: str, head: Head, source: str | None) -> None:
        """Entries of AUTHOR up to HEAD were applied (from peer SOURCE): tell the other peers."""
        await self._fanout(head, exclude=source)

    async def _fanout(self, head: Head, exclude: str | None = None) -> None:
        if self.public_url() is None:
            return
        for peer in await self.book.all():
            if peer.url == exclude or self.book.in_backoff(peer):
                continue
            self._queue(peer.url, head.author, self._notice(head, peer.url))

    async def _introduce(self, url: str, node_id: str) -> None:
        """Tell every other peer about URL, reached for the first time: a notify about its feed
        (NODE_ID, as far as we hold it) with URL as the origin, so they learn it at once instead
        of at their next peer exchange, and it learns them when they greet it."""
        if self.public_url() is None or not self.settings.node.push:
            return
        head = await self.merger.head(node_id)
        notice = {"author": node_id, "seq": head.seq, "head": head.head.hex() if head.head else None,
                  "origin": url}
        for peer in await self.book.all():
            if peer.url != url and not self.book.in_backoff(peer) and reachable_from(url, peer.url):
                self._queue(peer.url, node_id, notice)

    def _queue(self, url: str, author: str, notice: dict[str, Any]) -> None:
        """Send NOTICE about AUTHOR to the peer at URL (the latest per author, one in flight)."""
        box = self._outbox.get(url)
        if box is None:
            self._outbox[url] = {author: notice}
            self.spawn(self._send(url))
        else:
            box[author] = notice

    async def _send(self, url: str) -> None:
        client = PeerClient(self.session, url)
        try:
            while box := self._outbox.get(url):
                author = next(iter(box))
                notice = box.pop(author)
                try:
                    async with asyncio.timeout(10.0):
                        await client.notify(notice)
                except (PeerError, TimeoutError) as exc:
                    log.info("notify to %s failed: %s", url, exc)
        finally:
            self._outbox.pop(url, None)

    async def _on_changes(self, changes: list[Change]) -> None:
        if any(c.origin is None for c in changes):
            self._own_changed.set()

    async def _watch_own_feed(self) -> None:
        while True:
            head = await self.merger.head(self.me)
            if head.seq > self._announced:
                self._announced = head.seq
                await self._fanout(head)
            await wait_event(self._own_changed, OWN_FEED_POLL)
            self._own_changed.clear()

    # -- notifies in -----------------------------------------------------------------------------

    def notified(self, author: str, seq: int, origin: str | None, sender: str = "?",
                 joined: bool = False) -> bool:
        """Take a notify from the client address SENDER to handle soon; False when too many wait
        (the sender is asked to retry later). Notifies about the same feed and origin that wait
        together are one, at the highest seq: a flood costs memory and work within bounds."""
        key = (author, origin)
        waiting = self._notices.get(key)
        if waiting is None and len(self._notices) >= MAX_NOTICES:
            return False
        if waiting is None or seq > waiting[0]:
            self._notices[key] = (seq, sender, joined or (waiting is not None and waiting[2]))
        elif joined and not waiting[2]:                 # the newcomer's greeting is kept either way
            self._notices[key] = (waiting[0], waiting[1], True)
        if self._notice_workers < NOTICE_WORKERS:
            self._notice_workers += 1
            self.spawn(self._handle_notices())
        return True

    async def _handle_notices(self) -> None:
        try:
            while self._notices:
                (author, origin), (seq, sender, joined) = next(iter(self._notices.items()))
                del self._notices[author, origin]
                try:
                    await self._handle_notify(author, seq, origin, sender, joined)
                except MirrorError as exc:               # this one is lost; the worker goes on
                    log.warning("notify about %s… not handled: %s", author[:16], exc)
                except Exception as exc:
                    if (why := environmental(exc)) is None:
                        raise
                    log.warning("notify about %s… not handled: %s", author[:16], why)
        finally:
            self._notice_workers -= 1

    async def _handle_notify(self, author: str, seq: int, origin: str | None, sender: str,
                             joined: bool) -> None:
        """A notify from the client address SENDER: learn ORIGIN (within the share of SENDER's
        address prefix) and pull AUTHOR from it if its feed is beyond ours (JOINED: ORIGIN joined
        the network through this node, which introduces it to its peers once it reached it)."""
        url = None
        if origin is not None:
            try:
                url = normalize_url(origin)
            except UsageError:
                return
            if url == self.public_url():
                return
            peer = await self.book.get(url)
            if peer is None:
                await self.book.learn([url], announcer=f"notify from {address_prefix(sender)}")
            if joined and (peer is None or peer.last_contact is None) and len(self._joiners) < MAX_JOINERS \
                    and await self.book.get(url) is not None:     # the address policy kept it
                self._joiners.add(url)
        head = await self.merger.head(author)
        async with self.merger.index.read() as conn:
            accepted = (await self.merger.policy(conn)).accepts_author(author)
        if seq <= head.seq or not accepted:
            return
        if url is None:
            self.wake()
            return
        peer = await self.book.get(url)
        if peer is None or self.book.in_backoff(peer):
            return
        pending = self._pulls.get(url)
        if pending is None:
            self._pulls[url] = {author}
            self.spawn(self._pull_from(url))
        else:
            pending.add(author)

    async def _pull_from(self, url: str) -> None:
        client = PeerClient(self.session, url)
        try:
            while authors := self._pulls.get(url):
                author = authors.pop()
                try:
                    stored, changed = await self.syncer.pull(client, author)
                    if stored:
                        log.info("applied %d entries of %s… from %s (%d documents changed)", stored,
                                 author[:16], url, changed)
                except ForkFound:
                    continue
                except PeerRetryLater as exc:
                    await self.book.failed(url, str(exc), exc.retry_after)
                    return
                except (PeerError, IntegrityError) as exc:
                    log.warning("pull of %s from %s failed: %s", author[:16], url, exc)
                    await self.book.failed(url, str(exc))
                    return
                except MirrorError as exc:
                    log.warning("pull of %s from %s failed: %s", author[:16], url, exc)
                    return
                except Exception as exc:       # the environment's: the next sync tries again
                    if (why := environmental(exc)) is None:
                        raise
                    log.warning("pull of %s from %s stopped: %s", author[:16], url, why)
                    return
        finally:
            self._pulls.pop(url, None)
