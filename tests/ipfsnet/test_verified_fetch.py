"""A standard IPFS client finds and verifies content through our router: @helia/verified-fetch on
Helia (HTTP only) with one of our routers as its only router fetches documents from the holders
the router names, byte-exact, and refuses a holder serving wrong bytes; the same through Caddy
with TLS and HTTP/2, as docs/deploy.md sets a public node up."""

from __future__ import annotations

import hashlib
import io
import os
import ssl
from collections.abc import Sequence
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caddy import Caddy
from jsclients import run_js
from mirror.node.routing.api import ProviderRecord, gateway_provider, routing_routes
from mirror.store.cid import CID
from tests.node.holder_server import SMALL, HolderServer, corrupting, make_node
from tests.servers.local_app import FakeServer, running


class HoldersRouter(FakeServer):
    """A router naming, for a CID, every holder whose blockstore has that block."""

    def __init__(self) -> None:
        super().__init__()
        self.holders: list[tuple[HolderServer, ProviderRecord]] = []
        routing_routes(self.app, self.providers, self.peers)

    def add(self, holder: HolderServer, url: str | None = None) -> None:
        key = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        self.holders.append((holder, gateway_provider(key, [url or holder.url])))

    async def providers(self, cid: CID) -> Sequence[ProviderRecord]:
        return [record for holder, record in self.holders if holder.node.store.blocks.has(cid)]

    async def peers(self, multihash: bytes) -> Sequence[ProviderRecord]:
        return []


async def holder(tmp_path: Path, name: str, sizes: Sequence[int], *middlewares) -> tuple[HolderServer, dict[str, bytes]]:
    node = await make_node(tmp_path / name)
    documents = {}
    for size in sizes:
        data = os.urandom(size)
        documents[str(node.store.add_file(io.BytesIO(data), SMALL).cid)] = data
    return await HolderServer(node, *middlewares).start(), documents


async def test_verified_fetch_gets_every_document_from_the_holders_our_router_names(js_clients, tmp_path) -> None:
    one, first = await holder(tmp_path, "one", (10, 5000, 70_000))
    two, second = await holder(tmp_path, "two", (3000,))
    try:
        async with running(HoldersRouter()) as router:
            router.add(one)
            router.add(two)
            documents = first | second
            results = await run_js("verified-fetch.mjs", router.url, *documents, timeout=90)
        for result in results:
            data = documents[result["cid"]]
            assert (result.get("status"), result.get("sha256")) == (200, hashlib.sha256(data).hexdigest()), result
        assert one.blocks_served() >= 70 and two.blocks_served() >= 3     # every block, from them
    finally:
        await one.close()
        await two.close()


async def test_a_holder_serving_wrong_bytes_is_refused(js_clients, tmp_path) -> None:
    liar, documents = await holder(tmp_path, "liar", (2000,), corrupting)
    try:
        async with running(HoldersRouter()) as router:
            router.add(liar)
            (result,) = await run_js("verified-fetch.mjs", router.url, *documents, timeout=90)
        (data,) = documents.values()
        assert result.get("status") == 502, result              # verified-fetch: bad gateway
        assert result.get("sha256") != hashlib.sha256(data).hexdigest()
        assert liar.blocks_served() >= 1                        # it was asked, and not believed
    finally:
        await liar.close()


async def test_through_caddy_with_tls_and_http2(js_clients, caddy_available, tmp_path) -> None:
    node, documents = await holder(tmp_path, "public", (9000, 100))
    try:
        async with Caddy(tmp_path / "caddy", node.url) as caddy, running(HoldersRouter()) as router:
            router.add(node, caddy.url)
            results = await run_js("verified-fetch.mjs", router.url, *documents, timeout=90,
                                   env={"NODE_EXTRA_CA_CERTS": str(caddy.root_certificate)})
            for result in results:
                assert result.get("sha256") == hashlib.sha256(documents[result["cid"]]).hexdigest(), result
            protocols = caddy.protocols("/ipfs/")
            context = ssl.create_default_context(cafile=str(caddy.root_certificate))
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{caddy.url}/api/v1/peers", ssl=context,
                                     json={"url": "http://evil.example"}) as resp:
                    assert resp.status == 403           # administrative calls stop at the proxy
                async with http.get(f"{caddy.url}/ipfs/bafkqaaa?format=raw", ssl=context) as resp:
                    assert resp.status == 200 and not resp.history       # the probe, no redirect
        assert protocols and protocols == {"HTTP/2.0"}, protocols
        assert node.blocks_served() >= 9
    finally:
        await node.close()
