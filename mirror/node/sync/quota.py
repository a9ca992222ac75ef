"""The index quota: how much metadata a node keeps for authors it has not chosen.

Any key may sign entries, and an accepting node stores every valid one it is offered: without a
bound, one author (or many fresh keys) could fill the index and the disk under it. So entries are
counted as they are stored, in bytes as received (payload and signature, ``indexer.quota``), and
the authors the node has not *chosen* are held to two settings:

* ``node.author_quota``: the bytes one such author may have stored here;
* ``node.index_quota``: the bytes all of them together may have stored here.

*Chosen* authors are never cut: the node's own key, the keys in ``node.accept_authors``, and the
keys of the peers the operator configured (``--peer``, ``join URL``, ``node.peers``: the origin a
volunteer joins), including while the first sync with such a peer learns its key. A page that
would pass a quota is cut at the last entry that fits (a feed is a chain, so the prefix kept is
whole and verifiable), and the author is not pulled again while it is over; ``status`` lists the
authors stopped and why (``fields``). 0 turns a quota off.

Counts are kept in memory, read from the index at first use and again every ``REFRESH`` seconds
(another process may have written), and updated as runs are stored; room is taken before a page
is applied and given back for entries it did not store, so concurrent pulls cannot pass a quota.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from indexer import tallies
from indexer.tallies import CONFIGURED
from mirror.settings import Settings

if TYPE_CHECKING:
    from indexer.index import Index
    from indexer.read import Query
    from mirror.feed.entry import Entry

REFRESH = 60.0            # seconds before the counts are read from the index again
LISTED = 20               # stopped authors named in status


def entry_bytes(entry: Entry) -> int:
    """What one entry costs the index: its bytes as received."""
    return len(entry.payload) + len(entry.signature)


@dataclass
class Room:
    """The bytes one pull of an author not chosen may still store (taken from the quotas)."""

    author: str
    quota: "IndexQuota"

    def fit(self, entries: list[Entry]) -> list[Entry]:
        """The longest prefix of ENTRIES that fits, its bytes taken from the quotas (give back
        what is not stored: every ``fit`` is settled by one ``give_back``)."""
        return self.quota.take(self.author, entries)

    @property
    def full(self) -> bool:
        """Nothing more of this author fits (it is then listed as stopped)."""
        left, binding = self.quota._left(self.author)
        if left > 0:
            return False
        self.quota._stopped[self.author] = binding
        return True

    def give_back(self, entries: list[Entry]) -> None:
        """ENTRIES were taken but not stored."""
        self.quota.release(self.author, sum(entry_bytes(e) for e in entries))


class IndexQuota:
    """The quotas of the node ME (see the module docstring)."""

    def __init__(self, index: Index, settings: Settings, me: str) -> None:
        self.index, self.settings, self.me = index, settings, me
        self._bytes: dict[str, int] = {}        # author not chosen -> bytes stored
        self._total = 0
        self._read_at: float | None = None
        self._taken = 0                          # pulls holding room they have not settled
        self._stopped: dict[str, str] = {}       # author -> why it is no longer pulled
        self._origins: set[str] = set()          # configured peers' keys seen while syncing

    @property
    def per_author(self) -> int:
        return int(self.settings.node.author_quota)

    @property
    def total(self) -> int:
        return int(self.settings.node.index_quota)

    async def room(self, author: str, via_url: str | None = None,
                   via_node: str | None = None) -> Room | None:
        """None when AUTHOR is chosen (no bound); else its Room (``full`` when nothing fits).
        VIA_URL/VIA_NODE name the peer pulled from: a configured peer's own feed is chosen."""
        if author in await self._chosen():
            return None
        if via_url is not None and via_node == author:
            from indexer import peers as peer_rows          # a running node's: loaded already

            async with self.index.read() as conn:
                peer = await peer_rows.get_peer(conn, via_url)
            if peer is not None and peer.source == CONFIGURED:
                self._origins.add(author)            # before the peers table knows its key
                self._total -= self._bytes.pop(author, 0)
                self._stopped.pop(author, None)
                return None
        await self._read_if_stale()
        return Room(author, self)

    def is_stopped(self, author: str) -> bool:
        """True when AUTHOR is no longer pulled for want of room (as last counted)."""
        return author in self._stopped

    def take(self, author: str, entries: list[Entry]) -> list[Entry]:
        left, fits, size = self._left(author)[0], 0, 0
        for entry in entries:
            cost = entry_bytes(entry)
            if size + cost > left:
                break
            fits, size = fits + 1, size + cost
        if fits < len(entries):                  # the next entry does not fit: stop here
            self._stopped[author] = self._left(author)[1]
        self._add(author, size)
        self._taken += 1
        return entries[:fits]

    def release(self, author: str, size: int) -> None:
        self._add(author, -size)
        self._taken = max(0, self._taken - 1)

    def _left(self, author: str) -> tuple[float, str]:
        """(bytes AUTHOR may still store, the quota that binds)."""
        mine = self.per_author - self._bytes.get(author, 0) if self.per_author > 0 else float("inf")
        everyone = self.total - self._total if self.total > 0 else float("inf")
        return (mine, "author_quota") if mine <= everyone else (everyone, "index_quota")

    def _add(self, author: str, size: int) -> None:
        self._bytes[author] = self._bytes.get(author, 0) + size
        self._total += size

    async def _chosen(self) -> set[str]:
        configured = await self.index.read_query(tallies.configured_authors)
        return {self.me, *self.settings.node.accept_authors, *configured, *self._origins}

    async def _read_if_stale(self) -> None:
        now = time.monotonic()
        if self._taken or (self._read_at is not None and now - self._read_at < REFRESH):
            return
        await self.read()

    async def read(self) -> None:
        """Count the stored entries of every author not chosen, from the index."""
        chosen = await self._chosen()
        self._bytes = await self.index.read_query(lambda query: tallies.bytes_by_author(query, excluding=chosen))
        self._total = sum(self._bytes.values())
        self._read_at = time.monotonic()
        for author in list(self._stopped):
            if author in chosen or self._left(author)[0] > 0:
                del self._stopped[author]
        for author, size in self._bytes.items():
            if self.per_author > 0 and size >= self.per_author:
                self._stopped.setdefault(author, "author_quota")

    async def fields(self) -> dict[str, Any]:
        """The ``index_quota`` object of ``status`` (counts read again when stale)."""
        await self._read_if_stale()
        return quota_fields(self.settings, self._bytes, self._stopped)


def quota_fields(settings: Settings, stored: dict[str, int], stopped: dict[str, str]) -> dict[str, Any]:
    """The ``index_quota`` object of ``status``: STORED (bytes per author not chosen) and STOPPED
    (author -> the quota that stopped it) under the quotas of SETTINGS."""
    per_author, total = int(settings.node.author_quota), int(settings.node.index_quota)
    others = sum(stored.values())
    ranked = sorted(stopped.items(), key=lambda kv: -stored.get(kv[0], 0))
    return {"author_quota": per_author, "index_quota": total, "others_bytes": others,
            "full": total > 0 and (others >= total or "index_quota" in stopped.values()),
            "stopped": len(ranked),
            "stopped_authors": [{"author": a, "bytes": stored.get(a, 0), "reason": r}
                                for a, r in ranked[:LISTED]]}


def read_quota(query: Query, settings: Settings, me: str) -> dict[str, Any]:
    """``quota_fields`` as a node reading its counts afresh finds them (``IndexQuota.read``),
    through QUERY: what ``openmirror status`` shows whether or not the node runs."""
    chosen = {me, *settings.node.accept_authors, *tallies.configured_authors(query)}
    stored = tallies.bytes_by_author(query, excluding=chosen)
    per_author = int(settings.node.author_quota)
    return quota_fields(settings, stored, {a: "author_quota" for a, n in stored.items()
                                           if per_author > 0 and n >= per_author})
