"""Forks converge (issue 12 item 8): fork evidence is recorded at the first seq where two branches
of a feed differ, however late a node notices, so nodes with the same evidence hold the same
documents whatever order they learned things in."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from indexer import feeds
from indexer.feeds import Head
from mirror.feed.bodies import put_body, retract_body
from indexer.clock import entry_time
from mirror.feed.entry import Entry, make_entry
from mirror.feed.identity import Identity
from mirror.feed.merge import fork_evidence
from mirror.node.app import Node
from mirror.node.sync.client import PeerClient
from tests.node.node_helpers import nodes  # noqa: F401  (fixture)
from tests.node.node_helpers import NodeFactory, document, wait_for

AUTHOR = Identity.generate()
KEYS = 3
BASE = 1_700_000_000


async def test_a_fork_noticed_late_is_recorded_where_it_began(nodes: NodeFactory) -> None:
    """B holds five entries of A's feed; A then rewrites it from seq 3 and writes on to seq 6.
    B notices at seq 5 (the page after it does not link), but the branches part at 3."""
    a = await nodes.start("a")
    await a.index.upsert_documents([document(i) for i in range(5)])
    b = await nodes.start("b", peers=[a.url])
    author = a.identity.node_id
    await wait_for(lambda: _seq(b, author, 5), what="b to hold five entries of a's feed")
    await nodes.stop(b)
    async with a.index.transaction() as tx:            # a restores an old backup of its feed
        conn = await tx.connection()
        await conn.execute(text("DELETE FROM feed_entries WHERE seq >= 3"))
        prev = (await conn.execute(text("SELECT hash, ts FROM feed_entries WHERE seq = 2"))).one()
        await conn.execute(text("UPDATE feeds SET seq = 2, head = :h, ts = :t"), {"h": prev[0], "t": prev[1]})
    await a.index.upsert_documents([document(10 + i, title=f"Rewritten {i}") for i in range(4)])
    b = await nodes.start("b", peers=[a.url])
    await wait_for(lambda: _forked(b, author), what="fork evidence at b")
    async with b.index.read() as conn:
        found = await feeds.list_forks(conn, author=author)
    assert [f.seq for f in found] == [3] and (await b.merger.head(author)).fork_seq == 3
    assert {d.source_id async for d in b.index.iter_documents()} == {"doc-0", "doc-1"}


async def _seq(node: Node, author: str, seq: int) -> bool:
    return (await node.merger.head(author)).seq >= seq


async def _forked(node: Node, author: str) -> bool:
    return (await node.merger.head(author)).fork_seq is not None


# -- convergence, whatever the order ---------------------------------------------------------------

def branch(prefix: list[Entry], ops: list[tuple[int, int]], tag: str) -> list[Entry]:
    """PREFIX continued by one entry per op (key, what): what 0 retracts, else puts a title."""
    entries = list(prefix)
    for key, what in ops:
        moment = BASE + len(entries)
        ts = entry_time(datetime.fromtimestamp(moment, timezone.utc))
        body = (retract_body("c", f"doc-{key}") if what == 0 else
                put_body(document(key, title=f"{tag} {len(entries) + 1} says {what}")))
        entries.append(make_entry(AUTHOR, len(entries) + 1, entries[-1] if entries else None,
                                  "retract" if what == 0 else "put", body, ts=ts))
    return entries


async def learn(root: Path, branches: list[list[Entry]],
                orders: list[list[int]]) -> tuple[list[set], int]:
    """Relays serve the BRANCHES; each learner syncs with them in its order, then takes the fork
    evidence the others hold; returns each learner's live documents, and the evidence found."""
    factory = NodeFactory(root)
    try:
        relays = []
        for i, entries in enumerate(branches):
            relay = await factory.start(f"relay{i}", sync_interval=3600)
            await relay.merger.apply_run(AUTHOR.node_id, entries, Head(AUTHOR.node_id, 0, None, None))
            relays.append(relay)
        learners = []
        for i, order in enumerate(orders):
            learner = Node(factory.home(f"learner{i}"), listen="127.0.0.1:0")
            await learner.open()
            factory.nodes.append(learner)
            for r in order:
                await learner.syncer.sync(PeerClient(learner.session, relays[r].url))
            learners.append(learner)
        found = []
        for learner in learners:
            async with learner.index.read() as conn:
                found += await feeds.list_forks(conn)
        for learner in learners:                      # everyone learns everyone's evidence
            for fork in found:
                await learner.merger.add_fork(fork_evidence(fork.a, fork.b))
        return [{(d.source_id, d.title) async for d in n.index.iter_documents()}
                for n in learners], len(found)
    finally:
        await factory.close()


ops = st.lists(st.tuples(st.integers(0, KEYS - 1), st.integers(0, 2)), min_size=1, max_size=4)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, ops, ops, st.permutations([0, 1]), st.permutations([0, 1]))
@example([(0, 1)], [(1, 1), (1, 2)], [(1, 1), (1, 2), (2, 1)], [0, 1], [1, 0])
@example([(0, 1)], [(0, 0), (0, 0)], [(0, 0), (0, 1)], [0, 1], [0, 1])
def test_nodes_with_the_same_evidence_hold_the_same_documents(common, left, right, first, second) -> None:
    """Two learners sync the two branches of a forked feed in their own orders (a learner that
    holds the longer branch never notices a shorter one), then share their evidence."""
    prefix = branch([], common, "common")
    branches = [branch(prefix, left, "left"), branch(prefix, right, "right")]
    with tempfile.TemporaryDirectory() as tmp:
        held, evidence = asyncio.run(learn(Path(tmp), branches, [list(first), list(second)]))
    assert held[0] == held[1]
    if evidence:             # the fork excludes both branches from where they part
        shared = _shared_prefix(*branches)
        assert held[0] == {(d["source_id"], d["title"]) for d in _winners(shared)}


def _shared_prefix(a: list[Entry], b: list[Entry]) -> list[Entry]:
    """The entries both branches hold byte for byte: where they part is not always where their
    generators did (signatures are deterministic, so an op both branches begin with is one entry)."""
    shared = []
    for x, y in zip(a, b):
        if (x.payload, x.signature) != (y.payload, y.signature):
            break
        shared.append(x)
    return shared


def _winners(entries: list[Entry]) -> list[dict]:
    """The documents the common prefix alone decides (the last entry per key wins)."""
    last: dict[str, Entry] = {}
    for entry in entries:
        last[entry.body["source_id"]] = entry
    return [e.body for e in last.values() if e.kind == "put"]
