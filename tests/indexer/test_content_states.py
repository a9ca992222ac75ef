"""Contents as the replication planner sees them: the planner's query (``copies=K``) returns exactly
the contents a plan can act on, with the same figures as the full list ``status`` reads, so the plan
made from it is the plan made from everything."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import insert

from indexer import audits as audit_rows
from indexer import copies as copy_rows

from indexer import feeds
from indexer.copies import ContentState, HoldingRow
from indexer.index import Index
from indexer.records import ContentIn, DocumentIn
from mirror.node.copies.planner import PlanInput, make_plan

ME = "me"
NOW, LIVE, STALE = "2026-11-21T12:00:00.000000Z", "2026-11-21T11:59:00.000000Z", "2026-11-21T09:00:00.000000Z"
CUTOFF = "2026-11-21T11:00:00.000000Z"
K = 2


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def document(name: str, collection: str = "maps", license_: str = "CC-BY-4.0") -> DocumentIn:
    doc = DocumentIn(collection=collection, source_id=name, title=name, license=license_)
    doc.contents = [ContentIn(sha256=sha(name), size=1000 + len(name), cid=f"bafk{name}",
                              profile="unixfs-v1-2025")]
    return doc


async def announce(conn, author: str, seen_at: str, names: list[str]) -> None:
    row = HoldingRow(author=author, seq=1, ts=seen_at, seen_at=seen_at, url=f"http://{author}",
                     budget=1 << 30, used=0, count=len(names), set_hash=sha(author).encode(),
                     set_data=b"", payload=b"{}", signature=b"")
    assert await copy_rows.put_holding(conn, row, [sha(n)[:copy_rows.PREFIX_CHARS] for n in names])


async def fill(db_path: Path) -> Index:
    """Contents with every case the planner tells apart (the comment: live copies elsewhere)."""
    index = await Index.open(db_path)
    names = ["scarce", "one-copy", "enough", "plenty", "held-enough", "held-scarce", "own", "retracted",
             "lied-about", "shared"]
    async with index.transaction() as tx:
        await tx.upsert_documents([document(n) for n in names] +
                                  [document("shared-too", collection="rivers", license_="ODbL-1.0")])
        await tx.upsert_documents([DocumentIn(collection="rivers", source_id="shared-twin", title="twin",
                                              license="CC0-1.0", contents=document("shared").contents)])
        await tx.retract("maps", "retracted")
        conn = await tx.connection()
        await announce(conn, "a", LIVE, ["one-copy", "enough", "plenty", "held-enough", "own", "retracted",
                                         "lied-about", "shared"])
        await announce(conn, "b", LIVE, ["enough", "plenty", "held-enough"])
        await announce(conn, "c", LIVE, ["plenty"])
        await announce(conn, "d", LIVE, ["enough", "held-enough", "lied-about"])
        await announce(conn, "gone", STALE, ["scarce", "one-copy", "held-scarce"])   # not live
        await announce(conn, ME, LIVE, ["scarce"])                                   # not "elsewhere"
        await audit_rows.record_audit(conn, "d", sha("lied-about"), False, LIVE)      # d lied, still
        await audit_rows.record_audit(conn, "d", sha("enough"), True, NOW)            # claims it, then
        # passed another audit: that does not wash the lie, none of d's claims count
        await audit_rows.record_audit(conn, "a", sha("held-enough"), True, LIVE)      # a and b are
        await audit_rows.record_audit(conn, "b", sha("held-enough"), True, LIVE)      # vetted; c is not
        ids = await feeds.content_ids(conn, [sha("held-enough"), sha("held-scarce"), sha("own")])
        await feeds.set_held(conn, ids.values(), [], NOW)
        await conn.execute(insert(copy_rows.versions).values(
            collection="maps", source_id="own", ts=NOW, author=ME, seq=1, hash=b"\0", kind="put"))
    return index


async def states(index: Index, copies: int | None = None,
                 target: int | None = None) -> dict[str, ContentState]:
    async with index.transaction() as tx:
        found = await copy_rows.content_states(await tx.connection(), me=ME, cutoff=CUTOFF,
                                               copies=copies, target=target)
    return {s.sha256: s for s in found}


@pytest.fixture(params=[500, 0], ids=["named", "subqueries"])
async def index(request: pytest.FixtureRequest, db_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The filled index, read with holders and lost copies named in SQL, or (0) past that limit:
    holders not live found by a subquery, lost copies filtered after reading every row."""
    monkeypatch.setattr(copy_rows, "_NAMED_IN_SQL", request.param)
    opened = await fill(db_path)
    try:
        yield opened
    finally:
        await opened.close()


async def test_every_content_of_a_live_document_with_its_live_copies(index: Index) -> None:
    full = await states(index)
    names = {s: n for n in ["scarce", "one-copy", "enough", "plenty", "held-enough", "held-scarce",
                            "own", "lied-about", "shared", "shared-too"] for s in [sha(n)]}
    assert set(full) == set(names)                                    # "retracted" is in no live document
    copies = {names[s]: state.copies for s, state in full.items()}
    assert copies == {"scarce": 0, "one-copy": 1, "enough": 2, "plenty": 3, "held-enough": 2,
                      "held-scarce": 0, "own": 1, "lied-about": 1, "shared": 1, "shared-too": 0}
    held_ = {names[s] for s, state in full.items() if state.held}
    assert held_ == {"held-enough", "held-scarce", "own"}
    assert {names[s] for s, state in full.items() if state.own} == {"own"}
    shared = full[sha("shared")]
    assert shared.collections == {"maps", "rivers"} and shared.licenses == {"CC-BY-4.0", "CC0-1.0"}
    assert full[sha("shared-too")].licenses == {"ODbL-1.0"}
    assert full[sha("held-enough")].holders == ("a", "b")
    assert full[sha("plenty")].holders == ()                          # listed for held contents only


async def test_the_planner_query_keeps_what_a_plan_can_act_on_and_plans_the_same(index: Index) -> None:
    full = await states(index, target=K)
    planned = await states(index, copies=K)
    actionable = {s for s, state in full.items() if not state.own and (state.held or state.copies < K)}
    assert set(planned) == actionable
    assert {sha("plenty"), sha("enough"), sha("own")}.isdisjoint(planned)
    for key, state in planned.items():
        assert state == full[key]                                     # the same figures, field by field
    for budget in (0, 2000, 1 << 30):
        plans = [make_plan(PlanInput(ME, budget, list(found.values()), copies=K, max_fetch=3))
                 for found in (full, planned)]
        shape = [([s.sha256 for s in p.fetch], [s.sha256 for s in p.drop], p.used, p.after, p.wanted)
                 for p in plans]
        assert shape[0] == shape[1]
    assert plans[0].wanted == 5 and plans[0].fetch     # scarce, one-copy, lied-about, shared, shared-too


async def test_unvetted_holders_count_up_to_k_minus_one(index: Index) -> None:
    """Claims of holders that passed no audit here count for less: together they never make K,
    so three fresh keys claiming everything leave every content wanted."""
    async with index.transaction() as tx:
        conn = await tx.connection()
        everything = ["scarce", "one-copy", "enough", "plenty", "held-enough", "held-scarce", "own",
                      "lied-about", "shared", "shared-too"]
        for fresh in ("fresh1", "fresh2", "fresh3"):
            await announce(conn, fresh, LIVE, everything)
    raw, counted = await states(index), await states(index, target=K)
    assert raw[sha("scarce")].copies == 3 and counted[sha("scarce")].copies == K - 1
    assert raw[sha("plenty")].copies == 6 and counted[sha("plenty")].copies == 2  # a and b: vetted
    assert counted[sha("held-enough")].holders == ("a", "b")                      # the fresh keys: not
    planned = await states(index, copies=K)
    assert {sha("scarce"), sha("one-copy"), sha("shared")} <= set(planned)
    assert sha("plenty") not in planned and sha("enough") not in planned
