"""Real third-party IPFS software reads what the node publishes: @libp2p/peer-id derives the same
peer ID, @helia/delegated-routing-v1-http-api-client parses the routing answers, and the IPNI
chain verifies as an indexer walks it (@ipld/dag-json, @libp2p/peer-record, @libp2p/crypto,
@web3-storage/ipni). Versions: tests/ipfsclients/package-lock.json."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipni_helpers import AnnounceRecorder, PublisherServer
from jsclients import run_js
from mirror.feed.identity import Identity
from mirror.node.ipni.announce import Announcer
from mirror.node.ipni.publisher import HeldDag, IpniPublisher, held_content
from mirror.node.routing.api import gateway_provider
from mirror.node.routing.multiaddr import url_to_multiaddr
from mirror.node.routing.peerid import peer_id
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, RAW
from routing_app import RouterServer
from tests.node.holder_server import SMALL
from tests.node.node_helpers import wait_for
from tests.servers.local_app import running

VECTORS = json.loads((Path(__file__).parent / "vectors" / "libp2p-peer-ids.json").read_text())


def private_proto(seed: bytes) -> str:
    """The libp2p protobuf private key (hex) of an Ed25519 seed: 08 01 12 40 seed || public."""
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    return "08011240" + (seed + public).hex()


async def test_libp2p_derives_the_peer_id_we_derive(js_clients) -> None:
    got = await run_js("peer-id.mjs", VECTORS["ed25519_private_key_protobuf"])
    assert got == {"peerId": VECTORS["ed25519_peer_id"], "cid": VECTORS["ed25519_peer_id_cid"]}
    seed = os.urandom(32)
    identity = Identity(Ed25519PrivateKey.from_private_bytes(seed))
    got = await run_js("peer-id.mjs", private_proto(seed))
    assert got["peerId"] == peer_id(identity.public_key_bytes)


async def test_the_helia_routing_client_reads_our_providers_in_json_and_ndjson(js_clients) -> None:
    held = CID.of(b"a block", RAW)
    keys = [Ed25519PrivateKey.generate().public_key().public_bytes_raw() for _ in range(2)]
    records = [gateway_provider(keys[0], ["https://a.example", "http://127.0.0.1:8470"]),
               gateway_provider(keys[1], ["http://[::1]:8471"])]
    expected = [{"schema": "peer", "id": r.peer_id, "addrs": list(r.addrs),
                 "protocols": ["transport-ipfs-gateway-http"]} for r in records]
    async with running(RouterServer({held.multihash: records})) as router:
        for mode, content_type in (("json", "application/json"), ("ndjson", "application/x-ndjson")):
            got = await run_js("routing-client.mjs", router.url, str(held), mode)
            assert got["providers"] == expected, mode
            assert content_type in got["exchanged"], got["exchanged"]
        got = await run_js("routing-client.mjs", router.url, str(CID.of(b"nobody's", RAW)), "ndjson")
        assert got["providers"] == []


async def test_an_indexer_walk_verifies_the_chain_and_finds_every_held_block(js_clients, tmp_path) -> None:
    seed = os.urandom(32)
    me = Identity(Ed25519PrivateKey.from_private_bytes(seed))
    store = ContentStore(BlockStore(tmp_path / "blocks"))
    held = [held_content(store.blocks, f"c{i}", store.add_file(io.BytesIO(os.urandom(n)), SMALL).cid)
            for i, n in enumerate((100, 9000, 40000))]
    publisher = IpniPublisher(tmp_path / "ipni", me, ["http://127.0.0.1:8470"], chunk_entries=8)
    async with running(PublisherServer(publisher)) as server:
        empty = await run_js("ipni-walk.mjs", server.url, peer_id(me.public_key_bytes))
        assert empty == {"ads": [], "rebuilt": 0}
        await publisher.publish(added=held[:2])
        await publisher.publish(added=held[2:])
        await publisher.publish(removed=["c0"])
        got = await run_js("ipni-walk.mjs", server.url, peer_id(me.public_key_bytes),
                           private_proto(seed))
    ads = list(reversed(got["ads"]))
    assert [a["isRm"] for a in ads] == [False, False, True, False]
    assert got["rebuilt"] == 4                 # @web3-storage/ipni signs the same bytes
    assert ads[2]["context"] == ads[0]["context"] and ads[3]["context"] not in (ads[0]["context"], ads[1]["context"])
    listed = [a["entries"] for a in ads]
    assert listed[0] == [mh.hex() for h in held[:2] for mh in h.multihashes]
    assert listed[1] == [mh.hex() for mh in held[2].multihashes] and len(listed[1]) > 40
    assert listed[3] == [mh.hex() for mh in held[1].multihashes]
    assert all(a["addresses"] == ["/ip4/127.0.0.1/tcp/8470/http"] for a in ads)


async def test_an_announce_names_the_head_and_the_publisher_as_an_indexer_reads_it(js_clients, tmp_path) -> None:
    me = Identity.generate()
    me_peer = peer_id(me.public_key_bytes)
    async with running(AnnounceRecorder()) as indexer, aiohttp.ClientSession() as session:
        announcer = Announcer(session, [indexer.url], me_peer, [url_to_multiaddr("https://m.example")])
        publisher = IpniPublisher(tmp_path / "ipni", me, ["https://m.example"], on_head=announcer.notify)
        (head,) = await publisher.publish(added=[held_content_of(b"one block")])
        await wait_for(lambda: indexer.bodies, what="an announce")
        await announcer.close()
    got = await run_js("announce-read.mjs", base64.b64encode(indexer.bodies[0][1]).decode())
    assert got == {"cid": str(head), "addrs": [f"/dns/m.example/tcp/443/https/p2p/{me_peer}"]}


async def test_the_walk_refuses_a_chain_of_another_provider(js_clients, tmp_path) -> None:
    publisher = IpniPublisher(tmp_path / "ipni", Identity.generate(), ["http://127.0.0.1:8470"])
    await publisher.publish(added=[held_content_of(b"a block")])
    someone_else = peer_id(Identity.generate().public_key_bytes)
    async with running(PublisherServer(publisher)) as server:
        with pytest.raises(AssertionError, match="signed by another peer"):
            await run_js("ipni-walk.mjs", server.url, someone_else)


def held_content_of(data: bytes) -> HeldDag:
    return HeldDag("k", [CID.of(data, RAW).multihash])
