"""Peers that corrupt what they send are rejected and backed off, and nothing they sent is kept."""

from __future__ import annotations

import aiohttp
import pytest

from mirror.node.app import Node
from tests.node.hostile_peer import MODES, HostilePeer
from tests.node.node_helpers import nodes  # noqa: F401  (fixture)
from tests.node.node_helpers import NodeFactory, count, document, wait_for
from indexer.clock import entry_time


async def _rejected(node: Node, url: str) -> bool:
    peer = await node.book.get(url)
    return peer is not None and peer.failures >= 1 and bool(peer.backoff_until)


# A damaged entry in the middle of a page breaks the link from the next one: the page's checkpoint
# (its last entry's signature) no longer vouches for it (protocol §3.1).
WHY = {"flip-signature": "prev mismatch", "flip-payload": "prev mismatch",
       "broken-chain": "expected 11", "wrong-author": "not by the feed's author",
       "malformed": "record 0", "zstd-bomb": "would decompress", "endless": "longer than",
       "oversized": "over the", "bad-feed-list": "malformed feed list"}


@pytest.mark.parametrize("mode", MODES)
async def test_a_corrupting_peer_is_rejected_and_nothing_it_sent_is_kept(
        nodes: NodeFactory, mode: str) -> None:
    honest = await nodes.start("honest")
    await honest.index.upsert_documents([document(i) for i in range(20)])
    hostile = await HostilePeer(honest.url, mode).start()
    try:
        victim = await nodes.start("victim", peers=[hostile.url], backoff=30.0, backoff_max=60.0)
        await wait_for(lambda: _rejected(victim, hostile.url), what=f"{mode} peer to be rejected")
        peer = await victim.book.get(hostile.url)
        assert peer.backoff_until > entry_time() and WHY[mode] in peer.last_error
        status = await victim.status()                     # still serving, nothing applied/stored
        assert status["entries"] == 0 and status["documents"] == 0 and status["feeds"] == 0
        async with aiohttp.ClientSession() as session:
            async with session.get(victim.url + "/api/v1/status") as resp:
                assert resp.status == 200
        # backed off: no second attempt while the backoff lasts
        assert (await victim.book.get(hostile.url)).failures == 1
        # the honest node's entries still arrive once the victim knows it
        await victim.add_peer(honest.url)
        await wait_for(lambda: count(victim), what="honest sync")
        assert await count(victim) == 20
    finally:
        await hostile.close()


async def test_a_peer_serving_a_forked_feed_leaves_fork_evidence(nodes: NodeFactory) -> None:
    """An author that rewrites its feed (a restored backup) forks it; both branches are refused
    past the fork and the evidence is kept and served."""
    a = await nodes.start("a")
    await a.index.upsert_documents([document(i) for i in range(3)])
    b = await nodes.start("b", peers=[a.url])
    await wait_for(lambda: _seq(b, a.identity.node_id, 3), what="b to hold a's feed")
    await nodes.stop(b)
    # a rewrites its history from seq 3 on: delete its last entry and write another one
    from sqlalchemy import text
    async with a.index.transaction() as tx:
        conn = await tx.connection()
        await conn.execute(text("DELETE FROM feed_entries WHERE seq = 3"))
        prev = (await conn.execute(text("SELECT hash, ts FROM feed_entries WHERE seq = 2"))).one()
        await conn.execute(text("UPDATE feeds SET seq = 2, head = :h, ts = :t"), {"h": prev[0], "t": prev[1]})
    await a.index.upsert_documents([document(7, title="Rewritten history"), document(8)])
    b = await nodes.start("b", peers=[a.url])
    await wait_for(lambda: _forked(b, a.identity.node_id), what="fork evidence at b")
    async with aiohttp.ClientSession() as session:
        async with session.get(b.url + "/api/v1/forks") as resp:
            forks = (await resp.json())["forks"]
    assert [(f["author"], f["seq"]) for f in forks] == [(a.identity.node_id, 3)]
    docs = {d.source_id async for d in b.index.iter_documents()}
    assert docs == {"doc-0", "doc-1"}           # entries from the fork on no longer count
    assert (await b.book.get(a.url)).failures == 0   # a fork is not the relaying peer's fault


async def _seq(node: Node, author: str, seq: int) -> bool:
    return (await node.merger.head(author)).seq >= seq


async def _forked(node: Node, author: str) -> bool:
    return (await node.merger.head(author)).fork_seq == 3
