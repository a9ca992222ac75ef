"""What the index keeps per author: the bytes of its signed entries, as received (payload and
signature), the measure of the metadata quota (``mirror.node.sync.quota``).

Plain Core statements on a connection the caller provides. Only the feeds asked about are read,
through the ``(feed_id, seq)`` index, so the cost follows the entries of those authors.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer.node_models import Feed, FeedEntry, Peer

feeds = Feed.__table__
entries = FeedEntry.__table__
peers = Peer.__table__

ENTRY_BYTES = func.length(entries.c.payload) + func.length(entries.c.signature)


async def bytes_by_author(conn: AsyncConnection, *, excluding: Iterable[str] = ()) -> dict[str, int]:
    """author -> bytes of its stored entries, for every feed whose author is not in EXCLUDING."""
    skip = sorted(set(excluding))
    query = (select(feeds.c.author, func.coalesce(func.sum(ENTRY_BYTES), 0))
             .select_from(feeds.outerjoin(entries, entries.c.feed_id == feeds.c.id))
             .group_by(feeds.c.id))
    if skip:
        query = query.where(feeds.c.author.not_in(skip))
    return {author: int(size) for author, size in await conn.execute(query)}


async def configured_authors(conn: AsyncConnection, source: str) -> set[str]:
    """The node ids of the peers added with SOURCE ("configured": by the operator)."""
    rows = await conn.execute(select(peers.c.node_id)
                              .where(peers.c.source == source, peers.c.node_id.is_not(None)))
    return {node_id for (node_id,) in rows}
