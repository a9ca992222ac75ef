"""Keeping the node's IPNI chain saying what it holds, and telling the indexers.

    keeper = await IpniKeeper.open(home.path / "ipni", identity, index, store, session,
                                   indexers=settings.node.ipni_announce, url=lambda: node.url)
    ipni_routes(app, keeper.publisher)
    node.spawn(keeper.run())        # reconciles at start, on wake(), and every RECHECK seconds
    keeper.wake()                   # what is held changed (a replication round, a harvest)
    await keeper.close()

A reconcile reads every content marked held (``held_contents``) and hands the publisher the map
sha256 -> root CID: it advertises what is new, with every block of its DAG, and withdraws what is
gone (``mirror.node.ipni.publisher``). Announces go only to the indexers the operator named
(``node.ipni_announce``); a node whose URL is not a public https one says so in its log, since
indexers and IPFS clients could not fetch from it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from indexer import copies as copy_rows
from indexer import publication as publication_rows
from indexer.index import Index
from mirror.errors import MirrorError
from mirror.feed.identity import Identity
from mirror.node.ipni.announce import Announcer
from mirror.node.ipni.publisher import IpniPublisher, held_dags
from mirror.node.routing.multiaddr import url_to_multiaddr
from mirror.node.routing.peerid import peer_id
from mirror.node.waiting import wait_event
from mirror.store import ContentStore
from mirror.store.cid import CID

log = logging.getLogger(__name__)
RECHECK = 600.0        # seconds between reconciles when nothing woke the keeper
PAGE = 5000            # keys read at a time from the index and from the chain
BATCH = 1000           # contents advertised (or withdrawn) per publication
SETTLE = 1.0           # seconds a burst of wakes settles into one reconcile


class IpniKeeper:
    """The publisher of one node, the announcer of its heads, and the loop that keeps them fed."""

    def __init__(self, publisher: IpniPublisher, announcer: Announcer | None, index: Index,
                 store: ContentStore, url: Callable[[], str]) -> None:
        self.publisher, self.announcer = publisher, announcer
        self.index, self.store, self.url = index, store, url
        self._wake = asyncio.Event()
        self.reconciles = 0

    @classmethod
    async def open(cls, folder: Path, identity: Identity, index: Index, store: ContentStore,
                   session: aiohttp.ClientSession, *, indexers: Sequence[str],
                   url: Callable[[], str]) -> "IpniKeeper":
        announcer = None
        if indexers:
            announcer = Announcer(session, indexers, peer_id(identity.public_key_bytes), [])
        publisher = await asyncio.to_thread(IpniPublisher, folder, identity, lambda: [url()],
                                            on_head=announcer.notify if announcer else None)
        return cls(publisher, announcer, index, store, url)

    def wake(self) -> None:
        """Reconcile soon: what this node holds changed."""
        self._wake.set()

    async def reconcile(self) -> int:
        """Make the chain advertise exactly the contents held here now; returns how many contents
        it advertised or withdrew. The held contents and the advertised keys are walked side by
        side in sha256 order, a page at a time: memory follows ``PAGE``, not what the node holds."""
        fresh: list[tuple[str, CID]] = []
        gone: list[str] = []
        changed = 0
        async for key, root, advertised in self._sides():
            if root is not None and not advertised:
                fresh.append((key, root))
            elif root is None and advertised:
                gone.append(key)
            if len(fresh) >= BATCH or len(gone) >= BATCH:
                changed += await self._publish(fresh, gone)
        changed += await self._publish(fresh, gone)
        self.reconciles += 1
        return changed

    async def _publish(self, fresh: list[tuple[str, CID]], gone: list[str]) -> int:
        count = len(fresh) + len(gone)
        if gone:
            await self.publisher.publish(removed=list(gone))
        if fresh:
            contents = await asyncio.to_thread(held_dags, self.store.blocks, list(fresh))
            await self.publisher.publish(added=contents)
        fresh.clear()
        gone.clear()
        return count

    async def _sides(self) -> AsyncIterator[tuple[str, CID | None, bool]]:
        """(key, root when held here, whether advertised) for every key of either side, in order."""
        held, ads = self._held(), self._advertised()
        h, a = await anext(held, None), await anext(ads, None)
        while h is not None or a is not None:
            if a is None or (h is not None and h[0] < a):
                assert h is not None
                yield h[0], h[1], False
                h = await anext(held, None)
            elif h is None or a < h[0]:
                yield a, None, True
                a = await anext(ads, None)
            else:
                yield a, h[1], True
                h, a = await anext(held, None), await anext(ads, None)

    async def _held(self) -> AsyncIterator[tuple[str, CID]]:
        """Contents held here and published (a private one is never advertised)."""
        after = ""
        async with self.index.read() as conn:
            hidden = await publication_rows.unpublished_roots(conn)
        while True:
            async with self.index.read() as conn:
                page = await copy_rows.held_contents_after(conn, after, PAGE)
            for sha256, text in page:
                if text in hidden:
                    continue
                try:
                    yield sha256, CID.decode(text)
                except MirrorError:
                    continue
            if len(page) < PAGE:
                return
            after = page[-1][0]

    async def _advertised(self) -> AsyncIterator[str]:
        after = ""
        while True:
            page = await asyncio.to_thread(self.publisher.chain.keys_after, after, PAGE)
            for key in page:
                yield key
            if len(page) < PAGE:
                return
            after = page[-1]

    async def run(self) -> None:
        """Reconcile now, then whenever woken (or every ``RECHECK`` seconds), until cancelled."""
        if self.announcer is not None:
            self.announcer.addrs = [url_to_multiaddr(self.url())]    # known once the node serves
            if not _public(self.url()):
                log.warning("announcing to IPNI indexers from %s, which they cannot reach: set "
                            "node.public_url to the node's public https URL", self.url())
        while True:
            try:
                await self.reconcile()
            except (MirrorError, OSError) as exc:
                log.warning("IPNI advertisements not updated: %s", exc)
            if await wait_event(self._wake, RECHECK):
                await asyncio.sleep(SETTLE)
            self._wake.clear()

    async def close(self) -> None:
        if self.announcer is not None:
            await self.announcer.close()


def _public(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and host not in ("localhost", "") and not host.startswith("127.")
