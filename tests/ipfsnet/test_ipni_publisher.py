"""The IPNI publisher's chain, read over HTTP as an indexer reads it: what is listed, how it is cut,
what a drop withdraws, what is never sent twice, and how blocks and the head are served."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from ipni_helpers import PublisherServer, walk
from mirror.errors import BlockNotFound
from mirror.feed.identity import Identity
from mirror.node.ipni.advert import NO_ENTRIES
from mirror.node.ipni.dagjson import block_cid
from mirror.node.ipni.publisher import HeldDag, IpniPublisher, held_content
from mirror.node.routing.peerid import peer_id
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, RAW
from mirror.store.exporter import walk_dag
from tests.node.holder_server import SMALL
from tests.servers.local_app import running

URL = "https://mirror.example.org"


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(BlockStore(tmp_path / "blocks"))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def content(store: ContentStore, name: str, size: int) -> HeldDag:
    """Random bytes imported with 1 KiB chunks (a DAG of about size/1024 blocks), as held here."""
    result = store.add_file(io.BytesIO(os.urandom(size)), SMALL)
    return held_content(store.blocks, name, result.cid)


async def test_an_empty_chain_has_no_head(tmp_path, http) -> None:
    async with running(PublisherServer(IpniPublisher(tmp_path / "ipni", Identity.generate(), [URL]))) as server:
        async with http.get(f"{server.url}/ipni/v1/ad/head") as resp:
            assert resp.status == 204 and await resp.read() == b""
        assert await walk(http, server.url) == []


async def test_one_publication_lists_every_block_of_every_content(tmp_path, store, http) -> None:
    me = Identity.generate()
    held = [content(store, f"c{i}", 1024 * n) for i, n in enumerate((1, 7, 30))]
    assert len(held[0].multihashes) == 1 and len(held[2].multihashes) > 30
    publisher = IpniPublisher(tmp_path / "ipni", me, [URL, "http://10.1.2.3:8470"])
    new = await publisher.publish(added=held)
    async with running(PublisherServer(publisher)) as server:
        ads = await walk(http, server.url)
        async with http.get(f"{server.url}/ipni/v1/ad/head") as resp:
            assert resp.headers["Cache-Control"] == "no-cache, no-store, must-revalidate"
    assert [a.cid for a in ads] == new and len(ads) == 1
    ad = ads[0].value
    assert ads[0].entries == [mh for h in held for mh in h.multihashes]
    assert ad["Provider"] == peer_id(me.public_key_bytes)
    assert ad["Addresses"] == ["/dns/mirror.example.org/tcp/443/https", "/ip4/10.1.2.3/tcp/8470/http"]
    assert ad["Metadata"] == bytes.fromhex("a01200") and ad["IsRm"] is False
    assert len(ad["ContextID"]) == 16 and "PreviousID" not in ad


async def test_large_publications_are_cut_into_bounded_chunks_and_advertisements(tmp_path, store, http) -> None:
    held = [content(store, "small", 3 * 1024), content(store, "big", 60 * 1024),
            content(store, "after", 5 * 1024)]
    publisher = IpniPublisher(tmp_path / "ipni", Identity.generate(), [URL], chunk_entries=7,
                              ad_entries=20)
    await publisher.publish(added=held)
    async with running(PublisherServer(publisher)) as server:
        ads = list(reversed(await walk(http, server.url)))
    assert all(len(a.entries) <= 20 for a in ads)
    assert sum(len(a.chunk_sizes) for a in ads) == sum(-(-len(a.entries) // 7) for a in ads)
    listed = [mh for a in ads for mh in a.entries]
    assert sorted(listed) == sorted({mh for h in held for mh in h.multihashes})
    contexts = [a.value["ContextID"] for a in ads]
    big_ads = [a for a in ads if set(a.entries) <= set(held[1].multihashes)]
    assert len(big_ads) >= 3 and len({a.value["ContextID"] for a in big_ads}) == 1
    assert len(set(contexts)) == 3        # small, big (several ads), after


async def test_the_default_chunks_stay_under_the_indexers_4_mb(tmp_path, http) -> None:
    many = [HeldDag(f"k{i}", [CID.of(i.to_bytes(4, "big"), RAW).multihash for i in range(i * 1000, i * 1000 + 1000)])
            for i in range(40)]
    publisher = IpniPublisher(tmp_path / "ipni", Identity.generate(), [URL])
    await publisher.publish(added=many)
    async with running(PublisherServer(publisher)) as server:
        (ad,) = await walk(http, server.url)
    assert len(ad.entries) == 40_000 and len(ad.chunk_sizes) == 3
    assert max(ad.chunk_sizes) < 4_000_000 and max(ad.chunk_sizes) > 1_000_000


async def test_nothing_already_advertised_is_advertised_again(tmp_path, store) -> None:
    publisher = IpniPublisher(tmp_path / "ipni", Identity.generate(), [URL])
    a, b = content(store, "a", 2048), content(store, "b", 2048)
    assert len(await publisher.publish(added=[a])) == 1
    head = await publisher.head()
    assert await publisher.publish(added=[a]) == []
    assert await publisher.publish(added=[a, a]) == [] and await publisher.head() == head
    assert len(await publisher.publish(added=[a, b])) == 1


async def test_a_drop_withdraws_its_group_and_readvertises_what_is_still_held(tmp_path, store, http) -> None:
    a, b, c = (content(store, k, 4096) for k in "abc")
    publisher = IpniPublisher(tmp_path / "ipni", Identity.generate(), [URL])
    await publisher.publish(added=[a, b])
    await publisher.publish(added=[c])
    await publisher.publish(removed=["a", "not-advertised"])
    async with running(PublisherServer(publisher)) as server:
        first, second, rm, again = reversed(await walk(http, server.url))
        assert rm.value["IsRm"] is True and rm.value["Entries"] == NO_ENTRIES
        assert rm.value["ContextID"] == first.value["ContextID"]
        assert again.entries == list(b.multihashes) and again.value["IsRm"] is False
        assert again.value["ContextID"] not in (first.value["ContextID"], second.value["ContextID"])
        await publisher.publish(removed=["b"])
        await publisher.publish(removed=["b"])                    # already withdrawn: nothing
        ads = await walk(http, server.url)
    assert len(ads) == 5
    assert ads[0].value["IsRm"] and ads[0].value["ContextID"] == again.value["ContextID"]
    assert ads[0].value["PreviousID"] == again.cid


async def test_a_content_dropped_and_held_again_is_advertised_again(tmp_path, store) -> None:
    a = content(store, "a", 2048)
    publisher = IpniPublisher(tmp_path / "ipni", Identity.generate(), [URL])
    await publisher.publish(added=[a])
    assert len(await publisher.publish(removed=["a"])) == 1
    assert len(await publisher.publish(added=[a])) == 1


async def test_the_chain_goes_on_after_a_restart(tmp_path, store, http) -> None:
    me = Identity.generate()
    first = await IpniPublisher(tmp_path / "ipni", me, [URL]).publish(added=[content(store, "a", 10)])
    again = IpniPublisher(tmp_path / "ipni", me, [URL])
    assert await again.publish(added=[content(store, "a", 10)]) == []
    second = await again.publish(added=[content(store, "b", 10)])
    async with running(PublisherServer(again)) as server:
        ads = await walk(http, server.url)
    assert [a.cid for a in ads] == second + first


async def test_blocks_are_served_as_the_exact_bytes_of_their_cid(tmp_path, store, http) -> None:
    publisher = IpniPublisher(tmp_path / "ipni", Identity.generate(), [URL])
    (ad,) = await publisher.publish(added=[content(store, "a", 10)])
    async with running(PublisherServer(publisher)) as server:
        async with http.get(f"{server.url}/ipni/v1/ad/{ad}") as resp:
            data = await resp.read()
            assert resp.status == 200 and block_cid(data) == ad
            assert resp.headers["Cache-Control"] == "public, max-age=29030400, immutable"
            assert resp.headers["Content-Type"] == "application/json"
        for path, status in ((f"{CID(1, RAW, ad.multihash)}", 404),
                             (str(block_cid(b"{}")), 404), ("not-a-cid", 400), ("b" * 200, 400)):
            async with http.get(f"{server.url}/ipni/v1/ad/{path}") as resp:
                assert resp.status == status, path


@pytest.mark.parametrize("bad", [HeldDag("", [b"\x12\x20" + b"\0" * 32]), HeldDag("k", []),
                                 HeldDag("k", [b"\x12\x20" + b"\0" * 31]),
                                 HeldDag("k", [b"\x12\x20" + b"\0" * 33]),
                                 HeldDag("k" * 300, [b"\x12\x20" + b"\0" * 32])])
async def test_malformed_contents_are_refused(tmp_path, bad: HeldDag) -> None:
    publisher = IpniPublisher(tmp_path / "ipni", Identity.generate(), [URL])
    with pytest.raises(ValueError):
        await publisher.publish(added=[bad])
    assert await publisher.head() is None


def test_held_content_names_every_block_of_the_dag_once(store: ContentStore) -> None:
    data = os.urandom(20_000)
    result = store.add_file(io.BytesIO(data + data), SMALL)          # repeated chunks: shared blocks
    held = held_content(store.blocks, "k", result.cid)
    walked = list(dict.fromkeys(cid.multihash for cid, _ in walk_dag(store.blocks, result.cid)))
    assert held.multihashes == walked and held.multihashes[0] == result.cid.multihash
    leaf = next(cid for cid, _ in walk_dag(store.blocks, result.cid) if cid.codec == RAW)
    store.blocks.delete(leaf)
    with pytest.raises(BlockNotFound):
        held_content(store.blocks, "k", result.cid)


async def test_reconcile_makes_the_chain_say_what_is_held(tmp_path, store, http) -> None:
    roots = {name: store.add_file(io.BytesIO(os.urandom(3000)), SMALL).cid for name in "abc"}
    publisher = IpniPublisher(tmp_path / "ipni", Identity.generate(), [URL])
    first = await publisher.reconcile(roots, store.blocks, batch=2)
    assert len(first) == 2                                    # two groups: a+b, then c
    assert await publisher.reconcile(roots, store.blocks) == []
    incomplete = store.add_file(io.BytesIO(os.urandom(3000)), SMALL).cid
    store.blocks.delete(next(c for c, _ in walk_dag(store.blocks, incomplete) if c.codec == RAW))
    now = {"b": roots["b"], "c": roots["c"], "d": incomplete}
    await publisher.reconcile(now, store.blocks)               # a withdrawn; d not (yet) held
    async with running(PublisherServer(publisher)) as server:
        ads = list(reversed(await walk(http, server.url)))
    assert [a.value["IsRm"] for a in ads] == [False, False, True, False]
    assert ads[3].entries == held_content(store.blocks, "b", roots["b"]).multihashes
    assert await publisher.chain_keys() == {"b", "c"}
