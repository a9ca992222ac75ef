"""Retrieval from 1-3 real holder servers: equality, spreading, liars, slow and partial holders."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest
from tests.node.holder_server import HolderNode, HolderServer, corrupting, delaying, make_node, sha256, throttling

from mirror.errors import ContentUnavailable, NoHonestHolder
from mirror.node.copies.retrieve import find_holders, retrieve
from mirror.store import ContentStore, ImportResult
from mirror.store.cid import CID, RAW
from mirror.store.exporter import walk_dag

DATA = os.urandom(40_000)           # 40 leaves of 1 KiB under a 4-ary tree: 54 blocks


class Swarm:
    """Holder servers over their own homes, all holding DATA, plus a fresh local store."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.servers: list[HolderServer] = []
        self.nodes: list[HolderNode] = []
        self.result: ImportResult | None = None

    async def holder(self, *middlewares, holds: bool = True) -> HolderServer:
        node = await make_node(self.tmp / f"holder{len(self.nodes)}")
        if holds:
            self.result = node.add_bytes(self.tmp, "data.bin", DATA)
        server = await HolderServer(node, *middlewares).start()
        self.nodes.append(node)
        self.servers.append(server)
        return server

    async def local(self) -> ContentStore:
        return (await make_node(self.tmp / "local")).store

    @property
    def cid(self) -> CID:
        assert self.result is not None
        return self.result.cid

    def dag(self) -> list[CID]:
        return [c for c, _ in walk_dag(self.nodes[0].store.blocks, self.cid)]

    async def close(self) -> None:
        for server in self.servers:
            await server.close()


@pytest.fixture
async def swarm(tmp_path: Path):
    swarm = Swarm(tmp_path)
    try:
        yield swarm
    finally:
        await swarm.close()


def assert_complete(store: ContentStore, cid: CID) -> None:
    assert store.has_all(cid)
    assert sha256(b"".join(store.cat(cid))) == sha256(DATA)


def assert_all_verified(store: ContentStore) -> None:
    """Every stored block hashes to its name (get() verifies and raises otherwise)."""
    for multihash in store.blocks.iter_multihashes():
        store.blocks.get(CID(1, RAW, multihash))


async def test_one_holder_gives_the_whole_dag(swarm) -> None:
    server = await swarm.holder()
    store = await swarm.local()
    stats = await retrieve(store, swarm.cid, [server.url])
    assert_complete(store, swarm.cid)
    assert stats.blocks == len(swarm.dag()) == server.blocks_served()
    assert stats.bytes == sum(len(b) for _, b in walk_dag(store.blocks, swarm.cid))
    assert stats.per_holder == {server.url: stats.bytes} and stats.liars == []


async def test_three_holders_share_the_blocks(swarm) -> None:
    servers = [await swarm.holder() for _ in range(3)]
    store = await swarm.local()
    stats = await retrieve(store, swarm.cid, [s.url for s in servers], parallel=4)
    assert_complete(store, swarm.cid)
    assert all(stats.per_holder_blocks[s.url] > len(swarm.dag()) / 10 for s in servers)
    assert sum(stats.per_holder_blocks.values()) == stats.blocks == len(swarm.dag())


async def test_a_lying_holder_is_dropped_and_honest_ones_finish(swarm) -> None:
    liar = await swarm.holder(corrupting)
    honest = [await swarm.holder(), await swarm.holder()]
    store = await swarm.local()
    stats = await retrieve(store, swarm.cid, [liar.url] + [s.url for s in honest])
    assert stats.liars == [liar.url] and stats.per_holder[liar.url] == 0
    assert_complete(store, swarm.cid)
    assert_all_verified(store)


async def test_only_liars_store_nothing(swarm) -> None:
    liars = [await swarm.holder(corrupting), await swarm.holder(corrupting)]
    store = await swarm.local()
    with pytest.raises(NoHonestHolder) as err:
        await retrieve(store, swarm.cid, [s.url for s in liars])
    assert err.value.exit_code == 4
    assert store.blocks.stats() == (0, 0)


async def test_a_slow_holder_gets_fewer_blocks(swarm) -> None:
    slow = await swarm.holder(delaying(0.25))
    fast = await swarm.holder()
    store = await swarm.local()
    stats = await retrieve(store, swarm.cid, [slow.url, fast.url], parallel=4, hedge_after=0.1)
    assert_complete(store, swarm.cid)
    assert stats.per_holder_blocks[slow.url] * 4 < stats.per_holder_blocks[fast.url]
    assert stats.hedged >= 1          # its requests were asked again from the fast holder


async def test_a_busy_holder_is_waited_for_not_dropped(swarm) -> None:
    busy = await swarm.holder(throttling(2))               # every second request: 429
    store = await swarm.local()
    stats = await retrieve(store, swarm.cid, [busy.url])
    assert_complete(store, swarm.cid)
    assert stats.dropped == [] and len(busy.requests) > 1.5 * stats.blocks


async def test_nobody_has_it(swarm) -> None:
    empty = [await swarm.holder(holds=False), await swarm.holder(holds=False)]
    missing = CID.of(b"held by nobody", RAW)
    store = await swarm.local()
    with pytest.raises(ContentUnavailable, match="no peer holds"):
        await retrieve(store, missing, [s.url for s in empty])
    with pytest.raises(ContentUnavailable, match="no peer holds"):
        await retrieve(store, missing, [])
    assert store.blocks.stats() == (0, 0)


async def test_missing_blocks_keep_what_was_verified_and_resume(swarm) -> None:
    partial = await swarm.holder()
    dag = swarm.dag()
    leaves = [c for c in dag if c.codec == RAW]
    for leaf in leaves[:5]:
        swarm.nodes[0].store.blocks.delete(leaf)
    store = await swarm.local()
    with pytest.raises(ContentUnavailable, match="5 blocks .* held by none"):
        await retrieve(store, swarm.cid, [partial.url])
    assert not store.has_all(swarm.cid)
    assert store.blocks.stats()[0] == len(dag) - 5                # verified blocks were kept
    full = await swarm.holder()
    stats = await retrieve(store, swarm.cid, [partial.url, full.url])
    assert_complete(store, swarm.cid)
    assert stats.blocks == 5 and stats.reused == len(dag) - 5


async def test_unreachable_holders_are_dropped(swarm) -> None:
    gone = await swarm.holder()
    await gone.close()
    good = await swarm.holder()
    store = await swarm.local()
    stats = await retrieve(store, swarm.cid, [gone.url, good.url], timeout=2)
    assert_complete(store, swarm.cid)
    assert stats.per_holder[gone.url] == 0


async def test_find_holders_probes_the_root(swarm) -> None:
    has = await swarm.holder()
    lacks = await swarm.holder(holds=False)
    gone = await swarm.holder()
    await gone.close()
    async with aiohttp.ClientSession() as session:
        found = await find_holders(swarm.cid, [lacks.url, has.url + "/", gone.url], session=session,
                                   timeout=2)
    assert found == [has.url]
    assert await find_holders(swarm.cid, []) == []
