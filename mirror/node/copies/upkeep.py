"""The node's diffusion work in the background: keep every content on several volunteers.

* **After every peer sync** (``Syncer``'s ``on_synced`` hook): pull the peer's holdings
  announcements (``mirror.node.copies.holdings``) and note that the peer answered (it counts as live).
* **Replication**: a round (``mirror.node.copies.replicate``) plans, drops and fetches one batch within
  the node's budget; it runs again soon (``AGAIN``) while it fetched something, when new
  announcements (pulled or pushed) or documents arrived, else every ``node.sync_interval``.
* **Announcing**: the node publishes its announcement when what it holds changed (a round fetched
  or dropped, or documents written here are held: checked by ``held_mark``, which also sees what
  another process on the home did), at most every ``publish_gap`` seconds, and pushes it to its
  peers (``mirror.node.copies.spread``) when its held set is new; and it re-signs the same set at
  least every ``node.holder_timeout / 3`` seconds (a heartbeat, so the others keep counting its
  copies as live), which reads none of the held contents when the held mark did not move.
* **Audits** (``mirror.node.copies.audit``): one round every ``node.audit_interval`` seconds.
* **Forgetting**: announcements of nodes silent for ``FORGET_AFTER`` holder timeouts are dropped,
  checked every holder timeout.
* **Remote pinning** (``mirror.node.copies.pinning``): every ``node.sync_interval`` while
  ``pinning.endpoint`` and ``pinning.collections`` are set.

Each loop logs and survives the failures of one round (a peer gone, a service down); stopping the
node cancels them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any, Awaitable, Callable

import aiohttp

from indexer import copies as rows
from indexer.errors import IndexError_
from indexer.records import Change
from mirror.errors import MirrorError
from mirror.node.faults import environmental
from mirror.node.copies import audit
from mirror.node.copies import holdings
from mirror.node.copies import pinning
from mirror.node.copies.spread import Spread
from mirror.node.sync.client import PeerClient
from mirror.node.copies.replicate import RoundReport, SurplusMemo, replicate_round
from mirror.node.waiting import wait_event
from indexer.index import Index
from mirror.feed.identity import Identity
from mirror.node.sync.peers import PeerBook
from mirror.node.sync.pull import SyncReport
from mirror.settings import Settings
from mirror.store import ContentStore
from mirror.units import format_size

log = logging.getLogger(__name__)
AGAIN = 0.2                # seconds before the next round while rounds fetch something
FORGET_AFTER = 6           # holder timeouts of silence before a node's announcement is dropped
FALLBACK_PEERS = 8         # peers asked for a content no live announcement names
PUBLISH_GAP = 1.0          # seconds at least between two announcements of a changed held set
SET_RATE = 100_000         # ... and at most this many bytes of held set per second


class Upkeep:
    """The copies loops of the node IDENTITY, announcing itself at PUBLIC_URL (and pushing its
    announcements with SPREAD)."""

    def __init__(self, index: Index, store: ContentStore, identity: Identity,
                 session: aiohttp.ClientSession, book: PeerBook, settings: Settings, *,
                 public_url: Callable[[], str], held_changed: Callable[[], None] = lambda: None,
                 spread: Spread | None = None) -> None:
        self.index, self.store, self.identity, self.session = index, store, identity, session
        self.book, self.settings, self.public_url = book, settings, public_url
        self.held_changed = held_changed    # told when a round fetched or dropped contents
        self.spread = spread
        self._wake = asyncio.Event()
        self._published = -1.0              # loop time of our last announcement
        self._changed = True                # held contents may differ from our last announcement
        self._announced: tuple[bytes, tuple[int, int]] | None = None   # its set hash, held mark
        self._set_size = 0                  # bytes of its held set
        self.rounds = 0                     # replication rounds run (for tests and status)
        self._room = SurplusMemo()                 # what the last read of every held content found
        index.add_listener(self._on_changes)

    def wake(self) -> None:
        """Run a replication round soon (new documents or announcements arrived)."""
        self._wake.set()

    async def _on_changes(self, changes: list[Change]) -> None:
        self._changed = True                # documents written here may be held (own ones are)
        self.wake()

    async def run(self) -> None:
        """Every loop, until cancelled; as ``Gossip.run``, a task group ends them all before
        returning, so none outlives the node's index."""
        async with asyncio.TaskGroup() as loops:
            for loop in (self._replicate_loop(), self._every(self._audit_interval, self.audit_once),
                         self._every(self._holder_timeout, self.forget_once),
                         self._every(self._sync_interval, self.pin_once)):
                loops.create_task(loop)

    # -- after a sync ----------------------------------------------------------------------------

    async def synced(self, client: PeerClient, report: SyncReport) -> None:
        """The hook the node's ``Syncer`` calls after a sync with a peer."""
        if report.node_id is None or report.node_id == self.identity.node_id:
            return
        try:
            pulled = await holdings.pull_holdings(
                self.session, client.url, self.index,
                room=lambda: holdings.holdings_room(self.settings, self.identity.node_id))
            await holdings.note_contact(self.index, report.node_id)
        except MirrorError as exc:
            log.info("holdings of %s unreadable: %s", client.url, exc)
            return
        if pulled or report.documents:
            self.wake()

    # -- replication and heartbeats --------------------------------------------------------------

    async def replicate_once(self) -> bool:
        """One round, then publish when it changed what is held or the heartbeat is due; returns
        True when the round fetched something."""
        peers = [p.url for p in await self.book.all() if not self.book.in_backoff(p)][:FALLBACK_PEERS]
        peers += list(self.settings.node.gateways)          # trustless gateways the operator named
        report = await replicate_round(self.index, self.store, self.session, me=self.identity.node_id,
                                       settings=self.settings, peers=peers, memo=self._room,
                                       progress=self._progress)
        self.rounds += 1
        if report.changed:
            log.info("replication: %d content(s) copied here (%s), %d dropped; %s of %s budget used",
                     len(report.fetched), format_size(report.bytes_fetched), len(report.dropped),
                     format_size(report.used), format_size(report.budget))
        for failure in report.failed:
            log.info("replication of %s failed: %s", failure["sha256"][:16], failure["error"])
        if report.changed:
            self.held_changed()
            self._changed = True
        await self.announce(report.budget, report.used)
        return bool(report.fetched)

    async def _progress(self, report: RoundReport) -> None:
        """Part of a long round is done: announce what it fetched so far (within ``announce``'s
        pace), so its copies count before the round ends."""
        if report.changed:
            self._changed = True
        await self.announce(report.budget, report.used)

    async def announce(self, budget: int, used: int) -> None:
        """Publish our announcement when what is held changed (at most once per ``publish_gap``)
        or the heartbeat is due, and push it to our peers when its held set is new."""
        now = asyncio.get_running_loop().time()
        due = now - self._published >= self._holder_timeout() / 3
        if not due and not (self._changed and now - self._published >= self.publish_gap()):
            return
        self._changed = False
        async with self.index.read() as conn:
            mark = await rows.held_mark(conn)
        same = self._announced is not None and self._announced[1] == mark
        if same and not due:
            return
        ann = await holdings.publish_holdings(self.index, self.identity, url=self.public_url(),
                                              budget=budget, used=used, same_set=same)
        self._published = now
        fresh = self._announced is None or self._announced[0] != ann.set_hash
        self._announced, self._set_size = (ann.set_hash, mark), ann.set_size
        if fresh and self.spread is not None:
            await self.spread.push(ann)

    def publish_gap(self) -> float:
        """Seconds between two announcements of a changed held set: ``PUBLISH_GAP``, longer for a
        set so big that its peers would fetch more than ``SET_RATE`` bytes per second of it."""
        return max(PUBLISH_GAP, self._set_size / SET_RATE)

    async def _replicate_loop(self) -> None:
        while True:
            fetched = False
            try:
                fetched = await self.replicate_once()
            except (MirrorError, OSError, IndexError_) as exc:    # the next round tries again
                log.warning("replication round failed: %s", environmental(exc) or exc)
            wait = AGAIN if fetched else min(self._sync_interval(), self._holder_timeout() / 3)
            if self._changed:                                       # an announcement is held back
                wait = min(wait, max(AGAIN, self.publish_gap()))
            if await wait_event(self._wake, wait):
                await asyncio.sleep(AGAIN)             # let a burst of wakes settle into one round
            self._wake.clear()

    # -- periodic duties -------------------------------------------------------------------------

    async def audit_once(self) -> None:
        outcomes = await audit.audit_round(self.index, self.store, self.session, me=self.identity.node_id,
                                           holder_timeout=self._holder_timeout())
        if outcomes:
            counts = Counter(o.status for o in outcomes)
            log.info("audit: %d holder claim(s) checked: %s", len(outcomes),
                     ", ".join(f"{status} {n}" for status, n in sorted(counts.items())))
        if any(not o.ok and o.status != "skipped" for o in outcomes):
            self.wake()                            # a failed holder no longer counts: re-replicate

    async def forget_once(self) -> None:
        forgotten = await holdings.forget_silent(self.index, FORGET_AFTER * self._holder_timeout())
        if forgotten:
            log.info("forgot the announcements of %d silent node(s)", forgotten)

    async def pin_once(self) -> None:
        settings = self.settings.pinning
        if not settings.endpoint or not settings.collections:
            return
        report = await pinning.pin_collections(self.index, self.settings, settings.collections)
        if report.failed:
            log.warning("remote pinning: %d pin(s) failed", len(report.failed))

    async def _every(self, interval: Callable[[], float], duty: Callable[[], Awaitable[Any]]) -> None:
        while True:
            await asyncio.sleep(interval())
            try:
                await duty()
            except (MirrorError, OSError, IndexError_) as exc:
                log.warning("%s failed: %s", getattr(duty, "__name__", "duty"), environmental(exc) or exc)

    def _sync_interval(self) -> float:
        return max(0.05, float(self.settings.node.sync_interval))

    def _holder_timeout(self) -> float:
        return max(0.3, float(self.settings.node.holder_timeout))

    def _audit_interval(self) -> float:
        return max(0.05, float(self.settings.node.audit_interval))
