"""The merge rule: idempotent and order-independent, with the licence gate and trust policy."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from indexer.feeds import Head, target_of
from mirror.feed.merge import Merger, StaleHead, fork_evidence
from mirror.feed.bodies import put_body, retract_body
from mirror.feed.entry import Entry, make_entry
from mirror.services import open_home
from mirror.feed.identity import Identity
from tests.node.node_helpers import NodeFactory, document
from indexer.clock import entry_time

AUTHORS = [Identity.generate() for _ in range(3)]
KEYS = 4
BASE = 1_700_000_000


def feed_of(who: Identity, ops: list[tuple[int, int, int]]) -> list[Entry]:
    """A feed of WHO: each op is (key, what, seconds later); what 0 retracts, 3 is an NC licence."""
    entries: list[Entry] = []
    moment = BASE
    for key, what, later in ops:
        moment += later
        ts = entry_time(datetime.fromtimestamp(moment, timezone.utc))
        if what == 0:
            body = retract_body("c", f"doc-{key}")
        else:
            doc = document(key, title=f"{who.node_id[:6]} says {what}",
                           license="CC-BY-NC-4.0" if what == 3 else "CC-BY-4.0")
            body = put_body(doc)
        entries.append(make_entry(who, len(entries) + 1, entries[-1] if entries else None,
                                  "retract" if what == 0 else "put", body, ts=ts))
    return entries


def expected_index(feeds: list[list[Entry]]) -> dict[str, str]:
    """The specification: per key, the accepted entry with the greatest order key wins."""
    best: dict[str, Entry] = {}
    for entry in (e for feed in feeds for e in feed):
        if entry.kind == "put" and entry.body["license"] != "CC-BY-4.0":
            continue
        key = entry.body["source_id"]
        if key not in best or entry.order_key > best[key].order_key:
            best[key] = entry
    return {k: e.body["title"] for k, e in best.items() if e.kind == "put"}


async def apply_in_order(root: Path, feeds: list[list[Entry]],
                         deliveries: list[tuple[int, int]]) -> dict[str, str]:
    """Deliver each feed in chunks (author, chunk size) in the given order, repeating some."""
    home = NodeFactory(root).home("n")
    async with open_home(home) as services:
        index = services.index
        merger = Merger(index, Identity.generate().node_id)
        heads = [Head(f[0].author, 0, None, None) if f else None for f in feeds]
        for author, size in deliveries:
            feed, head = feeds[author], heads[author]
            if not feed:
                continue
            run = feed[head.seq:head.seq + size] or feed[-size:]
            start = run[0].seq - 1
            prev = Head(head.author, start, feed[start - 1].hash if start else None,
                        feed[start - 1].ts if start else None)
            try:
                applied = await merger.apply_run(head.author, run, prev)
                heads[author] = applied.head
            except StaleHead:           # a duplicate delivery: refused by the cursor, no change
                pass
        for author, feed in enumerate(feeds):    # finish every feed
            head = heads[author]
            if feed and head.seq < len(feed):
                await merger.apply_run(head.author, feed[head.seq:], head)
        live = {}
        async for doc in index.iter_documents():
            live[doc.source_id] = doc.title
        return live


ops = st.lists(st.tuples(st.integers(0, KEYS - 1), st.integers(0, 3), st.integers(0, 2)),
               max_size=6)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(ops, ops, ops),
       st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), max_size=12))
def test_any_order_and_duplication_gives_the_same_index(all_ops, deliveries) -> None:
    feeds = [feed_of(who, o) for who, o in zip(AUTHORS, all_ops)]
    with tempfile.TemporaryDirectory() as tmp:
        got = asyncio.run(apply_in_order(Path(tmp), feeds, deliveries))
    assert got == expected_index(feeds)


async def test_rederive_from_the_stored_entries_changes_nothing(tmp_path: Path) -> None:
    feeds = [feed_of(who, [(k, (k + n) % 4, 1) for k in range(KEYS)]) for n, who in enumerate(AUTHORS)]
    home = NodeFactory(tmp_path).home("n")
    async with open_home(home) as services:
        index = services.index
        merger = Merger(index, Identity.generate().node_id)
        for feed in feeds:
            await merger.apply_run(feed[0].author, feed, Head(feed[0].author, 0, None, None))
        before = sorted([(d.source_id, d.title) async for d in index.iter_documents()])
        assert await merger.rederive({target_of("c", f"doc-{k}") for k in range(KEYS)}) == 0
        after = sorted([(d.source_id, d.title) async for d in index.iter_documents()])
        assert before == after == sorted(expected_index(feeds).items())


async def test_entries_dated_far_ahead_wait(tmp_path: Path) -> None:
    who = AUTHORS[0]
    now = make_entry(who, 1, None, "put", put_body(document(1)))
    ahead = make_entry(who, 2, now, "put", put_body(document(2)), ts="2999-01-01T00:00:00.000000Z")
    home = NodeFactory(tmp_path).home("n")
    async with open_home(home) as services:
        index = services.index
        applied = await Merger(index, "me").apply_run(
            who.node_id, [now, ahead], Head(who.node_id, 0, None, None))
        assert applied.stored == 1 and applied.head.seq == 1


async def test_fork_evidence_and_its_effect_commit_together(tmp_path: Path) -> None:
    """A failure while re-deriving (here a trigger standing in for a full disk or a crash) leaves
    neither the evidence nor its effect: the fork is recorded with its documents or not at all."""
    who = AUTHORS[0]
    ours = feed_of(who, [(0, 1, 1), (1, 1, 1), (2, 1, 1)])
    theirs = make_entry(who, 3, ours[1], "put", put_body(document(9)),
                        ts=entry_time(datetime.fromtimestamp(BASE + 9, timezone.utc)))
    home = NodeFactory(tmp_path).home("n")
    async with open_home(home) as services:
        index = services.index
        merger = Merger(index, Identity.generate().node_id)
        await merger.apply_run(who.node_id, ours, Head(who.node_id, 0, None, None))
        fork = fork_evidence((ours[2].payload, ours[2].signature), (theirs.payload, theirs.signature))
        async with index.transaction() as tx:
            await (await tx.connection()).execute(text(
                "CREATE TRIGGER refuse BEFORE UPDATE ON documents BEGIN SELECT RAISE(ABORT, 'no room'); END"))
        with pytest.raises(Exception, match="no room"):
            await merger.add_fork(fork)
        assert (await merger.head(who.node_id)).fork_seq is None
        assert {d.source_id async for d in index.iter_documents()} == {"doc-0", "doc-1", "doc-2"}
        async with index.transaction() as tx:
            await (await tx.connection()).execute(text("DROP TRIGGER refuse"))
        assert await merger.add_fork(fork)
        assert (await merger.head(who.node_id)).fork_seq == 3
        assert {d.source_id async for d in index.iter_documents()} == {"doc-0", "doc-1"}
