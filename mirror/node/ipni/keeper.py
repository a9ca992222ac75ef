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
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from indexer import copies as copy_rows
from indexer.index import Index
from mirror.errors import MirrorError
from mirror.feed.identity import Identity
from mirror.node.ipni.announce import Announcer
from mirror.node.ipni.publisher import IpniPublisher
from mirror.node.routing.multiaddr import url_to_multiaddr
from mirror.node.routing.peerid import peer_id
from mirror.store import ContentStore
from mirror.store.cid import CID

log = logging.getLogger(__name__)
RECHECK = 600.0        # seconds between reconciles when nothing woke the keeper
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

    async def reconcile(self) -> list[CID]:
        """Make the chain advertise exactly the contents held here now."""
        async with self.index.read() as conn:
            held = await copy_rows.held_contents(conn)
        roots = {}
        for sha256, text in held:
            try:
                roots[sha256] = CID.decode(text)
            except MirrorError:
                continue
        self.reconciles += 1
        return await self.publisher.reconcile(roots, self.store.blocks)

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
            try:
                await asyncio.wait_for(self._wake.wait(), RECHECK)
                await asyncio.sleep(SETTLE)
            except TimeoutError:
                pass
            self._wake.clear()

    async def close(self) -> None:
        if self.announcer is not None:
            await self.announcer.close()


def _public(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and host not in ("localhost", "") and not host.startswith("127.")
