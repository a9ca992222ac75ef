"""Reading an IPNI chain in the tests as an indexer does: from the head, over HTTP, every block
checked against its CID (the third-party reading is in ``test_ipfs_clients.py``)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from mirror.node.ipni.http import ipni_routes
from mirror.node.ipni.publisher import IpniPublisher
from mirror.store.cid import CID
from tests.servers.local_app import FakeServer


class PublisherServer(FakeServer):
    """The IPNI endpoints of ``publisher`` on 127.0.0.1."""

    def __init__(self, publisher: IpniPublisher) -> None:
        super().__init__()
        self.publisher = publisher
        ipni_routes(self.app, publisher)


class AnnounceRecorder(FakeServer):
    """An indexer's ingest endpoint: records every PUT /announce; answers ``statuses`` in turn
    (then 204)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        super().__init__()
        self.bodies: list[tuple[str, bytes]] = []
        self.statuses = list(statuses or [])
        self.app.router.add_put("/announce", self.announce)

    async def announce(self, request: web.Request) -> web.Response:
        self.bodies.append((request.headers.get("Content-Type", ""), await request.read()))
        status = self.statuses.pop(0) if self.statuses else 204
        return web.Response(status=status, headers={"Retry-After": "0"} if status >= 400 else {})


def undag(value: Any) -> Any:
    """A decoded DAG-JSON value with links as CIDs and bytes as bytes."""
    if isinstance(value, dict):
        if list(value) == ["/"]:
            inner = value["/"]
            if isinstance(inner, str):
                return CID.decode(inner)
            return base64.b64decode(inner["bytes"] + "=" * (-len(inner["bytes"]) % 4))
        return {k: undag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [undag(v) for v in value]
    return value


@dataclass
class Ad:
    cid: CID
    value: dict[str, Any]
    entries: list[bytes]        # every multihash of its entry chunks, in order
    chunk_sizes: list[int]      # bytes of each entry chunk


async def fetch_block(http: aiohttp.ClientSession, base: str, cid: CID) -> bytes:
    async with http.get(f"{base}/ipni/v1/ad/{cid}") as resp:
        assert resp.status == 200, (cid, resp.status)
        data = await resp.read()
    assert cid.verify(data), f"{cid}: the body does not hash to the CID asked for"
    return data


async def walk(http: aiohttp.ClientSession, base: str) -> list[Ad]:
    """The chain at BASE, newest advertisement first."""
    async with http.get(f"{base}/ipni/v1/ad/head") as resp:
        if resp.status == 204:
            return []
        head = undag(json.loads(await resp.read()))
    ads, cid = [], head["head"]
    while cid is not None:
        value = undag(json.loads(await fetch_block(http, base, cid)))
        entries, sizes = [], []
        link = value["Entries"]
        while link is not None and not value["IsRm"]:
            data = await fetch_block(http, base, link)
            chunk = undag(json.loads(data))
            entries += chunk["Entries"]
            sizes.append(len(data))
            link = chunk.get("Next")
        ads.append(Ad(cid, value, entries, sizes))
        cid = value.get("PreviousID")
    return ads
