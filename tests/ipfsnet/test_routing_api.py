"""The Delegated Routing V1 HTTP API as the spec words it: records, statuses, negotiation, caching,
CORS, filters and bounds (the JS client's reading of it is in ``test_ipfs_clients.py``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror.node.routing.api import ProviderRecord, gateway_provider
from mirror.node.routing.peerid import peer_id_cid
from mirror.store.cid import CID, RAW
from routing_app import RouterServer
from tests.servers.local_app import running

HELD = CID.of(b"a block someone holds", RAW)
KEY_A = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32).public_key().public_bytes_raw()
KEY_B = Ed25519PrivateKey.from_private_bytes(b"\x02" * 32).public_key().public_bytes_raw()
A = gateway_provider(KEY_A, ["https://a.example", "http://10.0.0.1:8470"])
B = gateway_provider(KEY_B, ["http://[2001:db8::2]:8470"])


@pytest.fixture
async def router() -> AsyncIterator[RouterServer]:
    async with running(RouterServer({HELD.multihash: [A, B]})) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_providers_of_a_cid_are_peer_records_with_cache_and_cors_headers(router, http) -> None:
    async with http.get(f"{router.url}/routing/v1/providers/{HELD}") as resp:
        body = await resp.json()
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert body == {"Providers": [
        {"Schema": "peer", "ID": A.peer_id, "Protocols": ["transport-ipfs-gateway-http"],
         "Addrs": ["/dns/a.example/tcp/443/https", "/ip4/10.0.0.1/tcp/8470/http"]},
        {"Schema": "peer", "ID": B.peer_id, "Protocols": ["transport-ipfs-gateway-http"],
         "Addrs": ["/ip6/2001:db8::2/tcp/8470/http"]}]}
    assert resp.headers["Cache-Control"] == \
        "public, max-age=300, stale-while-revalidate=600, stale-if-error=600"
    assert resp.headers["Vary"] == "Accept"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Last-Modified"].endswith(" GMT")


async def test_a_cid_in_another_form_finds_the_same_block(router, http) -> None:
    as_v1_dagpb = CID(1, 0x70, HELD.multihash)        # the table is keyed by multihash
    async with http.get(f"{router.url}/routing/v1/providers/{as_v1_dagpb.encode('base36')}") as resp:
        assert resp.status == 200 and len((await resp.json())["Providers"]) == 2


async def test_ndjson_only_when_asked_for(router, http) -> None:
    url = f"{router.url}/routing/v1/providers/{HELD}"
    async with http.get(url, headers={"Accept": "application/x-ndjson"}) as resp:
        text = await resp.text()
    assert resp.headers["Content-Type"] == "application/x-ndjson"
    assert [json.loads(line)["ID"] for line in text.splitlines()] == [A.peer_id, B.peer_id]
    assert text.endswith("\n")
    for accept in ("application/json", "*/*", "application/x-ndjson;q=0", "text/html",
                   "application/json, application/x-ndjson;q=0.5"):
        async with http.get(url, headers={"Accept": accept}) as resp:
            assert resp.headers["Content-Type"] == "application/json", accept


async def test_no_provider_is_an_empty_200_cached_briefly(router, http) -> None:
    other = CID.of(b"nobody holds this", RAW)
    async with http.get(f"{router.url}/routing/v1/providers/{other}") as resp:
        assert resp.status == 200 and await resp.json() == {"Providers": []}
        assert resp.headers["Cache-Control"].startswith("public, max-age=15,")


@pytest.mark.parametrize("path", ["providers/not-a-cid", "providers/" + "b" * 300, "providers/bafkqaaa%00",
                                  "peers/not-a-peer", "peers/" + str(HELD), "nothing/here"])
async def test_malformed_requests_are_400_with_cors(router, http, path: str) -> None:
    async with http.get(f"{router.url}/routing/v1/{path}") as resp:
        assert resp.status == 400, path
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert len(await resp.read()) < 400


@pytest.mark.parametrize(("method", "path"), [("GET", "ipns/k51qzi5uqu5dh"), ("PUT", "providers"),
                                              ("PUT", "peers"), ("PUT", f"providers/{HELD}")])
async def test_parts_of_the_api_not_offered_are_501(router, http, method: str, path: str) -> None:
    async with http.request(method, f"{router.url}/routing/v1/{path}") as resp:
        assert resp.status == 501


async def test_preflight_allows_any_origin(router, http) -> None:
    headers = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET",
               "Access-Control-Request-Headers": "accept"}
    async with http.options(f"{router.url}/routing/v1/providers/{HELD}", headers=headers) as resp:
        assert resp.status in (200, 204)
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "GET" in resp.headers["Access-Control-Allow-Methods"]


async def test_peers_by_either_form_of_the_peer_id(router, http) -> None:
    for name in (B.peer_id, peer_id_cid(KEY_B)):
        async with http.get(f"{router.url}/routing/v1/peers/{name}") as resp:
            assert resp.status == 200
            assert [p["ID"] for p in (await resp.json())["Peers"]] == [B.peer_id]
    stranger = peer_id_cid(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    async with http.get(f"{router.url}/routing/v1/peers/{stranger}") as resp:
        assert resp.status == 200 and await resp.json() == {"Peers": []}


@pytest.mark.parametrize(("query", "expected"), [
    ("filter-addrs=https", [(A.peer_id, ["/dns/a.example/tcp/443/https"])]),
    ("filter-addrs=!ip6", [(A.peer_id, list(A.addrs))]),
    ("filter-addrs=http,!ip4", [(B.peer_id, list(B.addrs))]),
    ("filter-addrs=TCP", [(A.peer_id, list(A.addrs)), (B.peer_id, list(B.addrs))]),
    ("filter-addrs=webrtc", []),
    ("filter-protocols=transport-bitswap", []),
    ("filter-protocols=transport-bitswap,Transport-IPFS-Gateway-HTTP",
     [(A.peer_id, list(A.addrs)), (B.peer_id, list(B.addrs))]),
])
async def test_ipip_484_filters(router, http, query: str, expected: list) -> None:
    async with http.get(f"{router.url}/routing/v1/providers/{HELD}?{query}") as resp:
        got = [(p["ID"], p["Addrs"]) for p in (await resp.json())["Providers"]]
    assert got == expected


async def test_unknown_addresses_and_protocols_pass_only_when_asked(router, http) -> None:
    bare = ProviderRecord(B.peer_id, (), ())
    router.table[HELD.multihash] = [bare]
    url = f"{router.url}/routing/v1/providers/{HELD}"
    for query, count in (("filter-addrs=https", 0), ("filter-addrs=unknown", 1),
                         ("filter-protocols=transport-ipfs-gateway-http", 0),
                         ("filter-protocols=unknown", 1)):
        async with http.get(f"{url}?{query}") as resp:
            assert len((await resp.json())["Providers"]) == count, query


@pytest.mark.parametrize("query", ["filter-addrs=" + "x," * 40, "filter-protocols=" + "p" * 64,
                                   "filter-addrs=" + "a" * 1100])
async def test_oversized_filters_are_refused(router, http, query: str) -> None:
    async with http.get(f"{router.url}/routing/v1/providers/{HELD}?{query}") as resp:
        assert resp.status == 400


async def test_answers_are_capped_at_100_json_and_1000_ndjson_records(router, http) -> None:
    many = [gateway_provider(Ed25519PrivateKey.from_private_bytes(i.to_bytes(32, "big"))
                             .public_key().public_bytes_raw(), [f"https://n{i}.example"])
            for i in range(1, 1201)]
    router.table[HELD.multihash] = many
    url = f"{router.url}/routing/v1/providers/{HELD}"
    async with http.get(url) as resp:
        assert len((await resp.json())["Providers"]) == 100
    async with http.get(url, headers={"Accept": "application/x-ndjson"}) as resp:
        assert len((await resp.text()).splitlines()) == 1000
