"""Storage of feeds: heads (cursors), entries as received, fork evidence, document versions and
held contents. Plain Core statements on a connection the caller provides (a read snapshot, or the
connection of an index write transaction so these rows commit with the documents).

No crypto and no policy here: ``mirror.node`` verifies entries before they reach ``add_entries``
and decides what they mean.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer.models import table_of, Content, Document, DocumentContent
from indexer.node_models import BlockedAuthor, DocVersion, Feed, FeedEntry, FeedFork, HeldContent
from indexer.write import in_json

feeds = table_of(Feed)
entries = table_of(FeedEntry)
forks = table_of(FeedFork)
versions = table_of(DocVersion)
held = table_of(HeldContent)
blocked = table_of(BlockedAuthor)
contents = table_of(Content)
documents = table_of(Document)
links = table_of(DocumentContent)


def target_of(collection: str, source_id: str) -> int:
    """The 63-bit lookup hash of a document key (collisions are possible: compare the key too)."""
    digest = hashlib.sha256(f"{collection}\x00{source_id}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True)
class Head:
    """Where one author's feed stands here: seq 0 and head None before any entry."""

    author: str
    seq: int
    head: bytes | None
    ts: str | None
    fork_seq: int | None = None
    feed_id: int | None = None


class EntryRow(NamedTuple):
    """One verified entry ready to store (the caller parsed these fields from the bytes); a tuple in
    the column order of ``_INSERT_ENTRY``, so a batch goes to SQLite without a copy per field."""

    seq: int
    hash: bytes
    prev: bytes | None
    kind: str
    ts: str
    target: int | None
    payload: bytes
    signature: bytes


class Version(NamedTuple):
    """The entry that wins the merge for (collection, source_id) (a tuple in ``_PUT_VERSION`` order)."""

    collection: str
    source_id: str
    ts: str
    author: str
    seq: int
    hash: bytes
    kind: str

    @property
    def order_key(self) -> tuple[str, str, int, bytes]:
        return (self.ts, self.author, self.seq, self.hash)


@dataclass(frozen=True)
class ForkRow:
    author: str
    seq: int
    a: tuple[bytes, bytes]
    b: tuple[bytes, bytes]
    found_at: str


# -- heads ---------------------------------------------------------------------------------------

def _head(row: Any) -> Head:
    return Head(row.author, row.seq, row.head, row.ts, row.fork_seq, row.id)


async def get_head(conn: AsyncConnection, author: str) -> Head:
    """The head of AUTHOR's feed (seq 0 when this node holds none of it)."""
    row = (await conn.execute(select(feeds).where(feeds.c.author == author))).first()
    return _head(row) if row else Head(author, 0, None, None)


async def list_heads(conn: AsyncConnection, *, after: str = "", limit: int = 1000,
                     include_blocked: bool = False, include_empty: bool = False) -> list[Head]:
    """Feeds by author after AFTER: those holding entries and not blocked, unless told otherwise."""
    query = select(feeds).where(feeds.c.author > after)
    if not include_empty:
        query = query.where(feeds.c.seq > 0)
    if not include_blocked:
        query = query.where(feeds.c.author.not_in(select(blocked.c.author)))
    rows = await conn.execute(query.order_by(feeds.c.author).limit(limit))
    return [_head(row) for row in rows]


async def _feed_id(conn: AsyncConnection, author: str, now: str) -> int:
    found = await conn.scalar(select(feeds.c.id).where(feeds.c.author == author))
    if found is not None:
        return found
    return await conn.scalar(insert(feeds).values(author=author, seq=0, updated_at=now)
                             .returning(feeds.c.id))


# -- entries -------------------------------------------------------------------------------------

_INSERT_ENTRY = ("INSERT INTO feed_entries (feed_id, seq, hash, prev, kind, ts, target, payload, "
                 "signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_PUT_VERSION = ("INSERT INTO doc_versions (collection, source_id, ts, author, seq, hash, kind) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (collection, source_id) DO UPDATE SET "
                "ts = excluded.ts, author = excluded.author, seq = excluded.seq, "
                "hash = excluded.hash, kind = excluded.kind")


async def add_entries(conn: AsyncConnection, author: str, rows: list[EntryRow], now: str) -> None:
    """Store ROWS (consecutive, continuing the feed) and move AUTHOR's head to the last one.

    One plain executemany of tuples: per-row parameter processing would cost more than SQLite
    on the bulk path (a fresh node stores every entry of the network here)."""
    if not rows:
        return
    feed_id = await _feed_id(conn, author, now)
    await conn.exec_driver_sql(_INSERT_ENTRY, [(feed_id, *row) for row in rows])
    last = rows[-1]
    await conn.execute(update(feeds).where(feeds.c.id == feed_id)
                       .values(seq=last.seq, head=last.hash, ts=last.ts, updated_at=now))


async def read_entries(conn: AsyncConnection, author: str, after: int, limit: int,
                       max_bytes: int | None = None) -> list[tuple[bytes, bytes]]:
    """(payload, signature) of AUTHOR's entries with seq AFTER+1 … in order, at most LIMIT, and
    (with MAX_BYTES) no more payload bytes than that (the first entry always comes)."""
    feed_id = await conn.scalar(select(feeds.c.id).where(feeds.c.author == author))
    if feed_id is None:
        return []
    last = after + limit
    if max_bytes is not None:
        sizes = await conn.execute(
            select(entries.c.seq, func.length(entries.c.payload))
            .where(entries.c.feed_id == feed_id, entries.c.seq > after)
            .order_by(entries.c.seq).limit(limit))
        total, last = 0, after
        for seq, size in sizes:
            total += size
            if total > max_bytes and last > after:
                break
            last = seq
    rows = await conn.execute(
        select(entries.c.payload, entries.c.signature)
        .where(entries.c.feed_id == feed_id, entries.c.seq > after, entries.c.seq <= last)
        .order_by(entries.c.seq))
    return [(bytes(p), bytes(s)) for p, s in rows]


async def entries_about(conn: AsyncConnection, targets: Iterable[int]) -> list[tuple[bytes, bytes]]:
    """(payload, signature) of every stored entry whose target hash is in TARGETS."""
    wanted = sorted(set(targets))
    if not wanted:
        return []
    rows = await conn.execute(select(entries.c.payload, entries.c.signature)
                              .where(in_json(entries.c.target, wanted)))
    return [(bytes(p), bytes(s)) for p, s in rows]


async def author_targets(conn: AsyncConnection, author: str, from_seq: int = 1) -> set[int]:
    """Target hashes of AUTHOR's put and retract entries with seq >= FROM_SEQ."""
    rows = await conn.scalars(
        select(entries.c.target).distinct()
        .join_from(entries, feeds, entries.c.feed_id == feeds.c.id)
        .where(feeds.c.author == author, entries.c.seq >= from_seq, entries.c.target.is_not(None)))
    return set(rows)


# -- forks ---------------------------------------------------------------------------------------

async def add_fork(conn: AsyncConnection, fork: ForkRow) -> bool:
    """Record fork evidence and lower the author's fork seq; False when already known."""
    result = await conn.execute(
        sqlite_insert(forks).values(author=fork.author, seq=fork.seq, payload_a=fork.a[0],
                                    signature_a=fork.a[1], payload_b=fork.b[0],
                                    signature_b=fork.b[1], found_at=fork.found_at)
        .on_conflict_do_nothing(index_elements=["author", "seq"]))
    feed_id = await _feed_id(conn, fork.author, fork.found_at)
    await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(
        fork_seq=func.min(func.coalesce(feeds.c.fork_seq, fork.seq), fork.seq)))
    return bool(result.rowcount)


async def list_forks(conn: AsyncConnection, *, author: str | None = None,
                     limit: int = 100) -> list[ForkRow]:
    query = select(forks).order_by(forks.c.author, forks.c.seq).limit(limit)
    if author is not None:
        query = query.where(forks.c.author == author)
    return [ForkRow(r.author, r.seq, (bytes(r.payload_a), bytes(r.signature_a)),
                    (bytes(r.payload_b), bytes(r.signature_b)), r.found_at)
            for r in await conn.execute(query)]


# -- versions ------------------------------------------------------------------------------------

async def get_versions(conn: AsyncConnection,
                       keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Version]:
    """The stored winner of each key that has one (one indexed lookup per collection)."""
    found: dict[tuple[str, str], Version] = {}
    for collection, source_ids in _by_collection(keys).items():
        rows = await conn.execute(select(versions).where(
            versions.c.collection == collection, in_json(versions.c.source_id, source_ids)))
        for r in rows:
            found[(r.collection, r.source_id)] = Version(r.collection, r.source_id, r.ts, r.author,
                                                         r.seq, bytes(r.hash), r.kind)
    return found


async def put_versions(conn: AsyncConnection, rows: list[Version]) -> None:
    """Insert or replace the winners of these keys."""
    if rows:
        await conn.exec_driver_sql(_PUT_VERSION, list(rows))


async def delete_versions(conn: AsyncConnection, keys: Iterable[tuple[str, str]]) -> None:
    for collection, source_ids in _by_collection(keys).items():
        await conn.execute(delete(versions).where(
            versions.c.collection == collection, in_json(versions.c.source_id, source_ids)))


def _by_collection(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Keys grouped by collection, so each lookup uses the (collection, source_id) index (a
    row-value IN list made SQLite scan the whole table: slower with every document held)."""
    grouped: dict[str, set[str]] = {}
    for collection, source_id in keys:
        grouped.setdefault(collection, set()).add(source_id)
    return {collection: sorted(ids) for collection, ids in grouped.items()}


async def keys_won_by(conn: AsyncConnection, author: str) -> list[tuple[str, str]]:
    """Document keys whose current winner is one of AUTHOR's entries."""
    rows = await conn.execute(select(versions.c.collection, versions.c.source_id)
                              .where(versions.c.author == author))
    return [(c, s) for c, s in rows]


# -- held contents -------------------------------------------------------------------------------

async def content_ids(conn: AsyncConnection, sha256s: Iterable[str]) -> dict[str, int]:
    """sha256 -> content id, for the contents the index knows."""
    wanted = sorted({s.lower() for s in sha256s})
    if not wanted:
        return {}
    rows = await conn.execute(select(contents.c.sha256, contents.c.id)
                              .where(in_json(contents.c.sha256, wanted)))
    return {sha: id_ for sha, id_ in rows}


async def set_held(conn: AsyncConnection, held_ids: Iterable[int], missing_ids: Iterable[int],
                   now: str) -> None:
    """Mark contents as fully held here (HELD_IDS) or not (MISSING_IDS)."""
    have = sorted(set(held_ids))
    if have:
        await conn.execute(sqlite_insert(held).on_conflict_do_update(
            index_elements=["content_id"], set_={"checked_at": now}),
            [{"content_id": i, "checked_at": now} for i in have])
    gone = sorted(set(missing_ids))
    if gone:
        await conn.execute(delete(held).where(in_json(held.c.content_id, gone)))


async def unchecked_contents(conn: AsyncConnection, after_id: int, limit: int) -> list[tuple[int, str, str]]:
    """(id, sha256, cid) of contents bound to a verified CID and not marked held, by id after
    AFTER_ID."""
    rows = await conn.execute(
        select(contents.c.id, contents.c.sha256, contents.c.cid)
        .where(contents.c.id > after_id, contents.c.verified_at.is_not(None),
               contents.c.id.not_in(select(held.c.content_id)))
        .order_by(contents.c.id).limit(limit))
    return [(i, s, c) for i, s, c in rows]
