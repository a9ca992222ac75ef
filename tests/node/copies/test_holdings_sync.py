"""Holdings between real nodes: publish, pull, relay, newer replaces older, live copies, hostile
peers."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from copies_helpers import Swarm, Volunteer, document

from indexer import copies as rows
from mirror.errors import PeerError, SignatureError
from mirror.node.copies.census import take_census, holder_urls
from mirror.feed.entry import encode_payload
from mirror.node.copies.holdings import SIGNING_CONTEXT, Announcement, forget_silent, note_contact, pull_holdings
from tests.servers.local_app import FakeServer


async def pull(into: Volunteer, source: Volunteer | str) -> int:
    url = source if isinstance(source, str) else source.url
    return await pull_holdings(into.node.session, url, into.node.index)


async def copies_seen(by: Volunteer, timeout: float = 600.0) -> dict[str, int]:
    states = await take_census(by.node.index, me=by.node_id, holder_timeout=timeout)
    return {s.sha256: s.copies for s in states}


async def stored(by: Volunteer, author: str) -> rows.HoldingRow | None:
    async with by.node.index.read() as conn:
        return await rows.get_holding(conn, author)


async def test_a_pull_learns_who_holds_what_and_relays_it(swarm: Swarm, tmp_path: Path) -> None:
    a, b, c = [await swarm.start(n) for n in "abc"]
    x = await a.add(tmp_path, "x.bin", os.urandom(5000))
    for other in (b, c):       # the document reached them through the feed (not through us)
        await other.node.index.upsert_document(document(x), origin=a.node_id)
    first = await a.publish()
    assert await pull(b, a) == 1
    assert (await copies_seen(b))[x.sha256] == 1
    assert await holder_urls(b.node.index, me=b.node_id, holder_timeout=600, sha256=x.sha256) == [a.url]
    await a.stop()
    assert await pull(c, b) >= 1           # relayed: c never talks to a
    assert (await copies_seen(c))[x.sha256] == 1
    assert (await stored(c, a.node_id)).payload == first.payload  # type: ignore[union-attr]
    assert (await copies_seen(c, timeout=0.0))[x.sha256] == 0      # not seen lately: not live


async def test_newer_replaces_older_and_unchanged_sets_are_not_fetched_again(swarm: Swarm,
                                                                             tmp_path: Path) -> None:
    a, b, c = [await swarm.start(n) for n in "abc"]
    x = await a.add(tmp_path, "x.bin", os.urandom(3000))
    await b.node.index.upsert_document(document(x), origin=a.node_id)
    await a.publish()
    await pull(c, a)                       # c keeps a's first announcement
    await pull(b, a)
    sets = lambda: sum(p.startswith("/api/v1/holdings/sets/") for p in a.seen)  # noqa: E731
    assert sets() == 2
    heartbeat = await a.publish()          # same set, new seq
    assert await pull(b, a) == 1 and sets() == 2
    assert (await stored(b, a.node_id)).seq == heartbeat.seq  # type: ignore[union-attr]
    y = await a.add(tmp_path, "y.bin", os.urandom(3000))
    await b.node.index.upsert_document(document(y), origin=a.node_id)
    await a.publish()
    assert await pull(b, a) == 1 and sets() == 3
    assert (await copies_seen(b)) == {x.sha256: 1, y.sha256: 1}
    assert await pull(b, c) == 0           # c relays a's older announcement: ignored
    assert (await copies_seen(b))[y.sha256] == 1


async def test_the_listing_pages_and_refuses_bad_parameters(swarm: Swarm, tmp_path: Path) -> None:
    volunteers = [await swarm.start(n) for n in "abcd"]
    for v in volunteers:
        await v.publish()
    hub = volunteers[0]
    for v in volunteers[1:]:
        await pull(hub, v)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hub.url}/api/v1/holdings", params={"limit": "3"}) as resp:
            page = await resp.json()
        assert resp.status == 200 and len(page["announcements"]) == 3 and page["more"]
        assert page["node_id"] == hub.node_id
        for bad in ({"limit": "0"}, {"limit": "x"}, {"after": "x" * 100}):
            async with http.get(f"{hub.url}/api/v1/holdings", params=bad) as resp:
                assert resp.status == 400
        async with http.get(f"{hub.url}/api/v1/holdings/sets/{'0' * 64}") as resp:
            assert resp.status == 404
        async with http.get(f"{hub.url}/api/v1/holdings/sets/xyz") as resp:
            assert resp.status == 400
    fresh = await swarm.start("e")
    assert await pull(fresh, hub) == 4     # several pages, in author order


class Liar(FakeServer):
    """A peer relaying a genuine announcement, but changed: a forged payload, a wrong set, or an
    unsorted list."""

    def __init__(self, genuine: Announcement, set_data: bytes, mode: str) -> None:
        super().__init__()
        self.genuine, self.set_data, self.mode = genuine, set_data, mode
        self.app.router.add_get("/api/v1/holdings", self.listing)
        self.app.router.add_get("/api/v1/holdings/sets/{hash}", self.held_set)

    async def listing(self, request: web.Request) -> web.Response:
        payload, signature = self.genuine.payload, self.genuine.signature
        if self.mode == "forged":
            obj = json.loads(payload)
            obj["body"]["url"] = "http://evil.example"
            payload = encode_payload(obj)
        item = {"payload": base64.b64encode(payload).decode(), "signature": base64.b64encode(signature).decode()}
        items = [item, item] if self.mode == "unsorted" else [item]
        return web.json_response({"announcements": items, "more": False})

    async def held_set(self, request: web.Request) -> web.Response:
        body = self.set_data[:-1] + b"\x00" if self.mode == "wrong-set" else self.set_data
        return web.Response(body=body)


@pytest.mark.parametrize("mode, error", [("forged", SignatureError), ("wrong-set", PeerError),
                                         ("unsorted", PeerError)])
async def test_a_lying_relay_is_refused_and_nothing_is_stored(swarm: Swarm, tmp_path: Path,
                                                              mode: str, error: type) -> None:
    a, b = await swarm.start("a"), await swarm.start("b")
    await a.add(tmp_path, "x.bin", os.urandom(2000))
    genuine = await a.publish()
    row = await stored(a, a.node_id)
    liar = await Liar(genuine, row.set_data, mode).start()  # type: ignore[union-attr]
    try:
        with pytest.raises(error):
            await pull(b, liar.url)
    finally:
        await liar.close()
    assert await stored(b, a.node_id) is None
    assert SIGNING_CONTEXT.startswith(b"openmirror-announce")


async def test_contact_keeps_a_holder_live_and_silent_ones_are_forgotten(swarm: Swarm, tmp_path: Path) -> None:
    a, b = await swarm.start("a"), await swarm.start("b")
    x = await a.add(tmp_path, "x.bin", os.urandom(2000))
    await b.node.index.upsert_document(document(x), origin=a.node_id)
    await a.publish(ts="2020-01-01T00:00:00.000000Z")
    await pull(b, a)
    assert (await copies_seen(b))[x.sha256] == 0                  # announced long ago: not live
    await note_contact(b.node.index, a.node_id)
    assert (await copies_seen(b))[x.sha256] == 1                  # but it answered us just now
    assert await forget_silent(b.node.index, 3600) == 0
    await note_contact(b.node.index, a.node_id, at="2021-01-01T00:00:00.000000Z")   # never backwards
    assert (await copies_seen(b))[x.sha256] == 1
    assert await forget_silent(b.node.index, 0) == 1              # silent since a moment ago
    assert await stored(b, a.node_id) is None and (await copies_seen(b))[x.sha256] == 0
