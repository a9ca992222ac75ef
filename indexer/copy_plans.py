"""What a replication round and ``status`` read about copies, in memory bounded by what they do.

    wanted = await wanted_states(conn, me=me, cutoff=cutoff, copies=3, limit=512)
    used, own = await on_query(conn, partial(tallies.held_bytes, me=me))   # SQL sums (indexer.tallies)

``indexer.copies.content_states`` builds one ``ContentState`` per content; a node holding a million
contents cannot afford that every round or every status call. Here the contents a round may fetch
(not held, not own, fewer than K live copies, passing the filters) come from one SQL query, scarcest
first and bounded; held contents become objects only when a round must drop some (``held_states``);
and status figures are SQL aggregates (``indexer.tallies``). Live copies are counted as ``content_states`` counts them
(``indexer.copies.live_claims`` less ``lost_claims``).

Held sizes are ``held_contents.bytes``: measured from the blocks on disk by the caller
(``indexer.tallies.unmeasured_held``, ``set_held_bytes``), never taken from an entry.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer.copies import (ContentState, audits, collections, contents, countable, describe,
                            documents, held, holders_of_held, holdings, links, live_claims,
                            lost_claims, own_content)

def _held_here() -> Any:
    return select(held.c.content_id).where(held.c.content_id == contents.c.id).exists()


def _filters(names: Iterable[str], licenses: Iterable[str]) -> list[Any]:
    """SQL terms that keep every content passing the collection and licence filters (the planner
    checks them again exactly: ``fnmatch`` and ``GLOB`` differ only in ``[!…]``, translated)."""
    terms = []
    names, patterns = list(names), [p.lower().replace("[!", "[^") for p in licenses]
    if names or patterns:
        doc = (select(links.c.content_id)
               .join(documents, documents.c.id == links.c.document_id)
               .join(collections, collections.c.id == documents.c.collection_id)
               .where(links.c.content_id == contents.c.id, documents.c.deleted.is_(False)))
        if names:
            doc = doc.where(collections.c.name.in_(names))
        if patterns:
            lic = func.lower(documents.c.license)
            doc = doc.where(or_(*(lic.op("GLOB")(p) for p in patterns)))
        terms.append(doc.exists())
    return terms


async def _live(conn: AsyncConnection, me: str, cutoff: str, target: int) -> tuple[Any, Any, set[str]]:
    """(contents joined to their claims and lost claims, SQL live copies elsewhere, vetted)."""
    joined, claimed, vetted = await live_claims(conn, me=me, cutoff=cutoff, target=target)
    lost = lost_claims(me, cutoff)
    joined = joined.outerjoin(lost, lost.c.sha256 == contents.c.sha256)
    return joined, claimed - func.coalesce(lost.c.n, 0), vetted


async def wanted_states(conn: AsyncConnection, *, me: str, cutoff: str, copies: int, limit: int,
                        collections_: Iterable[str] = (), licenses: Iterable[str] = ()) -> list[ContentState]:
    """Up to LIMIT contents this node may fetch: not held, not own, with fewer than COPIES live
    copies elsewhere, passing the filters; fewest copies first (then by sha256, so nodes with one
    view read the same candidates and the planner's rendezvous rank spreads them)."""
    joined, copies_live, _ = await _live(conn, me, cutoff, copies)
    query = (select(contents.c.id, contents.c.sha256, contents.c.cid, contents.c.size, copies_live)
             .select_from(joined)
             .where(*countable(), ~_held_here(), ~own_content(me), copies_live < copies,
                    *_filters(collections_, licenses))
             .order_by(copies_live, contents.c.sha256).limit(limit))
    found = {i: ContentState(sha256=sha, cid=cid, size=size, copies=n)
             for i, sha, cid, size, n in await conn.execute(query)}
    await describe(conn, found)
    return list(found.values())


async def held_states(conn: AsyncConnection, *, me: str, cutoff: str, copies: int) -> list[ContentState]:
    """Every content of others held here, with its measured size (declared when not measured
    yet), live copies and vetted holders elsewhere: what a round needs only to drop some."""
    joined, copies_live, vetted = await _live(conn, me, cutoff, copies)
    query = (select(contents.c.id, contents.c.sha256, contents.c.cid,
                    func.coalesce(held.c.bytes, contents.c.size), copies_live)
             .select_from(joined.join(held, held.c.content_id == contents.c.id))
             .where(*countable(), ~own_content(me)))
    found = {i: ContentState(sha256=sha, cid=cid, size=size, copies=n, held=True)
             for i, sha, cid, size, n in await conn.execute(query)}
    await describe(conn, found)
    for content_id, names in (await holders_of_held(conn, me, cutoff, vetted)).items():
        if content_id in found:
            found[content_id].holders = tuple(sorted(names))
    return list(found.values())


async def copies_mark(conn: AsyncConnection) -> tuple[int, ...]:
    """A cheap mark that moves when what makes a held content surplus may have changed: the held
    contents, the announcements stored (not their liveness: a holder going silent only makes a
    copy less surplus) and the audits."""
    held_n, held_sum = (await conn.execute(
        select(func.count(), func.coalesce(func.sum(held.c.content_id), 0)))).one()
    ann_n, ann_seq = (await conn.execute(
        select(func.count(), func.coalesce(func.sum(holdings.c.seq), 0)))).one()
    audit_n, audit_ok = (await conn.execute(
        select(func.count(), func.coalesce(func.sum(case((audits.c.ok.is_(True), 1), else_=0)), 0))
        .select_from(audits))).one()
    return tuple(int(v) for v in (held_n, held_sum, ann_n, ann_seq, audit_n, audit_ok))


async def held_among(conn: AsyncConnection, shas: list[str]) -> set[str]:
    """Those of SHAS (sha256 hex) whose content is marked held here."""
    found: set[str] = set()
    for i in range(0, len(shas), 500):
        rows = await conn.execute(select(contents.c.sha256)
                                  .join(held, held.c.content_id == contents.c.id)
                                  .where(contents.c.sha256.in_(shas[i:i + 500])))
        found.update(s for (s,) in rows)
    return found


async def set_held_bytes(conn: AsyncConnection, sizes: dict[int, int]) -> None:
    """Store measured sizes (content id -> bytes of its DAG on disk) of held contents."""
    if sizes:
        await conn.execute(update(held).where(held.c.content_id == bindparam("held_id"))
                           .values(bytes=bindparam("held_bytes")),
                           [{"held_id": i, "held_bytes": n} for i, n in sizes.items()])
