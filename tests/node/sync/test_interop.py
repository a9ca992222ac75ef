"""Protocol 1 and 2 interoperate (docs/protocol.md §10): the same entries, pages and API, read by a
protocol 2 reader (each run verified by its checkpoint) and by a protocol 1 reader (every
signature), in both directions and relayed; and the one feed on which they disagree."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web

from mirror.errors import SignatureError
from mirror.feed.bodies import put_body
from mirror.feed.codec import MEDIA_TYPE, encode_page
from mirror.feed.entry import Entry, make_entry, parse_entry
from mirror.feed.identity import Identity
from mirror.node.app import Node
from mirror.node.sync.client import PeerClient
from mirror.node.sync.pull import Syncer
from tests.node.node_helpers import nodes  # noqa: F401  (fixture)
from tests.node.node_helpers import NodeFactory, document, snapshot, wait_for
from tests.servers.local_app import FakeServer

N = 2500        # three pages of 1,000


class ProtocolOneFace(FakeServer):
    """A node as a protocol 1 node shows itself: every /api/v1 answer of UPSTREAM, saying
    protocol 1 (header and JSON), bytes otherwise untouched."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream
        self.app.router.add_route("*", "/api/v1/{tail:.*}", self.forward)

    async def forward(self, request: web.Request) -> web.Response:
        async with aiohttp.ClientSession() as session:
            async with session.request(request.method, self.upstream + request.path_qs,
                                       data=await request.read(),
                                       headers={"Content-Type": request.content_type}) as resp:
                body, status = await resp.read(), resp.status
                headers = {k: v for k, v in resp.headers.items()
                           if k in ("Content-Type", "X-Openmirror-Feed-Seq", "X-Openmirror-Feed-Head")}
        if headers.get("Content-Type", "").startswith("application/json"):
            obj = json.loads(body)
            if "protocol" in obj:
                obj["protocol"] = 1
            body = json.dumps(obj).encode()
        headers["X-Openmirror-Protocol"] = "1"
        return web.Response(body=body, status=status, headers=headers)


class HandmadeFeed(FakeServer):
    """An author's feed served exactly as given (protocol 1 API, no node behind it)."""

    def __init__(self, entries: list[Entry]) -> None:
        super().__init__()
        self.entries = entries
        self.app.router.add_get("/api/v1/feeds", self.feeds)
        self.app.router.add_get("/api/v1/feeds/{author}/entries", self.page)

    async def feeds(self, request: web.Request) -> web.Response:
        last = self.entries[-1]
        return web.json_response({"protocol": 1, "node_id": last.author, "more": False, "feeds": [
            {"author": last.author, "seq": last.seq, "head": last.hash_hex, "ts": last.ts}]})

    async def page(self, request: web.Request) -> web.Response:
        after, limit = int(request.query["after"]), int(request.query["limit"])
        return web.Response(body=encode_page(self.entries[after:after + limit]), content_type=MEDIA_TYPE)


async def _pull(node: Node, url: str, *, every_signature: bool) -> None:
    """NODE pulls from URL as a protocol 1 reader (EVERY_SIGNATURE) or a protocol 2 one."""
    report = await Syncer(node.merger, every_signature=every_signature).sync(PeerClient(node.session, url))
    assert report.error is None


async def test_protocol_1_and_2_readers_sync_each_other_relayed(nodes: NodeFactory) -> None:
    author = await nodes.start("author")
    for lo in range(0, N, 1000):
        await author.index.upsert_documents([document(i) for i in range(lo, min(lo + 1000, N))])
    one = await nodes.start("one")                              # reads as protocol 1 does
    await _pull(one, author.url, every_signature=True)          # 1 <- 2
    face = await ProtocolOneFace(one.url).start()
    try:
        two = await nodes.start("two")                          # protocol 2, relayed through 1
        await _pull(two, face.url, every_signature=False)       # 2 <- 1 (the author's feed)
        again = await nodes.start("again")
        await _pull(again, two.url, every_signature=True)       # 1 <- 2 <- 1 <- 2
    finally:
        await face.close()
    expected = await snapshot(author)
    assert len(expected) == N
    for node in (one, two, again):
        assert await snapshot(node) == expected
        assert (await node.merger.head(author.identity.node_id)).seq == N


def _vouched_feed(author: Identity, bad: int, length: int) -> list[Entry]:
    """AUTHOR's feed of LENGTH entries in which entry BAD has an invalid signature of its own,
    and the author signed every later entry over it (only the author can do that)."""
    entries: list[Entry] = []
    prev: Entry | bytes | None = None
    for seq in range(1, length + 1):
        entry = make_entry(author, seq, prev, "put", put_body(document(seq)), ts="2025-03-01T00:00:00.000000Z")
        if seq == bad:
            entry = parse_entry(entry.payload, bytes(64))
        entries.append(entry)
        prev = entry.hash if seq == bad else entry
    return entries


async def test_the_one_feed_protocol_1_and_2_readers_disagree_on(nodes: NodeFactory) -> None:
    author = Identity.generate()
    feed = await HandmadeFeed(_vouched_feed(author, bad=3, length=5)).start()
    try:
        two = await nodes.start("two")
        await _pull(two, feed.url, every_signature=False)
        assert (await two.merger.head(author.node_id)).seq == 5    # the author vouched for entry 3
        one = await nodes.start("one")
        for url in (feed.url, two.url):                              # from the author, or relayed
            with pytest.raises(SignatureError, match="entry 3 .*bad signature"):
                await _pull(one, url, every_signature=True)
            assert (await one.merger.head(author.node_id)).seq == 0   # nothing of the run kept
    finally:
        await feed.close()


async def test_a_protocol_2_node_syncs_from_a_protocol_1_face_on_its_own(nodes: NodeFactory) -> None:
    """The gossip loop of a protocol 2 node pulls through a peer that says protocol 1."""
    author = await nodes.start("author")
    await author.index.upsert_documents([document(i) for i in range(30)])
    face = await ProtocolOneFace(author.url).start()
    try:
        joiner = await nodes.start("joiner", peers=[face.url])
        await wait_for(lambda: _holds(joiner, author, 30), what="the joiner to sync through the face")
        assert await snapshot(joiner) == await snapshot(author)
    finally:
        await face.close()


async def _holds(node: Node, author: Node, seq: int) -> bool:
    return (await node.merger.head(author.identity.node_id)).seq >= seq
