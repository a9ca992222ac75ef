"""Storage of audits: the latest result per (holder, content), and which claims to audit next.

Plain Core statements on a connection the caller provides. A holder is *distrusted* while its
latest audit of some content it still claims failed, *vetted* once it passed an audit here
(``indexer.copies`` says what that changes for copies); ``mirror.node.copies.audit`` runs them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer.bindings import not_inline
from indexer.copies import (
    PREFIX_CHARS,
    _distrusted,
    _live,
    _vetted,
    audits,
    contents,
    held,
    holdings,
    mark_seen,
    prefixes,
)

# -- audits --------------------------------------------------------------------------------------

async def record_audit(conn: AsyncConnection, author: str, sha256: str, ok: bool, at: str,
                       detail: str | None = None) -> None:
    """Store the outcome of one audit; a passed audit also proves the holder alive at AT."""
    sha = sha256.lower()
    row = {"author": author, "sha256": sha, "ok": ok, "checked_at": at, "detail": detail,
           "passed_at": at if ok else None, "failed_at": None if ok else at,
           "failures": 0 if ok else 1}
    stmt = sqlite_insert(audits).values(row)
    changes = {"ok": ok, "checked_at": at, "detail": detail,
               "passed_at" if ok else "failed_at": at,
               "failures": 0 if ok else audits.c.failures + 1}
    await conn.execute(stmt.on_conflict_do_update(index_elements=["author", "sha256"], set_=changes))
    if ok:
        await mark_seen(conn, author, at)


async def audit_results(conn: AsyncConnection, author: str | None = None) -> list[dict[str, Any]]:
    stmt = select(audits).order_by(audits.c.author, audits.c.sha256)
    if author is not None:
        stmt = stmt.where(audits.c.author == author)
    return [dict(r._mapping) for r in await conn.execute(stmt)]


async def is_distrusted(conn: AsyncConnection, author: str) -> bool:
    return await conn.scalar(select(_distrusted().where(audits.c.author == author).exists())) or False


async def audit_targets(conn: AsyncConnection, *, cutoff: str, me: str, limit: int) -> list[tuple[str, str, str, str]]:
    """(author, url, sha256, cid) pairs to audit: claims of other live nodes on contents held
    here, those audited longest ago (or never) first. Distrusted nodes are included so they can
    pass again."""
    last = (select(audits.c.checked_at).where(audits.c.author == holdings.c.author,
                                                audits.c.sha256 == contents.c.sha256)
            .scalar_subquery())
    rows = await conn.execute(
        select(holdings.c.author, holdings.c.url, contents.c.sha256, contents.c.cid)
        .join(prefixes, prefixes.c.author == holdings.c.author)
        .join(contents, func.substr(contents.c.sha256, 1, PREFIX_CHARS) == prefixes.c.prefix)
        .join(held, held.c.content_id == contents.c.id)
        .where(holdings.c.seen_at >= cutoff, holdings.c.author != me, not_inline(contents.c.cid))
        .order_by(func.coalesce(last, ""), func.random()).limit(limit))
    return [(a, u, s, c) for a, u, s, c in rows]


async def remote_audit_targets(conn: AsyncConnection, *, cutoff: str, me: str, limit: int,
                               start: str) -> list[tuple[str, str, str, str]]:
    """(author, url, sha256, cid) claims to audit among the contents *not* held here (bound to a
    verified CID, so the holder's answer can be checked): one per live, trusted author, unvetted
    authors first, then those audited longest ago; the claim is the first at or after the random
    prefix START (wrapping around)."""
    last = select(func.max(audits.c.checked_at)).where(audits.c.author == holdings.c.author).scalar_subquery()
    authors = (await conn.execute(
        select(holdings.c.author, holdings.c.url).where(*_live(cutoff, me))
        .order_by(holdings.c.author.in_(_vetted()), func.coalesce(last, ""), func.random())
        .limit(limit))).all()
    found = []
    for author, url in authors:
        claim = await _claim_from(conn, author, start) or await _claim_from(conn, author, "")
        if claim is not None:
            found.append((author, url, *claim))
    return found


async def _claim_from(conn: AsyncConnection, author: str, start: str) -> tuple[str, str] | None:
    """(sha256, cid) of AUTHOR's first claim at or after prefix START on a content bound to a
    verified CID and not held here."""
    row = (await conn.execute(
        select(contents.c.sha256, contents.c.cid)
        .select_from(prefixes)
        .join(contents, and_(contents.c.sha256 >= prefixes.c.prefix,
                             contents.c.sha256 < prefixes.c.prefix + "g"))
        .where(prefixes.c.author == author, prefixes.c.prefix >= start,
               contents.c.verified_at.is_not(None), not_inline(contents.c.cid),
               contents.c.id.not_in(select(held.c.content_id)))
        .order_by(prefixes.c.prefix).limit(1))).first()
    return None if row is None else (row[0], row[1])
