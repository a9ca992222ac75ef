"""Storage of the node's peers and blocked authors (plain Core statements on a caller's connection).

The rules (backoff, bounds, which URL is acceptable) live in ``mirror.node.sync.peers``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer.models import table_of
from indexer.node_models import BlockedAuthor, Peer

from indexer.tallies import CONFIGURED, LEARNED

peers = table_of(Peer)
blocked = table_of(BlockedAuthor)


@dataclass
class PeerRow:
    url: str
    node_id: str | None
    source: str
    added_at: str
    last_contact: str | None
    last_error: str | None
    failures: int
    backoff_until: str | None
    lag: int | None
    learned_from: str | None = None     # who announced a learned peer (a peer URL, a notifier)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def list_peers(conn: AsyncConnection, *, limit: int | None = None) -> list[PeerRow]:
    """Peers, most recently contacted first (never contacted last)."""
    query = select(peers).order_by(peers.c.last_contact.is_(None), peers.c.last_contact.desc(),
                                   peers.c.url)
    if limit is not None:
        query = query.limit(limit)
    return [PeerRow(**row._asdict()) for row in await conn.execute(query)]


async def get_peer(conn: AsyncConnection, url: str) -> PeerRow | None:
    row = (await conn.execute(select(peers).where(peers.c.url == url))).first()
    return PeerRow(**row._asdict()) if row else None


async def add_peer(conn: AsyncConnection, url: str, source: str, now: str,
                   learned_from: str | None = None) -> bool:
    """Add a peer; an existing one is kept (a learned one becomes configured). True when new."""
    stmt = sqlite_insert(peers).values(url=url, source=source, added_at=now, failures=0,
                                       learned_from=learned_from if source == LEARNED else None)
    if source == CONFIGURED:
        stmt = stmt.on_conflict_do_update(index_elements=["url"],
                                          set_={"source": CONFIGURED, "learned_from": None})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["url"])
    before = await conn.scalar(select(func.count()).where(peers.c.url == url))
    await conn.execute(stmt)
    return not before


async def add_learned(conn: AsyncConnection, urls: list[str], now: str, learned_from: str) -> list[str]:
    """Add those of URLS not yet known as peers LEARNED_FROM announced; returns them (in the
    order given). A few statements whatever the number of URLs."""
    known = await kept_among(conn, urls)
    fresh = [url for url in dict.fromkeys(urls) if url not in known]
    if fresh:
        await conn.execute(sqlite_insert(peers).on_conflict_do_nothing(index_elements=["url"]),
                           [{"url": url, "source": LEARNED, "added_at": now, "failures": 0,
                             "learned_from": learned_from} for url in fresh])
    return fresh


async def kept_among(conn: AsyncConnection, urls: list[str]) -> set[str]:
    """Those of URLS that are peers."""
    kept: set[str] = set()
    for lo in range(0, len(urls), 400):
        kept.update(await conn.scalars(select(peers.c.url).where(peers.c.url.in_(urls[lo:lo + 400]))))
    return kept


async def update_peer(conn: AsyncConnection, url: str, **values: Any) -> None:
    """Set columns of one peer (node_id, last_contact, last_error, failures, backoff_until, lag)."""
    await conn.execute(update(peers).where(peers.c.url == url).values(**values))


async def remove_peer(conn: AsyncConnection, url: str) -> bool:
    result = await conn.execute(delete(peers).where(peers.c.url == url))
    return bool(result.rowcount)


async def prune_learned(conn: AsyncConnection, keep: int, *, learned_from: str | None = None) -> int:
    """Drop learned peers beyond KEEP (of those LEARNED_FROM announced, if given): the most
    failing, then the least recently seen, then the oldest never seen go first."""
    query = select(peers.c.url).where(peers.c.source == LEARNED)
    if learned_from is not None:
        query = query.where(peers.c.learned_from == learned_from)
    ordered = await conn.scalars(query.order_by(
        peers.c.failures, peers.c.last_contact.is_(None), peers.c.last_contact.desc(),
        peers.c.added_at.desc(), peers.c.url))
    drop = list(ordered)[keep:]
    for lo in range(0, len(drop), 400):
        await conn.execute(delete(peers).where(peers.c.url.in_(drop[lo:lo + 400])))
    return len(drop)


# -- blocked authors -----------------------------------------------------------------------------

async def list_blocked(conn: AsyncConnection) -> list[str]:
    return list(await conn.scalars(select(blocked.c.author).order_by(blocked.c.author)))


async def block_author(conn: AsyncConnection, author: str, now: str) -> bool:
    result = await conn.execute(sqlite_insert(blocked).values(author=author, blocked_at=now)
                                .on_conflict_do_nothing(index_elements=["author"]))
    return bool(result.rowcount)


async def unblock_author(conn: AsyncConnection, author: str) -> bool:
    result = await conn.execute(delete(blocked).where(blocked.c.author == author))
    return bool(result.rowcount)


async def is_blocked(conn: AsyncConnection, author: str) -> bool:
    return bool(await conn.scalar(select(func.count()).where(blocked.c.author == author)))
