"""The /api/v1 routes: parameters checked and bounded, admin only with the token, rate limits per
client address, and the search and status objects."""

from __future__ import annotations

import socket
from typing import Any, AsyncIterator

import aiohttp
import pytest

from indexer.records import SearchQuery
from mirror.node.admin import admin_token
from mirror.node.app import Node
from mirror.feed.codec import MEDIA_TYPE, decode_page
from tests.node.node_helpers import nodes  # noqa: F401  (fixture)
from tests.node.node_helpers import NodeFactory, document


@pytest.fixture
async def node(nodes: NodeFactory) -> Node:
    n = await nodes.start("a", admin_token="s3cret")
    await n.index.upsert_documents([document(i) for i in range(5)])
    await n.index.upsert_document(document(9, title="Lake survey", license="CC0-1.0"))
    return n


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _get(http: aiohttp.ClientSession, url: str, **kw: Any) -> tuple[int, Any, Any]:
    async with http.get(url, **kw) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.read()
        return resp.status, body, resp.headers


async def test_feeds_are_listed_in_pages(node: Node, http: aiohttp.ClientSession) -> None:
    other = await node.merger.head(node.identity.node_id)
    status, body, headers = await _get(http, node.url + "/api/v1/feeds?limit=1")
    assert status == 200 and headers["X-Openmirror-Protocol"] == "2"
    assert body["feeds"] == [{"author": node.identity.node_id, "seq": 6, "head": other.head.hex(),
                              "ts": other.ts}]
    assert body["node_id"] == node.identity.node_id and body["more"] is False
    status, body, _ = await _get(http, node.url + "/api/v1/feeds",
                                 params={"after": node.identity.node_id})
    assert body["feeds"] == []


async def test_entry_pages_and_their_bounds(node: Node, http: aiohttp.ClientSession) -> None:
    base = f"{node.url}/api/v1/feeds/{node.identity.node_id}/entries"
    status, body, headers = await _get(http, base, params={"after": "2", "limit": "3"})
    assert status == 200 and headers["Content-Type"] == MEDIA_TYPE
    entries = decode_page(body, max_entries=3, max_bytes=1 << 20)
    assert [e.seq for e in entries] == [3, 4, 5]
    assert headers["X-Openmirror-Feed-Seq"] == "6" and "immutable" in headers["Cache-Control"]
    status, body, headers = await _get(http, base, params={"after": "5"})
    assert len(decode_page(body, max_entries=10, max_bytes=1 << 20)) == 1
    assert "Cache-Control" not in headers                     # not full: it will still grow
    for params in ({"limit": "0"}, {"limit": "5001"}, {"after": "-1"}, {"after": "x"},
                   {"after": "9" * 40}):
        status, body, _ = await _get(http, base, params=params)
        assert status == 400 and body["error"]["code"] == "bad_request", params
    status, body, _ = await _get(http, f"{node.url}/api/v1/feeds/nobody/entries")
    assert status == 400
    status, body, _ = await _get(http, f"{node.url}/api/v1/feeds/om{'a' * 51}q/entries")
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_notify_bodies_are_bounded_and_checked(node: Node, http: aiohttp.ClientSession) -> None:
    url = node.url + "/api/v1/notify"
    good = {"author": node.identity.node_id, "seq": 1, "head": None}
    async with http.post(url, json=good) as resp:
        assert resp.status == 202
    async with http.post(url, json=good | {"pad": "x" * 5000}) as resp:
        assert resp.status == 413
    for bad in ({"author": "x", "seq": 1}, {"author": node.identity.node_id, "seq": -1},
                {"author": node.identity.node_id, "seq": 1, "origin": 7}):
        async with http.post(url, json=bad) as resp:
            assert resp.status == 400
    async with http.post(url, data=b"[1, 2") as resp:
        assert resp.status == 400


async def test_search_returns_the_objects_of_search_json(node: Node, http: aiohttp.ClientSession) -> None:
    status, body, _ = await _get(http, node.url + "/api/v1/search",
                                 params={"q": "survey", "license": "CC0-1.0", "limit": "5"})
    expected = await node.index.search(SearchQuery("survey", license="CC0-1.0", limit=5))
    assert status == 200 and body == [h.to_dict() for h in expected] and len(body) == 1
    assert body[0]["title"] == "Lake survey"
    status, body, _ = await _get(http, node.url + "/api/v1/search", params={"limit": "1000"})
    assert status == 400


async def test_status_has_the_documented_fields(node: Node, http: aiohttp.ClientSession) -> None:
    status, body, _ = await _get(http, node.url + "/api/v1/status")
    assert status == 200
    assert {"node_id", "url", "peers", "documents", "held", "storage_used", "feeds"} <= body.keys()
    assert (body["node_id"], body["documents"], body["feeds"], body["entries"], body["held"]) == (
        node.identity.node_id, 6, 1, 6, 0)


def _outside_address() -> str | None:
    """An address of this machine that is not loopback (requests from it are not local)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


async def test_adding_peers_from_another_host_needs_the_token(nodes: NodeFactory,
                                                         http: aiohttp.ClientSession) -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    node = Node(nodes.home("admin"), listen=f"{address}:0", admin_token="s3cret", rate_limit=0)
    await node.start()
    try:
        url = node.url + "/api/v1/peers"
        async with http.post(url, json={"url": "http://peer.example:8470"}) as resp:
            assert resp.status == 403
        async with http.post(url, json={"url": "http://peer.example:8470"},
                             headers={"Authorization": "Bearer wrong"}) as resp:
            assert resp.status == 403
        async with http.post(url, json={"url": "http://peer.example:8470/"},
                             headers={"Authorization": "Bearer s3cret"}) as resp:
            assert resp.status == 201 and (await resp.json())["url"] == "http://peer.example:8470"
        async with http.post(url, json={"url": "ftp://peer.example"},
                             headers={"Authorization": "Bearer s3cret"}) as resp:
            assert resp.status == 400
        assert [p.url for p in await node.book.all()] == ["http://peer.example:8470"]
    finally:
        await node.stop()


async def test_localhost_needs_the_token_too(node: Node, http: aiohttp.ClientSession) -> None:
    async with http.post(node.url + "/api/v1/peers", json={"url": "127.0.0.1:9"}) as resp:
        assert resp.status == 403
    token = admin_token(node.home)
    async with http.post(node.url + "/api/v1/peers", json={"url": "127.0.0.1:9"},
                         headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 201
    assert (await node.book.get("http://127.0.0.1:9")).source == "configured"


async def test_each_client_address_is_rate_limited(nodes: NodeFactory,
                                                   http: aiohttp.ClientSession) -> None:
    node = await nodes.start("limited", rate_limit=1.0, rate_burst=3)
    statuses = []
    for _ in range(5):
        async with http.get(node.url + "/api/v1/status") as resp:
            statuses.append(resp.status)
            if resp.status == 429:
                assert int(resp.headers["Retry-After"]) >= 1
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429
