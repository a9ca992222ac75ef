"""The nodes this one syncs with: which URLs are acceptable, backoff of failing peers, learning.

Peers are *configured* (``--peer``, ``node.peers``, ``openmirror peers add``, ``join``, the admin
API) or *learned* (from another node's peer list, or from a node that contacted us). Learned peers
are bounded in all (``MAX_LEARNED_PEERS``) and per announcer (``MAX_LEARNED_PER_ANNOUNCER``: the
peer whose list named them, or the address prefix a notify came from), so one peer cannot fill
the table; the most failing and least recently seen are dropped first. Configured ones are never
dropped automatically.

The book keeps the node's address guard (``mirror.fetch.guard.GuardedConnector``) in step with
the table: a configured peer's host is trusted whatever it resolves to (the operator chose it),
and a learned URL naming an address the policy refuses (``http://169.254.169.254/``) is dropped
before it is stored; names are checked where the connection is made.

A peer that fails (unreachable, timeout, malformed or forged data) is left alone for
``node.backoff`` seconds, doubling on every failure up to ``node.backoff_max``; one success
resets it.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable
from urllib.parse import urlsplit

from indexer import peers as rows
from indexer.index import Index
from indexer.peers import CONFIGURED, LEARNED, PeerRow
from mirror.errors import UsageError
from mirror.node.address import normalize_url
from mirror.node.limits import MAX_LEARNED_PEERS, MAX_LEARNED_PER_ANNOUNCER, PEERS_LISTED
from indexer.clock import entry_time

if TYPE_CHECKING:           # the guard (aiohttp) is the node's: status and peers read the book without it
    from mirror.fetch.guard import GuardedConnector

__all__ = ["CONFIGURED", "LEARNED", "PeerBook", "PeerRow", "backoff_seconds", "is_loopback",
           "normalize_url", "reachable_from"]


def is_loopback(url: str) -> bool:
    """True when URL names this machine's loopback interface (reachable from this host only)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def reachable_from(url: str, where: str) -> bool:
    """Whether a node at WHERE could reach URL: a loopback URL only from the same host."""
    return not is_loopback(url) or is_loopback(where)


def backoff_seconds(failures: int, base: float, cap: float) -> float:
    """How long a peer that failed FAILURES times in a row is left alone."""
    if failures <= 0:
        return 0.0
    return min(cap, base * 2 ** min(failures - 1, 40))


def _later(seconds: float) -> str:
    return entry_time(datetime.now(timezone.utc) + timedelta(seconds=seconds))


class PeerBook:
    """The peers table of one home, with the backoff rule."""

    def __init__(self, index: Index, *, backoff: float = 5.0, backoff_max: float = 3600.0,
                 self_url: str | None = None, guard: GuardedConnector | None = None) -> None:
        self.index = index
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.self_url = self_url
        self.guard = guard
        self.refused = 0                     # learned URLs dropped for their address

    async def all(self) -> list[PeerRow]:
        async with self.index.read() as conn:
            return await rows.list_peers(conn)

    async def get(self, url: str) -> PeerRow | None:
        async with self.index.read() as conn:
            return await rows.get_peer(conn, url)

    async def add(self, url: str, source: str = CONFIGURED) -> bool:
        """Add a peer (normalising its URL); True when it is new. A configured one is trusted."""
        url = normalize_url(url)
        if source == CONFIGURED and self.guard is not None:
            self.guard.trust(url)
        async with self.index.transaction() as tx:
            return await rows.add_peer(await tx.connection(), url, source, entry_time())

    def trust(self, peers: Iterable[PeerRow]) -> None:
        """Trust the hosts of the configured ones among PEERS (added by another process too)."""
        if self.guard is not None:
            self.guard.trust(*(p.url for p in peers if p.source == CONFIGURED))

    async def remove(self, url: str) -> bool:
        async with self.index.transaction() as tx:
            return await rows.remove_peer(await tx.connection(), normalize_url(url))

    async def learn(self, urls: Iterable[str], announcer: str) -> list[str]:
        """Add acceptable URLs that ANNOUNCER named as learned peers, within its share and the
        total bound; returns the new ones that were kept."""
        fresh = self._acceptable(list(urls)[:PEERS_LISTED])
        if not fresh:
            return []
        async with self.index.transaction() as tx:
            conn = await tx.connection()
            added = await rows.add_learned(conn, fresh, entry_time(), announcer)
            if added:
                await rows.prune_learned(conn, MAX_LEARNED_PER_ANNOUNCER, learned_from=announcer)
                await rows.prune_learned(conn, MAX_LEARNED_PEERS)
                kept = await rows.kept_among(conn, added)
                added = [u for u in added if u in kept]
        return added

    def _acceptable(self, urls: list[str]) -> list[str]:
        fresh: list[str] = []
        for raw in urls:
            try:
                url = normalize_url(raw)
            except UsageError:
                continue
            if self.guard is not None and self.guard.policy.literal_refusal(url) is not None:
                self.refused += 1
                continue
            if url != self.self_url and url not in fresh:
                fresh.append(url)
        return fresh

    @staticmethod
    def in_backoff(peer: PeerRow, now: str | None = None) -> bool:
        return peer.backoff_until is not None and peer.backoff_until > (now or entry_time())

    async def contacted(self, url: str, node_id: str | None, lag: int | None) -> None:
        """Record a successful exchange with URL."""
        async with self.index.transaction() as tx:
            await rows.update_peer(await tx.connection(), url, node_id=node_id, last_contact=entry_time(),
                                   last_error=None, failures=0, backoff_until=None, lag=lag)

    async def failed(self, url: str, error: str, retry_after: float | None = None) -> float:
        """Record a failure of URL and back it off; returns the backoff in seconds."""
        async with self.index.transaction() as tx:
            conn = await tx.connection()
            peer = await rows.get_peer(conn, url)
            if peer is None:
                return 0.0
            failures = peer.failures + 1
            delay = max(backoff_seconds(failures, self.backoff, self.backoff_max), retry_after or 0.0)
            await rows.update_peer(conn, url, failures=failures, last_error=error[:500],
                                   backoff_until=_later(delay))
            return delay

    async def public(self, limit: int = PEERS_LISTED) -> list[dict[str, str | None]]:
        """Peers reached recently and not failing, most recently seen first (``GET /api/v1/peers``)."""
        found = [p for p in await self.all() if p.last_contact and p.failures == 0]
        return [{"url": p.url, "node_id": p.node_id, "last_seen": p.last_contact}
                for p in found[:limit]]


def peer_state(peer: PeerRow, now: str | None = None) -> str:
    """A word for ``openmirror peers``: ok, backoff, failing, new."""
    if PeerBook.in_backoff(peer, now):
        return "backoff"
    if peer.failures:
        return "failing"
    return "ok" if peer.last_contact else "new"
