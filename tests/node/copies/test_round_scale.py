"""A replication round and ``status`` cost what is wanted, not what is held (issue 15, item 5).

An index on a real SQLite file is filled with raw SQL (quick): HELD contents of another author,
held here with their measured size, one live audited peer claiming every content (so each has
fewer than K = 3 copies), and WANTED contents nobody here holds. The round's plan must read the
wanted candidates and the sum of the held sizes, never one object per held content; the status
tallies must match the figures counted from every content's state.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tracemalloc
from pathlib import Path
from typing import Awaitable, TypeVar

from functools import partial
from indexer import tallies
from indexer.db import on_query
from indexer import copies as copy_rows
from indexer.copies import ContentState
from indexer.index import Index
from mirror.node.copies.budget import usage
from mirror.node.copies.census import capacity, health
from mirror.node.copies.planner import Plan
from mirror.node.copies.replicate import SurplusMemo, plan_for, plan_round
from mirror.settings import Settings
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore

NOW = "2026-11-21T00:00:00.000000Z"
SEEN = "2099-01-01T00:00:00.000000Z"          # an announcement live for the whole test
CUTOFF = "2026-01-01T00:00:00.000000Z"
GONE = "2025-06-01T00:00:00.000000Z"           # seen before the cutoff: not live
HELD, WANTED, SIZE = 6_000, 30, 20_000
T = TypeVar("T")


def fill(db: Path, held: int, wanted: int) -> None:
    conn = sqlite3.connect(db)
    count = held + wanted
    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(count)]
    conn.execute("INSERT INTO collections (id, name, created_at, updated_at) VALUES (1, 'c', ?, ?)", (NOW, NOW))
    conn.executemany("INSERT INTO contents (id, sha256, size, cid, profile, created_at, verified_at) "
                     "VALUES (?, ?, ?, ?, 'unixfs-v1-2025', ?, ?)",
                     ((i + 1, s, SIZE, "bafk" + s[:55], NOW, NOW) for i, s in enumerate(shas)))
    conn.executemany("INSERT INTO documents (id, collection_id, source_id, title, creators, description, "
                     "subjects, license, http_headers, deleted, fingerprint, updated_at) "
                     "VALUES (?, 1, ?, 't', '[]', '', '[]', 'CC-BY-4.0', '{}', 0, 'f', ?)",
                     ((i, f"s{i}", NOW) for i in range(1, count + 1)))
    conn.executemany("INSERT INTO document_contents (document_id, position, content_id) VALUES (?, 0, ?)",
                     ((i, i) for i in range(1, count + 1)))
    conn.executemany("INSERT INTO doc_versions (collection, source_id, ts, author, seq, hash, kind) "
                     "VALUES ('c', ?, ?, 'origin', ?, x'00', 'put')",
                     ((f"s{i}", NOW, i) for i in range(1, count + 1)))
    conn.executemany("INSERT INTO held_contents (content_id, checked_at, bytes) VALUES (?, ?, ?)",
                     ((i, NOW, SIZE + i) for i in range(1, held + 1)))     # measured: not declared
    conn.execute("INSERT INTO holdings VALUES ('peer', 1, ?, ?, 'http://peer', 0, 0, 0, x'00', x'00', "
                 "x'00', x'00')", (NOW, SEEN))
    conn.executemany("INSERT INTO holding_prefixes (prefix, author) VALUES (?, 'peer')",
                     ((s[:copy_rows.PREFIX_CHARS],) for s in shas))
    conn.execute("INSERT INTO audits (author, sha256, ok, checked_at, passed_at, failures) "
                 "VALUES ('peer', ?, 1, ?, ?, 0)", (shas[0], NOW, NOW))
    conn.commit()
    conn.close()


async def filled(tmp_path: Path, held: int = HELD, wanted: int = WANTED) -> Index:
    db = tmp_path / "index.sqlite"
    await (await Index.open(db)).close()              # the schema, migrated
    fill(db, held, wanted)
    return await Index.open(db)


def settings(storage: int) -> Settings:
    found = Settings(env={})
    found.set("node.storage", storage)
    return found


async def traced(coro: Awaitable[T]) -> tuple[T, int]:
    """CORO's result and the peak of the Python memory it allocated."""
    tracemalloc.start()
    try:
        result = await coro
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_a_round_reads_the_wanted_contents_and_the_sum_of_the_held(tmp_path: Path) -> None:
    index = await filled(tmp_path)
    store = ContentStore(BlockStore(tmp_path / "blocks"))
    roomy = settings(1 << 40)
    try:
        plan, peak = await traced(plan_round(index, store, me="me", settings=roomy))
        async with index.read() as conn:
            every, everything = await traced(copy_rows.content_states(conn, me="me", cutoff=CUTOFF,
                                                                      copies=3))
            used, own = await on_query(conn, partial(tallies.held_bytes, me="me"))
        assert used == sum(SIZE + i for i in range(1, HELD + 1)) and own == 0   # measured bytes
        assert plan.used == used and plan.drop == []
        assert len(plan.fetch) == WANTED and {s.sha256 for s in plan.fetch} <= {
            s.sha256 for s in every if not s.held}
        assert len(every) == HELD + WANTED       # the census built an object per held content
        assert peak * 5 < everything, (peak, everything)    # the round did not
        assert same(plan, plan_for(measured(every), me="me", settings=roomy))
    finally:
        await index.close()


async def test_a_node_over_its_budget_drops_as_the_planner_decides_from_everything(tmp_path: Path) -> None:
    index = await filled(tmp_path, held=300, wanted=10)
    store = ContentStore(BlockStore(tmp_path / "blocks"))
    tight = settings(200 * SIZE)                 # the budget shrank below what is held
    try:
        plan = await plan_round(index, store, me="me", settings=tight)
        async with index.read() as conn:
            every = await copy_rows.content_states(conn, me="me", cutoff=CUTOFF, copies=3)
        assert plan.drop and plan.used == sum(SIZE + i for i in range(1, 301))
        assert same(plan, plan_for(measured(every), me="me", settings=tight))
    finally:
        await index.close()


async def test_status_tallies_are_the_figures_counted_from_every_state(tmp_path: Path) -> None:
    index = await filled(tmp_path, held=200, wanted=50)
    try:
        async with index.read() as conn:
            figures_sql = await on_query(conn, partial(tallies.copy_tallies, me="me", cutoff=CUTOFF, target=3))
            every = measured(await copy_rows.content_states(conn, me="me", cutoff=CUTOFF, target=3))
        figures = health(every, copies=3, budget=1 << 30)
        for name in ("contents", "under_replicated", "collections"):
            assert figures_sql[name] == figures[name]
        free = usage(every, 1 << 30).free
        wanted = capacity(every, copies=3, free=free, others=[])
        assert {k: figures_sql[k] for k in ("copies_missing", "copies_missing_bytes")} == {
            k: wanted[k] for k in ("copies_missing", "copies_missing_bytes")}
        assert figures["collections"]["c"] == {"contents": 250, "held": 200, "under_replicated": 250,
                                               "copies": {"1": 50, "2": 200}}
    finally:
        await index.close()


def add_holders(db: Path, count: int) -> None:
    """Holders of every kind next to ``fill``'s vetted peer: two live unvetted ones claiming the
    first half (their claims count up to K - 1 together), one gone silent claiming everything
    (not live), one whose audit failed on a content it claims (distrusted: counts nowhere), one
    live and vetted whose audit of a content it does not claim failed, and a third vetted one."""
    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(count)]
    conn = sqlite3.connect(db)
    holders = (("fresh", SEEN, shas[:count // 2]), ("silent", GONE, shas), ("liar", SEEN, shas[::3]),
               ("mixed", SEEN, shas[1::2]), ("fresh2", SEEN, shas[:count // 2]), ("third", SEEN, shas[:30]))
    for n, (author, seen, claimed) in enumerate(holders):
        conn.execute("INSERT INTO holdings VALUES (?, 1, ?, ?, ?, ?, ?, 0, ?, x'00', x'00', x'00')",
                     (author, NOW, seen, f"http://{author}", 1000 * (n + 1), 10 * n, bytes([n])))
        conn.executemany("INSERT INTO holding_prefixes (prefix, author) VALUES (?, ?)",
                         ((s[:copy_rows.PREFIX_CHARS], author) for s in claimed))
    conn.executemany("INSERT INTO audits (author, sha256, ok, checked_at, passed_at, failures) "
                     "VALUES (?, ?, ?, ?, ?, ?)", [("liar", shas[0], 0, NOW, None, 1),
                                                   ("mixed", shas[1], 1, NOW, NOW, 0),
                                                   ("mixed", shas[4], 0, NOW, None, 1),
                                                   ("third", shas[2], 1, NOW, NOW, 0)])
    conn.commit()
    conn.close()


async def test_status_tallies_count_every_kind_of_holder_as_the_states_do(tmp_path: Path) -> None:
    """The SQL of ``indexer.tallies`` (status) and the objects of ``content_states`` (the
    planner) agree on unvetted, silent, distrusted and partly failed holders."""
    index = await filled(tmp_path, held=120, wanted=60)
    await index.close()
    add_holders(tmp_path / "index.sqlite", 180)
    index = await Index.open(tmp_path / "index.sqlite")
    try:
        async with index.read() as conn:
            figures_sql = await on_query(conn, partial(tallies.copy_tallies, me="me", cutoff=CUTOFF, target=3))
            every = measured(await copy_rows.content_states(conn, me="me", cutoff=CUTOFF, target=3))
            capacity_sql = await on_query(conn, partial(tallies.live_capacity, cutoff=CUTOFF, me="me"))
        figures = health(every, copies=3, budget=1 << 30)
        for name in ("contents", "under_replicated", "collections"):
            assert figures_sql[name] == figures[name]
        wanted = capacity(every, copies=3, free=usage(every, 1 << 30).free, others=capacity_sql)
        assert {k: figures_sql[k] for k in ("copies_missing", "copies_missing_bytes")} == {
            k: wanted[k] for k in ("copies_missing", "copies_missing_bytes")}
        assert {s.copies for s in every} == {1, 2, 3}          # the kinds of holders count differently
        assert sorted(capacity_sql) == [(0, 0), (1000, 0), (4000, 30), (5000, 40), (6000, 50)]  # live
    finally:
        await index.close()


async def test_a_full_node_reads_its_held_contents_again_only_when_the_copies_change(tmp_path: Path) -> None:
    index = await filled(tmp_path)
    store = ContentStore(BlockStore(tmp_path / "blocks"))
    full = settings(sum(SIZE + i for i in range(1, HELD + 1)))     # not a byte left
    memo = SurplusMemo()
    try:
        first, looked = await traced(plan_round(index, store, me="me", settings=full, memo=memo))
        again, skipped = await traced(plan_round(index, store, me="me", settings=full, memo=memo))
        assert first.fetch == again.fetch == [] and first.drop == again.drop == []
        assert memo.room == 0                    # no surplus: two copies each, K = 3
        assert skipped * 5 < looked, (skipped, looked)      # the second did not read them again
        async with index.transaction() as tx:    # a new announcement: the copies changed
            await (await tx.connection()).exec_driver_sql(
                "UPDATE holdings SET seq = seq + 1 WHERE author = 'peer'")
        _, read = await traced(plan_round(index, store, me="me", settings=full, memo=memo))
        assert read > 5 * skipped
    finally:
        await index.close()


def measured(states: list[ContentState]) -> list[ContentState]:
    """STATES with the held ones' sizes as measured on disk (``fill``: SIZE + content id)."""
    ids = {hashlib.sha256(str(i).encode()).hexdigest(): i + 1 for i in range(HELD + WANTED)}
    for state in states:
        if state.held:
            state.size = SIZE + ids[state.sha256]
    return states


def same(one: Plan, other: Plan) -> bool:
    def shape(plan: Plan) -> tuple[object, ...]:
        return ([s.sha256 for s in plan.fetch], [s.sha256 for s in plan.drop], plan.used,
                plan.after)
    return shape(one) == shape(other)


def add_edge_cases(db: Path) -> None:
    """Of ``fill``'s 60 contents: documents 1-5 retracted (content 3 is also used by live document
    20), content 6 inline, contents 7-10 refuted (not verified, their one claim proved false),
    11 and 12 not verified with a false claim beside a claimed or a conflicting one, 13 verified
    with a false claim, 14 not verified and never claimed; content 30 is also in collection d."""
    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(60)]
    conn = sqlite3.connect(db)
    conn.execute("UPDATE documents SET deleted = 1 WHERE id <= 5")
    conn.execute("INSERT INTO document_contents (document_id, position, content_id) VALUES (20, 1, 3)")
    conn.execute("UPDATE contents SET cid = 'bafkqaaa' WHERE id = 6")
    conn.execute("UPDATE contents SET verified_at = NULL WHERE id IN (7, 8, 9, 10, 11, 12, 14)")
    claims = [(i, "mismatch", "a") for i in (7, 8, 9, 10, 11, 12, 13)] + [(11, "claimed", "b"),
                                                                         (12, "conflict", "b")]
    conn.executemany("INSERT INTO content_claims (sha256, cid, size, profile, author, status, first_seen) "
                     "VALUES (?, 'bafyclaim', 1, 'unixfs-v1-2025', ?, ?, ?)",
                     [(shas[i - 1], author, status, NOW) for i, status, author in claims])
    conn.execute("INSERT INTO collections (id, name, created_at, updated_at) VALUES (2, 'd', ?, ?)", (NOW, NOW))
    conn.execute("INSERT INTO documents (id, collection_id, source_id, title, creators, description, "
                 "subjects, license, http_headers, deleted, fingerprint, updated_at) "
                 "VALUES (61, 2, 's61', 't', '[]', '', '[]', 'CC-BY-4.0', '{}', 0, 'f', ?)", (NOW,))
    conn.execute("INSERT INTO document_contents (document_id, position, content_id) VALUES (61, 0, 30)")
    conn.commit()
    conn.close()


async def test_status_and_the_planner_count_only_contents_copies_can_be_made_of(tmp_path: Path) -> None:
    """Retracted documents, inline contents and contents whose every claim proved false are not
    counted; a content of a live document stays counted whatever else uses it. The SQL of
    ``indexer.tallies`` (status) and the states of ``indexer.copies`` (the planner) agree."""
    index = await filled(tmp_path, held=40, wanted=20)
    await index.close()
    add_edge_cases(tmp_path / "index.sqlite")
    index = await Index.open(tmp_path / "index.sqlite")
    try:
        async with index.read() as conn:
            figures_sql = await on_query(conn, partial(tallies.copy_tallies, me="me", cutoff=CUTOFF, target=3))
            every = measured(await copy_rows.content_states(conn, me="me", cutoff=CUTOFF, target=3))
        content_id = {hashlib.sha256(str(i).encode()).hexdigest(): i + 1 for i in range(60)}
        assert {content_id[s.sha256] for s in every} == {3, *range(11, 61)}
        figures = health(every, copies=3, budget=1 << 30)
        for name in ("contents", "under_replicated", "collections"):
            assert figures_sql[name] == figures[name]
        assert figures_sql["contents"] == 51
        assert figures_sql["collections"]["d"]["contents"] == 1
        assert figures_sql["collections"]["c"]["contents"] == 51
    finally:
        await index.close()
