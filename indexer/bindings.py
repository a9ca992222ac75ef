"""Content bindings: which CID, size and profile this node holds a content's bytes to be, and why.

A document names each of its files by sha256 (the identity its author signed) and *claims* a CID,
size and profile for it. Claims are kept per author (``content_claims``); what the bytes of a CID
really are is learnt once, by reassembling and hashing them (``cid_checks``: content addressing
makes that a fact that never changes). The ``contents`` row of a sha256 holds the **binding**:

* **verified** (``verified_at`` set): a claim whose CID's bytes were found to be exactly that
  sha256 and size. Nothing replaces it while an author still claims it, whatever arrives later;
* otherwise the best **candidate** so far: an unchecked claim, authors caught in a false claim
  last, then the oldest. Code that trusts a binding (held marks, audits, serving a document's
  file) requires ``verified_at``; replication fetches candidates and checks them.

A claim's ``status`` follows from both (``indexer.binding_models``): ``verified``, ``mismatch``
(its CID's bytes are other bytes, another size, or no file), ``conflict`` (the content is bound,
verified, to another CID, and this one is unchecked) or ``claimed``. ``mismatch`` and
``conflict`` claims are the evidence ``peers conflicts`` and ``status`` show. Plain Core
statements on a connection the caller provides; no hashing here (``mirror.binding`` hashes).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer.binding_models import (
    CLAIMED,
    CONFLICT,
    MISMATCH,
    VERIFIED,
    CidCheck,
    ContentClaim,
)
from indexer.models import Content
from indexer.node_models import HeldContent
from indexer.write import in_json
from indexer.tallies import INLINE_PREFIX, REFUTED_SHAS

claims = cast(Table, ContentClaim.__table__)
checks = cast(Table, CidCheck.__table__)
contents = cast(Table, Content.__table__)
held = cast(Table, HeldContent.__table__)

DISPUTED = (MISMATCH, CONFLICT)
_CHUNK = 500
_INSERT_CLAIM = ("INSERT OR IGNORE INTO content_claims (sha256, cid, size, profile, author, status, "
                 "first_seen) VALUES (?, ?, ?, ?, ?, 'claimed', ?)")
_REBIND = "UPDATE contents SET cid = ?, size = ?, profile = ?, verified_at = ? WHERE id = ?"
_INSERT_CHECK = ("INSERT OR IGNORE INTO cid_checks (cid, sha256, size, checked_at, detail) "
                 "VALUES (?, ?, ?, ?, ?)")
# Each claim's status from the check of its CID and the binding of its sha256 (rows whose status
# does not change are not written).
_STATUS_OF = f"""CASE
  WHEN EXISTS (SELECT 1 FROM cid_checks k WHERE k.cid = content_claims.cid) THEN
    CASE WHEN EXISTS (SELECT 1 FROM cid_checks k WHERE k.cid = content_claims.cid
                      AND k.sha256 = content_claims.sha256 AND k.size = content_claims.size)
         THEN '{VERIFIED}' ELSE '{MISMATCH}' END
  WHEN EXISTS (SELECT 1 FROM contents c WHERE c.sha256 = content_claims.sha256
               AND c.verified_at IS NOT NULL AND c.cid != content_claims.cid) THEN '{CONFLICT}'
  ELSE '{CLAIMED}' END"""
_STATUS = (f"UPDATE content_claims SET status = {_STATUS_OF} "
           f"WHERE sha256 IN (SELECT value FROM json_each(?)) AND status != {_STATUS_OF}")
# The contents among some sha256s whose binding may have to change (see ``_choose``).
_UNSETTLED = f"""
SELECT c.sha256 FROM contents c WHERE c.sha256 IN (SELECT value FROM json_each(?)) AND CASE
  WHEN c.verified_at IS NOT NULL THEN NOT EXISTS (
    SELECT 1 FROM content_claims k WHERE k.sha256 = c.sha256 AND k.cid = c.cid AND k.size = c.size
    AND k.status = '{VERIFIED}')
  ELSE EXISTS (SELECT 1 FROM content_claims k WHERE k.sha256 = c.sha256 AND k.status = '{VERIFIED}')
    OR NOT EXISTS (SELECT 1 FROM content_claims k WHERE k.sha256 = c.sha256 AND k.cid = c.cid
                   AND k.size = c.size AND k.status IN ('{CLAIMED}', '{CONFLICT}'))
  END
"""

# The authors with a mismatch claim, one index seek each (a loose scan of the partial index on the
# disputed claims): a DISTINCT over them read every disputed row, and ``settle`` asks for every
# chunk, so a feed of many false claims cost its sync time quadratic in its length.
_NEXT_LIAR = (f"SELECT author FROM content_claims WHERE status IN ('{MISMATCH}', '{CONFLICT}') "
              f"AND status = '{MISMATCH}' {{after}} ORDER BY author LIMIT 1")
_LIARS = f"""WITH RECURSIVE liar(author) AS (
  SELECT ({_NEXT_LIAR.format(after="")})
  UNION ALL SELECT ({_NEXT_LIAR.format(after="AND author > liar.author")}) FROM liar
  WHERE liar.author IS NOT NULL)
SELECT author FROM liar WHERE author IS NOT NULL"""


@dataclass(frozen=True)
class Claim:
    """What one author says a content is (sha256 lower-case hex, CID text as given)."""

    sha256: str
    cid: str
    size: int
    profile: str
    author: str


@dataclass(frozen=True)
class Check:
    """What the bytes of CID are: their sha256 and size, or None for both (``detail`` says why)."""

    cid: str
    sha256: str | None
    size: int | None
    detail: str | None = None


@dataclass(frozen=True)
class Binding:
    sha256: str
    cid: str
    size: int
    profile: str
    verified: bool


@dataclass(frozen=True)
class Disputed:
    """A claim that is evidence: ``mismatch`` or ``conflict`` (see the module docstring)."""

    author: str
    sha256: str
    cid: str
    size: int
    status: str
    first_seen: str
    bound_cid: str                   # the binding of the sha256 here
    bound_size: int
    bound_verified: bool
    found_sha256: str | None         # what the claimed CID's bytes are (mismatch)
    found_size: int | None
    detail: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


# -- writing -------------------------------------------------------------------------------------

async def add_claims(conn: AsyncConnection, found: Iterable[Claim], now: str,
                     checks: Iterable[Check] = ()) -> set[str]:
    """Record claims (known ones are ignored), and CHECKS with them, and settle their contents;
    returns the sha256s whose binding changed."""
    rows = list(dict.fromkeys((c.sha256, c.cid, c.size, c.profile, c.author, now) for c in found))
    if rows:
        await conn.exec_driver_sql(_INSERT_CLAIM, rows)
    shas = await _insert_checks(conn, checks, now)
    return await settle(conn, shas | {r[0] for r in rows}, now)


async def add_checks(conn: AsyncConnection, found: Iterable[Check], now: str) -> set[str]:
    """Record what CIDs' bytes are (a known CID keeps its first check: bytes never change) and
    settle the contents claimed with them; returns the sha256s whose binding changed."""
    return await settle(conn, await _insert_checks(conn, found, now), now)


async def _insert_checks(conn: AsyncConnection, found: Iterable[Check], now: str) -> set[str]:
    """Store the checks; returns the sha256s claimed with their CIDs."""
    rows = list({c.cid: (c.cid, c.sha256, c.size, now, c.detail) for c in found}.values())
    if not rows:
        return set()
    await conn.exec_driver_sql(_INSERT_CHECK, rows)
    shas: set[str] = set()
    for part in _chunks([r[0] for r in rows]):
        shas.update(await conn.scalars(select(claims.c.sha256).distinct()
                                       .where(in_json(claims.c.cid, part))))
    return shas


async def forget_author(conn: AsyncConnection, author: str, now: str) -> set[str]:
    """Remove every claim of AUTHOR and settle what they touched (blocking an author)."""
    shas = set(await conn.scalars(select(claims.c.sha256).distinct().where(claims.c.author == author)))
    await conn.execute(delete(claims).where(claims.c.author == author))
    return await settle(conn, shas, now)


async def settle(conn: AsyncConnection, shas: Iterable[str], now: str) -> set[str]:
    """Bring the claims' statuses and the bindings of SHAS up to date; returns those whose
    binding changed (their held marks are removed: the caller checks them again)."""
    wanted = sorted(set(shas))
    changed: set[str] = set()
    for part in _chunks(wanted):
        await conn.exec_driver_sql(_STATUS, (_json(part),))
        moved = await _rebind(conn, part, now)
        if moved:
            await conn.exec_driver_sql(_STATUS, (_json(sorted(moved)),))
        changed |= moved
    return changed


async def _rebind(conn: AsyncConnection, shas: list[str], now: str) -> set[str]:
    shas = [s for (s,) in (await conn.exec_driver_sql(_UNSETTLED, (_json(shas),))).all()]
    if not shas:
        return set()
    bound = {r.sha256: r for r in await conn.execute(
        select(contents.c.id, contents.c.sha256, contents.c.cid, contents.c.size,
               contents.c.profile, contents.c.verified_at).where(in_json(contents.c.sha256, shas)))}
    by_sha: dict[str, list[Any]] = {}
    for row in await conn.execute(select(claims).where(in_json(claims.c.sha256, shas))
                                  .order_by(claims.c.id)):
        by_sha.setdefault(row.sha256, []).append(row)
    liars = await _liars(conn)
    changed: dict[int, tuple[str, int, str, str | None]] = {}
    for sha, row in bound.items():
        pick = _choose(row, by_sha.get(sha, []), liars, now)
        if pick is not None:
            changed[row.id] = pick
    if changed:
        await conn.exec_driver_sql(_REBIND, [(*values, content_id) for content_id, values in changed.items()])
        await conn.execute(delete(held).where(in_json(held.c.content_id, sorted(changed))))
    return {sha for sha, row in bound.items() if row.id in changed}


def _choose(row: Any, found: list[Any], liars: set[str],
            now: str) -> tuple[str, int, str, str | None] | None:
    """The new binding of ROW from its claims FOUND, or None to keep it."""
    current = (row.cid, row.size)
    verified = [c for c in found if c.status == VERIFIED]
    if row.verified_at is not None and any((c.cid, c.size) == current for c in verified):
        return None
    if verified:
        pick = verified[0]
        return pick.cid, pick.size, pick.profile, now
    open_ = sorted((c for c in found if c.status in (CLAIMED, CONFLICT)),     # unchecked ones
                   key=lambda c: (c.author in liars, c.id))
    if row.verified_at is None and any((c.cid, c.size) == current for c in open_):
        return None
    if open_:
        return open_[0].cid, open_[0].size, open_[0].profile, None
    if row.verified_at is not None:
        return row.cid, row.size, row.profile, None            # its claims are gone
    return None


async def _liars(conn: AsyncConnection) -> set[str]:
    """Authors with a claim proven false."""
    return set((await conn.exec_driver_sql(_LIARS)).scalars())


async def unhold(conn: AsyncConnection, shas: Iterable[str]) -> None:
    """Remove the held marks of SHAS (their binding is in doubt: the caller checks again)."""
    for part in _chunks(sorted(set(shas))):
        await conn.execute(delete(held).where(held.c.content_id.in_(
            select(contents.c.id).where(in_json(contents.c.sha256, part)))))


# -- reading -------------------------------------------------------------------------------------

async def binding(conn: AsyncConnection, sha256: str) -> Binding | None:
    row = (await conn.execute(select(contents.c.sha256, contents.c.cid, contents.c.size,
                                     contents.c.profile, contents.c.verified_at)
                              .where(contents.c.sha256 == sha256.lower()))).first()
    if row is None:
        return None
    return Binding(row.sha256, row.cid, row.size, row.profile, row.verified_at is not None)


async def bound(conn: AsyncConnection, shas: Iterable[str]) -> dict[str, tuple[int, str, bool]]:
    """sha256 -> (content id, bound CID, verified) for the contents the index knows."""
    found: dict[str, tuple[int, str, bool]] = {}
    for part in _chunks(sorted({s.lower() for s in shas})):
        rows = await conn.execute(select(contents.c.sha256, contents.c.id, contents.c.cid,
                                         contents.c.verified_at).where(in_json(contents.c.sha256, part)))
        found.update({s: (i, c, v is not None) for s, i, c, v in rows})
    return found


async def held_bindings(conn: AsyncConnection) -> list[tuple[str, str, int]]:
    """(sha256, CID, size) of every content marked held here."""
    rows = await conn.execute(select(contents.c.sha256, contents.c.cid, contents.c.size)
                              .join(held, held.c.content_id == contents.c.id))
    return [(s, c, n) for s, c, n in rows]


async def candidates(conn: AsyncConnection, sha256: str) -> list[Claim]:
    """The CIDs worth fetching for SHA256: its verified binding, else its unchecked claims (the
    candidate first, authors caught in a false claim last)."""
    bound = await binding(conn, sha256)
    if bound is None:
        return []
    if bound.verified:
        return [Claim(bound.sha256, bound.cid, bound.size, bound.profile, "")]
    rows = list(await conn.execute(select(claims).where(claims.c.sha256 == bound.sha256,
                                                        claims.c.status == CLAIMED)
                                   .order_by(claims.c.id)))
    liars = await _liars(conn) if rows else set()
    rows.sort(key=lambda c: ((c.cid, c.size) != (bound.cid, bound.size), c.author in liars, c.id))
    found: dict[tuple[str, int], Claim] = {}
    for r in rows:
        found.setdefault((r.cid, r.size), Claim(r.sha256, r.cid, r.size, r.profile, r.author))
    return list(found.values())


async def unchecked(conn: AsyncConnection, *, after: int = 0, limit: int = 1000,
                    keys: Iterable[str] | None = None) -> list[tuple[int, str]]:
    """(claim id, CID) of claims whose CID was never checked, by id after AFTER; with KEYS, only
    those whose sha256 or CID is among them."""
    query = (select(claims.c.id, claims.c.cid)
             .where(claims.c.id > after, claims.c.cid.not_in(select(checks.c.cid)))
             .order_by(claims.c.id).limit(limit))
    if keys is not None:
        wanted = sorted(set(keys))
        query = query.where(in_json(claims.c.sha256, [k.lower() for k in wanted])
                            | in_json(claims.c.cid, wanted))
    return [(i, c) for i, c in await conn.execute(query)]


async def disputed(conn: AsyncConnection, *, author: str | None = None,
                   limit: int = 1000) -> list[Disputed]:
    """The claims that are evidence, by author then age."""
    query = (select(claims.c.author, claims.c.sha256, claims.c.cid, claims.c.size, claims.c.status,
                    claims.c.first_seen, contents.c.cid.label("bound_cid"),
                    contents.c.size.label("bound_size"), contents.c.verified_at,
                    checks.c.sha256.label("found_sha256"), checks.c.size.label("found_size"),
                    checks.c.detail)
             .join(contents, contents.c.sha256 == claims.c.sha256)
             .outerjoin(checks, checks.c.cid == claims.c.cid)
             .where(claims.c.status.in_(DISPUTED))
             .order_by(claims.c.author, claims.c.id).limit(limit))
    if author is not None:
        query = query.where(claims.c.author == author)
    return [Disputed(r.author, r.sha256, r.cid, r.size, r.status, r.first_seen, r.bound_cid,
                     r.bound_size, r.verified_at is not None, r.found_sha256, r.found_size, r.detail)
            for r in await conn.execute(query)]


async def disputes_by_author(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(select(claims.c.author, func.count()).where(claims.c.status.in_(DISPUTED))
                              .group_by(claims.c.author))
    return {a: n for a, n in rows}


def is_inline(cid: str) -> bool:
    """True for a raw identity CID: its bytes are in the CID, nothing to fetch, hold or prove."""
    return cid.startswith(INLINE_PREFIX)


def not_inline(column: Any) -> Any:
    """SQL: COLUMN (a CID) is not a raw identity CID."""
    return func.substr(column, 1, len(INLINE_PREFIX)) != INLINE_PREFIX


def fetchable(table: Any) -> Any:
    """SQL: the content (a row of TABLE, ``contents`` unaliased) is bound to a verified CID, or
    some claim of it is still unchecked (its claims did not all prove false). The refuted set is
    built once per statement (``indexer.tallies.REFUTED_SHAS``), not looked up per content."""
    return or_(table.c.verified_at.is_not(None), text(f"{table.name}.sha256 NOT IN ({REFUTED_SHAS})"))


def _json(values: list[str]) -> str:
    return json.dumps(values)


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i:i + _CHUNK] for i in range(0, len(values), _CHUNK)]
