"""Real nodes are IPFS providers: a standard client routed through any one of them fetches, byte for
byte, every document the network holds, even from a router node that holds nothing itself; the
node's IPNI chain follows what it holds, and its delegated router names itself and the holders."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import aiohttp
from jsclients import run_js

from indexer.records import ContentIn, DocumentIn
from mirror import held
from mirror.node.app import Node
from mirror.node.routing.peerid import peer_id
from mirror.store.cid import CID
from tests.node.node_helpers import NodeFactory, wait_for

QUICK = {"holder_timeout": 5.0, "audit_interval": 60.0, "sync_interval": 0.3, "copies": 2}


async def add_file(node: Node, tmp: Path, i: int, size: int) -> tuple[ContentIn, bytes]:
    data = os.urandom(size)
    path = tmp / f"report-{i}.bin"
    path.write_bytes(data)
    result = await asyncio.to_thread(node.store.add_file, path)
    content = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                        profile=result.profile, media_type="application/octet-stream", name=path.name)
    await node.index.upsert_document(DocumentIn(collection="reports", source_id=f"r{i}", title=f"Report {i}",
                                                license="CC0-1.0", contents=[content]))
    return content, data


async def routed(router: Node, content: ContentIn, peers: set[str]) -> bool:
    """The router names exactly PEERS (by peer ID) as providers of CONTENT."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{router.url}/routing/v1/providers/{content.cid}") as resp:
            found = {p["ID"] for p in (await resp.json())["Providers"]}
    return found == peers


async def test_any_node_routes_a_standard_client_to_the_holders(js_clients, tmp_path: Path) -> None:
    factory = NodeFactory(tmp_path)
    try:
        origin = await factory.start("origin", **QUICK)
        files = [await add_file(origin, tmp_path, i, size) for i, size in enumerate((900, 40_000, 1_500_000))]
        volunteer = await factory.start("volunteer", peers=[origin.url], storage=10_000_000, **QUICK)
        router = await factory.start("router", peers=[origin.url], storage=0, **QUICK)
        holders = {peer_id(n.identity.public_key_bytes) for n in (origin, volunteer)}
        for content, _ in files:
            await wait_for(lambda c=content: volunteer.store.has_all(CID.decode(c.cid)), 30,
                           what="the volunteer's copy")
            await wait_for(lambda c=content: routed(router, c, holders), 30,
                           what="the router to know both holders")
        results = await run_js("verified-fetch.mjs", router.url, *[c.cid for c, _ in files], timeout=90)
        for (content, data), result in zip(files, results, strict=True):
            assert result["cid"] == content.cid
            assert (result.get("status"), result.get("sha256")) == (200, hashlib.sha256(data).hexdigest())
        assert not router.store.blocks.has(CID.decode(files[0][0].cid))    # it only routed
    finally:
        await factory.close()


async def test_a_node_advertises_what_it_holds_and_withdraws_what_it_drops(tmp_path: Path) -> None:
    factory = NodeFactory(tmp_path)
    try:
        node = await factory.start("a", **QUICK)
        assert await node.ipni.publisher.head() is None                 # nothing held: no chain
        content, _ = await add_file(node, tmp_path, 1, 5000)
        await wait_for(lambda: _advertised(node, {content.sha256}), 15, what="an advertisement")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{node.url}/ipni/v1/ad/head") as resp:
                assert resp.status == 200 and (await resp.json())["head"]
            async with http.get(f"{node.url}/routing/v1/providers/{content.cid}") as resp:
                (record,) = (await resp.json())["Providers"]
        assert record["ID"] == peer_id(node.identity.public_key_bytes)
        assert record["Addrs"] == [f"/ip4/127.0.0.1/tcp/{node.url.rsplit(':', 1)[1]}/http"]
        await asyncio.to_thread(node.store.blocks.delete, CID.decode(content.cid))
        await held.refresh(node.index, node.store, [content.sha256])  # as replication does on a drop
        node.ipni.wake()
        await wait_for(lambda: _advertised(node, set()), 15, what="the withdrawal")
    finally:
        await factory.close()


async def _advertised(node: Node, keys: set[str]) -> bool:
    return await node.ipni.publisher.chain_keys() == keys
