"""Storage of copies: holdings announcements, the contents they claim, audit results, and the
queries the planner and ``status`` need (live copies per content, own and held contents).

Plain Core statements on a connection the caller provides (a read snapshot, or the connection of
an index write transaction). Times are ISO 8601 UTC strings of one fixed width, compared as text.
No crypto and no policy: ``mirror.node`` verifies announcements and decides what copies mean.

A *live copy* of a content is a holder other than ``me`` whose announcement claims it, seen at or
after ``cutoff``, that is not *distrusted* (its latest audit of some content it still claims
failed) and whose latest audit of that very content did not fail. A pass on one content does not
wash a failure on another: a holder is trusted again once it passes the audits it failed, or stops
claiming what it could not prove.

A holder is *vetted* once it passed an audit of this node (and is not distrusted). Claims are
checked before they steer work: for copy planning (``target``, the K the network aims at) the
copies of unvetted holders count only up to K - 1, so reaching K takes vetted copies, and any
number of fresh keys claiming to hold everything cannot stop replication; and only vetted holders
are named as the other keepers of a held content (so they cannot make this node drop its copy).
Audits (``mirror.node.copies.audit``) vet holders, sampled even among contents not held here.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from itertools import islice
from typing import Any, Iterable

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer.bindings import fetchable, not_inline
from indexer.copies_models import Audit, Holding, HoldingPrefix
from indexer.models import table_of, Collection, Content, Document, DocumentContent
from indexer.node_models import DocVersion, HeldContent
from indexer.publication_models import UnpublishedBlock
from indexer import tallies
from indexer.tallies import CLAIM_BYTES, HOLDING_BYTES, PREFIX_CHARS

holdings = table_of(Holding)
prefixes = table_of(HoldingPrefix)
audits = table_of(Audit)
contents = table_of(Content)
documents = table_of(Document)
links = table_of(DocumentContent)
collections = table_of(Collection)
held = table_of(HeldContent)
unpublished = table_of(UnpublishedBlock)
versions = table_of(DocVersion)

_INSERT_CHUNK = 10_000
log = logging.getLogger(__name__)
_INSERT_PREFIX = "INSERT OR IGNORE INTO holding_prefixes (prefix, author) VALUES (?, ?)"


@dataclass(frozen=True)
class HoldingRow:
    """One verified announcement as stored (the caller parsed these fields from its bytes)."""

    author: str
    seq: int
    ts: str
    seen_at: str
    url: str
    budget: int
    used: int
    count: int
    set_hash: bytes
    set_data: bytes
    payload: bytes
    signature: bytes


@dataclass(slots=True)
class ContentState:
    """One content with live documents, as the planner and ``status`` see it.

    ``copies`` counts live copies on other nodes; ``held`` says the whole DAG is here; ``own``
    says a document using it was written by this node (mirrored or added here). ``holders`` names
    the live holders on other nodes, for held contents only (the planner needs them to decide
    which of the holders of an over-replicated content lets its copy go).
    """

    sha256: str
    cid: str
    size: int
    copies: int = 0
    held: bool = False
    own: bool = False
    collections: frozenset[str] = frozenset()
    licenses: frozenset[str] = frozenset()
    holders: tuple[str, ...] = ()

    @property
    def total_copies(self) -> int:
        """Live copies including this node's own copy."""
        return self.copies + (1 if self.held else 0)


# -- holdings ------------------------------------------------------------------------------------

async def get_holding(conn: AsyncConnection, author: str) -> HoldingRow | None:
    row = (await conn.execute(select(holdings).where(holdings.c.author == author))).first()
    return None if row is None else HoldingRow(**row._mapping)


async def known_seqs(conn: AsyncConnection, authors: Iterable[str]) -> dict[str, tuple[int, bytes]]:
    """author -> (seq, set_hash) of the stored announcements of AUTHORS."""
    wanted = sorted(set(authors))
    found: dict[str, tuple[int, bytes]] = {}
    for i in range(0, len(wanted), 500):
        rows = await conn.execute(select(holdings.c.author, holdings.c.seq, holdings.c.set_hash)
                                  .where(holdings.c.author.in_(wanted[i:i + 500])))
        found.update({a: (s, h) for a, s, h in rows})
    return found


async def set_data(conn: AsyncConnection, set_hash: bytes) -> bytes | None:
    """The stored held-set bytes whose sha256 is SET_HASH (any author's), or None."""
    return await conn.scalar(select(holdings.c.set_data).where(holdings.c.set_hash == set_hash)
                             .limit(1))


async def list_holdings(conn: AsyncConnection, *, after: str = "", limit: int = 100,
                        since: str = "") -> list[HoldingRow]:
    """Stored announcements by author after AFTER, seen at or after SINCE."""
    rows = await conn.execute(select(holdings).where(holdings.c.author > after,
                                                     holdings.c.seen_at >= since)
                              .order_by(holdings.c.author).limit(limit))
    return [HoldingRow(**r._mapping) for r in rows]


def holding_cost(row: HoldingRow) -> int:
    """Bytes ROW takes in the index: its payload, its held set and a row per content it claims."""
    return len(row.payload) + len(row.set_data) + row.count * CLAIM_BYTES


@dataclass(frozen=True)
class HoldingsQuota:
    """The room announcements may take (``node.holdings_quota`` bytes as ``holding_cost``
    counts them; 0: no limit), the live CUTOFF and the authors never evicted (KEEP: this node,
    its accepted authors; configured peers' keys are read from the peers table)."""

    quota: int
    cutoff: str
    keep: frozenset[str] = frozenset()


async def put_holding(conn: AsyncConnection, row: HoldingRow, held_prefixes: Iterable[str] | None,
                      room: HoldingsQuota | None = None) -> bool:
    """Store ROW unless an announcement with the same or a greater seq is stored, or ROOM has no
    room for it; True if stored.

    HELD_PREFIXES (16 hex chars each) replace the author's claimed contents; None keeps them
    (the held set did not change). With ROOM, storing may first evict others (``_make_room``).
    """
    stored = await conn.scalar(select(holdings.c.seq).where(holdings.c.author == row.author))
    if stored is not None and stored >= row.seq:
        return False
    if room is not None and room.quota > 0 and not await _make_room(conn, row, room):
        return False
    values = row.__dict__.copy()
    if stored is not None:
        values["seen_at"] = func.max(holdings.c.seen_at, row.seen_at)
    stmt = sqlite_insert(holdings).values(row.__dict__)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["author"], set_=values))
    if held_prefixes is not None:
        await conn.execute(delete(prefixes).where(prefixes.c.author == row.author))
        claims = iter(held_prefixes)                    # taken a chunk at a time: a million
        while chunk := [(p, row.author) for p in islice(claims, _INSERT_CHUNK)]:   # never all
            await conn.exec_driver_sql(_INSERT_PREFIX, chunk)   # plain executemany: ~5x the ORM
    return True


_RANKED = (f"SELECT h.author, {HOLDING_BYTES}, "
           f"CASE WHEN h.author IN ({tallies.DISTRUSTED}) THEN 0 WHEN h.seen_at < ? THEN 1 "
           "WHEN h.author IN (SELECT author FROM audits WHERE ok IS 1) THEN 3 ELSE 2 END AS rank, h.rowid "
           "FROM holdings h WHERE h.author NOT IN (SELECT value FROM json_each(?)) AND h.author NOT IN "
           f"(SELECT node_id FROM peers WHERE source = '{tallies.CONFIGURED}' AND node_id IS NOT NULL) "
           "ORDER BY rank, CASE WHEN rank = 1 THEN h.seen_at END, h.rowid DESC")
_CONFIGURED = f"SELECT EXISTS (SELECT 1 FROM peers WHERE source = '{tallies.CONFIGURED}' AND node_id = ?)"
_NEWCOMER, _KEPT = (2, None), (3, None)     # an unvetted author arriving last; one never evicted


async def _make_room(conn: AsyncConnection, row: HoldingRow, room: HoldingsQuota) -> bool:
    """Evict announcements until ROW fits in ROOM, or say it cannot (False, nothing evicted).

    Who goes first: holders distrusted by an audit, then silent ones (oldest seen first), then
    unvetted ones (the latest to arrive first), then vetted ones. An author may evict only those
    ranked below it: an unvetted newcomer evicts distrusted, silent and unvetted authors that
    arrived after it (none, when it is new), so a flood of fresh keys cannot push out the
    holders already known, and once the room is full of them it is refused until some go
    silent or fail their audits. Kept authors and configured peers' keys are never evicted."""
    cost = holding_cost(row)
    if cost > room.quota:
        return False
    stored = (await conn.exec_driver_sql(f"SELECT coalesce(sum({HOLDING_BYTES}), 0) FROM holdings h "
                                         "WHERE h.author != ?", (row.author,))).scalar() or 0
    need = int(stored) + cost - room.quota
    if need <= 0:
        return True
    rows: list[Any] = list((await conn.exec_driver_sql(_RANKED, (room.cutoff, json.dumps(sorted(room.keep))))).all())
    ranked = [(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]
    others = [r for r in ranked if r[0] != row.author]
    kept = row.author in room.keep or bool((await conn.exec_driver_sql(_CONFIGURED, (row.author,))).scalar())
    mine = _KEPT if kept else next(
        ((rank, rowid) for author, _size, rank, rowid in ranked if author == row.author), _NEWCOMER)
    victims, freed = [], 0
    for author, size, rank, rowid in others:
        if freed >= need or not _ranks_below(rank, rowid, mine):
            break
        victims.append(author)
        freed += size
    if freed < need:
        return False
    await conn.execute(delete(prefixes).where(prefixes.c.author.in_(victims)))
    await conn.execute(delete(holdings).where(holdings.c.author.in_(victims)))
    log.info("holdings quota: %d announcement(s) evicted to keep %s…", len(victims), row.author[:16])
    return True


def _ranks_below(rank: int, rowid: int, mine: tuple[int, int | None]) -> bool:
    """True when a stored announcement (RANK, ROWID) may be evicted for the author ranked MINE
    (its rank and rowid; no rowid: it is new, or kept)."""
    my_rank, my_rowid = mine
    if rank != my_rank:
        return rank < my_rank
    return rank == 2 and my_rowid is not None and rowid > my_rowid


async def mark_seen(conn: AsyncConnection, author: str, at: str) -> None:
    """Record that AUTHOR was alive at AT (never moves ``seen_at`` backwards)."""
    await conn.execute(update(holdings).where(holdings.c.author == author, holdings.c.seen_at < at)
                       .values(seen_at=at))


async def prune_holdings(conn: AsyncConnection, before: str) -> int:
    """Forget announcements of nodes not seen since BEFORE; returns how many."""
    gone = (await conn.execute(delete(holdings).where(holdings.c.seen_at < before)
                               .returning(holdings.c.author))).all()
    return len(gone)


async def holders_of(conn: AsyncConnection, sha256: str, *, cutoff: str, me: str = "") -> list[tuple[str, str]]:
    """(author, url) of the live, trusted holders of one content (see the module docstring)."""
    sha = sha256.lower()
    rows = await conn.execute(
        select(holdings.c.author, holdings.c.url)
        .join(prefixes, prefixes.c.author == holdings.c.author)
        .where(prefixes.c.prefix == sha[:PREFIX_CHARS], *_live(cutoff, me),
               ~_failed_for(holdings.c.author, sha))
        .order_by(holdings.c.seen_at.desc()))
    return [(a, u) for a, u in rows]


async def live_holders(conn: AsyncConnection, *, cutoff: str, me: str = "") -> list[tuple[str, str]]:
    """(author, url) of every live, trusted node other than ME, most recently seen first."""
    rows = await conn.execute(select(holdings.c.author, holdings.c.url).where(*_live(cutoff, me))
                              .order_by(holdings.c.seen_at.desc()))
    return [(a, u) for a, u in rows]


def _vetted() -> Any:
    """Authors whose latest audit of some content passed."""
    return select(audits.c.author).where(audits.c.ok.is_(True))


def _distrusted() -> Any:
    """Authors whose latest audit of some content they still claim failed."""
    return (select(audits.c.author)
            .join(prefixes, and_(prefixes.c.author == audits.c.author,
                                 prefixes.c.prefix == func.substr(audits.c.sha256, 1, PREFIX_CHARS)))
            .where(audits.c.ok.is_(False)))


def _live(cutoff: str, me: str) -> list[Any]:
    return [holdings.c.seen_at >= cutoff, holdings.c.author != me,
            holdings.c.author.not_in(_distrusted())]


def _failed_for(author: Any, sha256: Any) -> Any:
    return (select(audits.c.author)
            .where(audits.c.author == author, audits.c.sha256 == sha256, audits.c.ok.is_(False))
            .exists())


# -- contents as the planner sees them -----------------------------------------------------------

_PAGE = 2_000             # rows read per round trip while streaming contents
_NAMED_IN_SQL = 500       # values a statement names (more: a subquery, or every row is read)


async def content_states(conn: AsyncConnection, *, me: str, cutoff: str, copies: int | None = None,
                         target: int | None = None) -> list[ContentState]:
    """Every content of a live document, with its live copies elsewhere, and whether it is held
    here and own (see ``ContentState``).

    With COPIES (the planner's K) only the contents a replication plan can act on: not own, and
    held here or with fewer than COPIES live copies. The others (in a healthy network nearly all)
    are filtered in SQL and never become objects, so a round costs memory in proportion to what
    it may fetch or drop, not to the collection. Live copies are counted in SQL: every claim per
    prefix in one ordered scan, less the claims of holders that are not live (few). With TARGET
    (default: COPIES) unvetted holders count up to TARGET - 1 (see the module docstring). Inline
    contents (raw identity CIDs: nothing to fetch) are left out, and so are contents whose every
    claim proved false (nothing left to fetch: they must not take room in a plan)."""
    target = copies if target is None else target
    joined, claimed, vetted = await live_claims(conn, me=me, cutoff=cutoff, target=target)
    lost = await _lost_copies(conn, me, cutoff)
    held_ids = {i for (i,) in await conn.execute(select(held.c.content_id))}
    own_ids = await _own_content_ids(conn, me)
    query = (select(contents.c.id, contents.c.sha256, contents.c.cid, contents.c.size, claimed)
             .select_from(joined).where(*countable()))
    if copies is not None and len(lost) <= _NAMED_IN_SQL:  # else all rows, filtered below
        is_held = select(held.c.content_id).where(held.c.content_id == contents.c.id).exists()
        query = query.where(or_(is_held, claimed < copies, contents.c.sha256.in_(list(lost))))
    found: dict[int, ContentState] = {}
    result = await conn.stream(query.execution_options(yield_per=_PAGE))
    async for page in result.partitions(_PAGE):
        for content_id, sha256, cid, size, claims_live in page:
            live_copies = claims_live - lost.get(sha256, 0)
            here, own = content_id in held_ids, content_id in own_ids
            if copies is not None and (own or not (here or live_copies < copies)):
                continue
            found[content_id] = ContentState(sha256=sha256, cid=cid, size=size, copies=live_copies,
                                             held=here, own=own)
    await describe(conn, found)
    holders = await holders_of_held(conn, me, cutoff, vetted)
    for content_id, names in holders.items():
        if content_id in found:
            found[content_id].holders = tuple(sorted(names))
    return list(found.values())


async def live_claims(conn: AsyncConnection, *, me: str, cutoff: str,
                      target: int | None) -> tuple[Any, Any, set[str]]:
    """(contents joined to the claims counts, the SQL count of live claims per content, the
    vetted authors): every claim per prefix in one ordered scan, less the claims of holders that
    are not live (few); with TARGET, unvetted claims count up to TARGET - 1. Failed audits are
    not taken off (``_lost_copies``, ``lost_claims``)."""
    live = set(a for (a,) in await conn.execute(select(holdings.c.author).where(*_live(cutoff, me))))
    others = [a for (a,) in await conn.execute(select(holdings.c.author)) if a not in live]
    vetted = {a for (a,) in await conn.execute(_vetted().distinct())}
    fresh = [a for a in live if a not in vetted] if target is not None else []
    prefix = func.substr(contents.c.sha256, 1, PREFIX_CHARS)
    claims = _claims(prefixes.c.prefix, "claims")
    joined = contents.outerjoin(claims, claims.c.prefix == prefix)
    claimed: Any = func.coalesce(claims.c.n, 0)
    if others:
        not_live = (prefixes.c.author.in_(others) if len(others) <= _NAMED_IN_SQL else
                    prefixes.c.author.not_in(select(holdings.c.author).where(*_live(cutoff, me))))
        dead = _claims(prefixes.c.prefix, "dead", not_live)
        joined = joined.outerjoin(dead, dead.c.prefix == prefix)
        claimed = claimed - func.coalesce(dead.c.n, 0)
    if fresh and target is not None:
        unvetted = (prefixes.c.author.in_(fresh) if len(fresh) <= _NAMED_IN_SQL else
                    and_(prefixes.c.author.in_(select(holdings.c.author).where(*_live(cutoff, me))),
                         prefixes.c.author.not_in(_vetted())))
        new = _claims(prefixes.c.prefix, "unvetted", unvetted)
        joined = joined.outerjoin(new, new.c.prefix == prefix)
        claimed = func.min(claimed, func.max(claimed - func.coalesce(new.c.n, 0), target - 1))
    return joined, claimed, vetted


def countable() -> list[Any]:
    """SQL: the contents copies are counted for: used by a live document, not inline (raw
    identity CIDs: nothing to fetch), and not every claim of them proved false."""
    in_use = text(f"{contents.name}.id IN ({tallies.USED_IDS})")     # a set built once per statement
    return [in_use, not_inline(contents.c.cid), fetchable(contents)]


def lost_claims(me: str, cutoff: str) -> Any:
    """SQL subquery (sha256, n): claims of live holders whose latest audit of that content failed
    (as ``_lost_copies``, for a join)."""
    return (select(audits.c.sha256, func.count().label("n"))
            .join(holdings, holdings.c.author == audits.c.author)
            .join(prefixes, and_(prefixes.c.author == audits.c.author,
                                 prefixes.c.prefix == func.substr(audits.c.sha256, 1, PREFIX_CHARS)))
            .where(audits.c.ok.is_(False), *_live(cutoff, me))
            .group_by(audits.c.sha256).subquery("lost"))


def own_content(me: str) -> Any:
    """SQL: the content (a row of ``contents``) is used by a document whose winning version ME
    wrote (as ``_own_content_ids``, for a WHERE)."""
    return (select(links.c.content_id)
            .join(documents, documents.c.id == links.c.document_id)
            .join(collections, collections.c.id == documents.c.collection_id)
            .join(versions, and_(versions.c.collection == collections.c.name,
                                 versions.c.source_id == documents.c.source_id))
            .where(versions.c.author == me, links.c.content_id == contents.c.id)
            .exists())


def _claims(prefix: Any, name: str, *where: Any) -> Any:
    """Claims per prefix (among those WHERE selects), as a named subquery to join contents to."""
    return select(prefix, func.count().label("n")).where(*where).group_by(prefix).cte(name)


async def _lost_copies(conn: AsyncConnection, me: str, cutoff: str) -> Counter[str]:
    """sha256 -> claims of live holders whose latest audit of that content failed (not copies)."""
    failed = await conn.execute(
        select(audits.c.sha256)
        .join(holdings, holdings.c.author == audits.c.author)
        .join(prefixes, and_(prefixes.c.author == audits.c.author,
                             prefixes.c.prefix == func.substr(audits.c.sha256, 1, PREFIX_CHARS)))
        .where(audits.c.ok.is_(False), *_live(cutoff, me)))
    return Counter(sha for (sha,) in failed)


async def holders_of_held(conn: AsyncConnection, me: str, cutoff: str,
                           vetted: set[str]) -> dict[int, list[str]]:
    """content id -> live holders on other nodes among VETTED, for the contents held here."""
    rows = await conn.execute(
        select(contents.c.id, holdings.c.author)
        .select_from(held.join(contents, contents.c.id == held.c.content_id))
        .join(prefixes, prefixes.c.prefix == func.substr(contents.c.sha256, 1, PREFIX_CHARS))
        .join(holdings, holdings.c.author == prefixes.c.author)
        .where(*_live(cutoff, me), ~_failed_for(holdings.c.author, contents.c.sha256)))
    found: dict[int, list[str]] = {}
    for content_id, author in rows:
        if author in vetted:
            found.setdefault(content_id, []).append(author)
    return found


async def describe(conn: AsyncConnection, states: dict[int, ContentState]) -> None:
    """Set the collections and licences of STATES (by content id) from their live documents; equal
    sets are shared (most contents of a collection have the same)."""
    if not states:
        return
    query = (select(links.c.content_id, collections.c.name, documents.c.license)
             .join(documents, documents.c.id == links.c.document_id)
             .join(collections, collections.c.id == documents.c.collection_id)
             .where(documents.c.deleted.is_(False)))
    ids = list(states)
    if len(ids) <= _PAGE * 4:                  # a few: look them up; many: one scan of all links
        pages = [await conn.execute(query.where(links.c.content_id.in_(ids[i:i + _PAGE])))
                 for i in range(0, len(ids), _PAGE)]
    else:
        pages = [await conn.execute(query)]
    found: dict[int, Any] = {}                 # content id -> (collection, licence), or [two sets]
    for rows in pages:
        for content_id, collection, license_ in rows.all():
            if content_id not in states:
                continue
            seen = found.get(content_id)
            if seen is None:
                found[content_id] = (collection, license_)
                continue
            if isinstance(seen, tuple):
                seen = found[content_id] = [{seen[0]}, {seen[1]} - {None}]
            seen[0].add(collection)
            if license_:
                seen[1].add(license_)
    single: dict[tuple[str, str | None], tuple[frozenset[str], frozenset[str]]] = {}
    shared: dict[frozenset[str], frozenset[str]] = {}
    for content_id, seen in found.items():
        state = states[content_id]
        if isinstance(seen, tuple):            # one live document: the usual case
            if seen not in single:
                single[seen] = (frozenset((seen[0],)), frozenset((seen[1],) if seen[1] else ()))
            state.collections, state.licenses = single[seen]
        else:
            names, licences = frozenset(seen[0]), frozenset(seen[1])
            state.collections = shared.setdefault(names, names)
            state.licenses = shared.setdefault(licences, licences)


async def _own_content_ids(conn: AsyncConnection, me: str) -> set[int]:
    """Contents of documents whose winning version this node wrote."""
    rows = await conn.execute(
        select(links.c.content_id)
        .join(documents, documents.c.id == links.c.document_id)
        .join(collections, collections.c.id == documents.c.collection_id)
        .join(versions, and_(versions.c.collection == collections.c.name,
                             versions.c.source_id == documents.c.source_id))
        .where(versions.c.author == me))
    return {i for (i,) in rows}


async def held_sha256s(conn: AsyncConnection) -> list[str]:
    """The sha256 of every content marked fully held here."""
    return [s for s, _cid in await held_contents(conn)]


async def held_mark(conn: AsyncConnection) -> tuple[int, int]:
    """A cheap mark of the held contents (how many, the sum of their ids): it moves when a content
    is marked held or unmarked, whichever process did it."""
    count, total = (await conn.execute(select(func.count(), func.coalesce(func.sum(held.c.content_id), 0)))).one()
    return int(count), int(total)


async def held_sha256s_after(conn: AsyncConnection, after: str, limit: int) -> list[str]:
    """Up to LIMIT sha256s of contents held here above AFTER, in increasing order, leaving out
    the unpublished ones (private: never announced, ``mirror.publication``)."""
    rows = await conn.execute(select(contents.c.sha256)
                              .join(held, held.c.content_id == contents.c.id)
                              .where(contents.c.sha256 > after,
                                     contents.c.cid.not_in(select(unpublished.c.root)))
                              .order_by(contents.c.sha256).limit(limit))
    return [s for (s,) in rows]


async def held_contents_after(conn: AsyncConnection, after: str, limit: int) -> list[tuple[str, str]]:
    """Up to LIMIT (sha256, cid) of contents held here with a sha256 above AFTER, in order."""
    rows = await conn.execute(select(contents.c.sha256, contents.c.cid)
                              .join(held, held.c.content_id == contents.c.id)
                              .where(contents.c.sha256 > after)
                              .order_by(contents.c.sha256).limit(limit))
    return [(s, c) for s, c in rows]


async def held_contents(conn: AsyncConnection) -> list[tuple[str, str]]:
    """(sha256, cid) of every content marked fully held here."""
    rows = await conn.execute(select(contents.c.sha256, contents.c.cid)
                              .join(held, held.c.content_id == contents.c.id))
    return [(s, c) for s, c in rows]
