"""Replication rounds between real nodes: volunteers fill their budgets with the scarcest content
from its live holders, and dropping a content keeps the blocks other contents share."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from copies_helpers import Swarm, Volunteer, document

from indexer.records import ContentIn
from mirror.node.copies.budget import dag_bytes, measure
from mirror.node.copies.census import health, take_census
from mirror.node.copies.holdings import pull_holdings
from mirror.node.copies.replicate import RoundReport, replicate_round
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID
from mirror.store.exporter import walk_dag


async def pull(into: Volunteer, *sources: Volunteer) -> None:
    for source in sources:
        await pull_holdings(into.node.session, source.url, into.node.index)


async def round_of(v: Volunteer) -> RoundReport:
    report = await replicate_round(v.node.index, v.node.store, v.node.session, me=v.node_id,
                                   settings=v.node.settings)
    await v.publish()
    return report


def holds(v: Volunteer, content: ContentIn) -> bool:
    return v.node.store.has_all(CID.decode(content.cid))


async def learn(v: Volunteer, origin: Volunteer, contents: list[ContentIn]) -> None:
    """V indexes ORIGIN's documents as its feed sync would."""
    await v.node.index.upsert_documents([document(c) for c in contents], origin=origin.node_id)


async def test_volunteers_fill_their_budgets_with_copies_from_live_holders(swarm: Swarm, tmp_path: Path) -> None:
    origin = await swarm.start("origin")
    contents = [await origin.add(tmp_path, f"f{i}.bin", os.urandom(6000 + i)) for i in range(3)]
    dags = [dag_bytes(origin.node.store.blocks, c.cid)[0] for c in contents]   # bytes on disk
    roomy = await swarm.start("roomy", **{"node.storage": "1MB"})
    room = max(dags) + 100                                               # room for one DAG only
    small = await swarm.start("small", **{"node.storage": room})
    for v in (roomy, small):
        await learn(v, origin, contents)
    await origin.publish()
    await pull(roomy, origin)
    first = await round_of(roomy)
    assert sorted(first.fetched) == sorted(c.sha256 for c in contents) and first.failed == []
    assert all(holds(roomy, c) for c in contents) and first.used == sum(dags)
    assert first.used == roomy.node.store.blocks.stats()[1]            # counted as on disk
    await pull(small, origin, roomy)
    second = await round_of(small)
    assert len(second.fetched) == 1 and second.used <= room
    assert sum(holds(small, c) for c in contents) == 1
    assert (await round_of(small)).fetched == []                        # full: nothing more
    states = await take_census(small.node.index, me=small.node_id, holder_timeout=600)
    measure(small.node.store.blocks, states)
    figures = health(states, copies=3, budget=room)
    assert figures["under_replicated"] == 2 and figures["storage_budget_used"] == second.used
    assert figures["collections"]["c"]["copies"] == {"2": 2, "3": 1}


async def test_dropping_a_content_keeps_blocks_another_content_shares(swarm: Swarm, tmp_path: Path) -> None:
    origin = await swarm.start("origin")
    shared = os.urandom(8 * 1024)                                       # eight whole 1 KiB chunks
    x = await origin.add(tmp_path, "x.bin", shared + os.urandom(3000))
    y = await origin.add(tmp_path, "y.bin", shared + os.urandom(3000))
    volunteer = await swarm.start("volunteer", **{"node.storage": "1MB"})
    await learn(volunteer, origin, [x, y])
    await origin.publish()
    await pull(volunteer, origin)
    assert len((await round_of(volunteer)).fetched) == 2
    room = max(dag_bytes(volunteer.node.store.blocks, c.cid)[0] for c in (x, y))
    volunteer.node.settings.set("node.storage", room)                   # the owner shrinks the budget
    shrink = await round_of(volunteer)
    assert len(shrink.dropped) == 1 and shrink.used <= room and shrink.blocks_deleted > 0
    kept, gone = (x, y) if shrink.dropped == [y.sha256] else (y, x)
    assert holds(volunteer, kept) and not holds(volunteer, gone)
    assert hashlib.sha256(b"".join(volunteer.node.store.cat(CID.decode(kept.cid)))).hexdigest() == kept.sha256
    states = {s.sha256: s for s in await take_census(volunteer.node.index, me=volunteer.node_id,
                                                         holder_timeout=600)}
    assert states[kept.sha256].held and not states[gone.sha256].held


async def test_a_fetch_that_fails_half_way_leaves_nothing_on_disk(swarm: Swarm, tmp_path: Path) -> None:
    origin = await swarm.start("origin")
    content = await origin.add(tmp_path, "f.bin", os.urandom(30_000))
    blocks = origin.node.store.blocks
    leaves = [cid for cid in walk(blocks, content.cid) if cid.codec == 0x55]
    for leaf in leaves[len(leaves) // 2:]:
        blocks.delete(leaf)                                  # the only holder lacks half of it
    volunteer = await swarm.start("volunteer", **{"node.storage": "1MB"})
    await learn(volunteer, origin, [content])
    await origin.publish()
    await pull(volunteer, origin)
    report = await round_of(volunteer)
    assert report.failed and report.fetched == []
    assert volunteer.node.store.blocks.stats() == (0, 0)     # the partial fetch was removed


def walk(blocks: BlockStore, cid_text: str) -> list[CID]:
    return [cid for cid, _ in walk_dag(blocks, CID.decode(cid_text))]
