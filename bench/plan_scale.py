"""Replication planning at scale: what one planner round costs a node that knows many contents.

    python bench/plan_scale.py                  # 100,000 contents
    python bench/plan_scale.py --contents 20000 # quicker

An index is filled with synthetic rows (raw SQL, so filling is quick: contents, one live document
each, 1% held here) and three networks are announced:

* healthy: three live, audited peers claim every content, so with K = 3 nothing is wanted;
* short of space: one live, audited peer claims every content, so every content is wanted;
* fresh keys: one audited peer and three keys nobody audited claim every content; unaudited
  claims count up to K - 1 together, so every content is still wanted.

For each it measures the planner's query (``content_states(copies=K)``: only the contents a plan
can act on), the plan itself, and the full list ``status`` reads, with the Python memory they
allocate (tracemalloc peak, in a second pass) against the baseline of the same run: raw sqlite3
reading every content row once (``SELECT id, sha256, cid, size FROM contents``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer import copies as copy_rows  # noqa: E402
from indexer.index import Index  # noqa: E402
from mirror.node.copies.planner import PlanInput, make_plan  # noqa: E402

NOW = "2026-11-21T00:00:00.000000Z"
SEEN = "2099-01-01T00:00:00.000000Z"           # announcements that stay live for the run
CUTOFF = "2026-01-01T00:00:00.000000Z"
K = 3


def fill(db: Path, count: int, peers: int, fresh: int = 0) -> None:
    conn = sqlite3.connect(db)
    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(count)]
    conn.execute("INSERT INTO collections (id, name, created_at, updated_at) VALUES (1, 'c', ?, ?)", (NOW, NOW))
    conn.executemany("INSERT INTO contents (id, sha256, size, cid, profile, created_at) "
                     "VALUES (?, ?, 20000, ?, 'unixfs-v1-2025', ?)",
                     ((i + 1, s, "bafk" + s[:55], NOW) for i, s in enumerate(shas)))
    conn.executemany("INSERT INTO documents (id, collection_id, source_id, title, creators, description, "
                     "subjects, license, http_headers, deleted, fingerprint, updated_at) "
                     "VALUES (?, 1, ?, 't', '[]', '', '[]', 'CC-BY-4.0', '{}', 0, 'f', ?)",
                     ((i, f"s{i}", NOW) for i in range(1, count + 1)))
    conn.executemany("INSERT INTO document_contents (document_id, position, content_id) VALUES (?, 0, ?)",
                     ((i, i) for i in range(1, count + 1)))
    conn.executemany("INSERT INTO doc_versions (collection, source_id, ts, author, seq, hash, kind) "
                     "VALUES ('c', ?, ?, 'origin', ?, x'00', 'put')",
                     ((f"s{i}", NOW, i) for i in range(1, count + 1)))
    conn.executemany("INSERT INTO held_contents (content_id, checked_at) VALUES (?, ?)",
                     ((i, NOW) for i in range(1, count + 1, 100)))
    for peer in range(peers + fresh):
        author = f"peer{peer}" if peer < peers else f"fresh{peer}"
        conn.execute("INSERT INTO holdings VALUES (?, 1, ?, ?, 'http://peer', 0, 0, 0, x'00', x'00', x'00', x'00')",
                     (author, NOW, SEEN))
        conn.executemany("INSERT INTO holding_prefixes (prefix, author) VALUES (?, ?)",
                         ((s[:copy_rows.PREFIX_CHARS], author) for s in shas))
        if peer < peers and _has_table(conn, "audits"):          # audited here: a vetted holder
            conn.execute("INSERT INTO audits (author, sha256, ok, checked_at, passed_at, failures) "
                         "VALUES (?, ?, 1, ?, ?, 0)", (author, shas[0], NOW, NOW))
    conn.commit()
    conn.close()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


async def measure(db: Path, copies: int | None, trace: bool) -> tuple[float, float, int, int]:
    """(seconds for the states, seconds for the plan, states, peak bytes allocated)."""
    index = await Index.open(db)
    try:
        if trace:
            tracemalloc.start()
        began = time.perf_counter()
        async with index.transaction() as tx:
            states = await copy_rows.content_states(await tx.connection(), me="me", cutoff=CUTOFF,
                                                    copies=copies, target=K)
        planned = time.perf_counter()
        make_plan(PlanInput("me", 1 << 40, states, copies=K, max_fetch=8))
        done = time.perf_counter()
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        tracemalloc.stop()
        return planned - began, done - planned, len(states), peak
    finally:
        await index.close()


def raw_scan(db: Path) -> float:
    conn = sqlite3.connect(db)
    began = time.perf_counter()
    conn.execute("SELECT id, sha256, cid, size FROM contents").fetchall()
    seconds = time.perf_counter() - began
    conn.close()
    return seconds


async def run(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as tmp:
        for name, peers, fresh in (("healthy", 3, 0), ("short of space", 1, 0), ("fresh keys", 1, 3)):
            db = Path(tmp) / f"{peers}-{fresh}.db"
            await (await Index.open(db)).close()
            fill(db, count, peers, fresh)
            raw = raw_scan(db)
            print(f"{name}: {count:,} contents, {peers} audited and {fresh} unaudited live peer(s) "
                  f"claiming each, K = {K}; raw sqlite3 scan of the contents {raw:.2f} s")
            for label, copies in (("planner round", K), ("full list", None)):
                states_s, plan_s, n, _ = await measure(db, copies, trace=False)
                _, _, _, peak = await measure(db, copies, trace=True)
                total = states_s + (plan_s if copies is not None else 0.0)
                print(f"  {label:14s} {n:>9,} states  {states_s:6.2f} s query"
                      + (f" + {plan_s:.2f} s plan" if copies is not None else "")
                      + f"  = {total / raw:5.1f}x the raw scan;  peak {peak / 2**20:6.1f} MiB"
                        f" ({peak / count:.0f} B per content)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contents", type=int, default=100_000)
    asyncio.run(run(parser.parse_args().contents))


if __name__ == "__main__":
    main()
