"""Attack: a peer relays holdings announcements of thousands of fresh keys, each claiming many
contents, to fill a node's index (every claim is a row).

A node keeps announcements within ``node.holdings_quota`` (``indexer.copies.put_holding``): the
newcomers of a flood are refused once the room is full, the holders known before them stay, and
a pull reads a bounded number of announcements whatever the peer says. The flood runs on
127.0.0.1 only, with a few hundred keys.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from aiohttp import web

from indexer.tallies import CLAIM_BYTES
from mirror.feed.identity import Identity
from mirror.node.copies import holdings
from mirror.node.copies.holdings import Announcement, make_announcement
from mirror.node.status import health_fields
from tests.node.copies.copies_helpers import Swarm, Volunteer
from tests.servers.local_app import FakeServer

CLAIMS = 200                        # contents each flooding key claims
QUOTA = 300_000                     # bytes of announcements the attacked node keeps


class Flood(FakeServer):
    """A peer listing KEYS fresh keys' announcements (sorted by author, pages of PAGE), each
    claiming CLAIMS contents, and serving their held sets."""

    PAGE = 50

    def __init__(self, keys: int) -> None:
        super().__init__()
        self.listed = 0
        self.anns: list[tuple[Announcement, bytes]] = [self._sign(i) for i in range(keys)]
        self.anns.sort(key=lambda pair: pair[0].author)
        self.sets = {ann.set_hash.hex(): data for ann, data in self.anns}
        self.app.router.add_get("/api/v1/holdings", self.listing)
        self.app.router.add_get("/api/v1/holdings/sets/{hash}", self.held_set)

    def _sign(self, i: int) -> tuple[Announcement, bytes]:
        held = [hashlib.sha256(f"{i}/{n}".encode()).hexdigest() for n in range(CLAIMS)]
        return make_announcement(Identity.generate(), seq=1, url=f"http://127.0.0.{2 + i % 200}:9",
                                 budget=1 << 40, used=0, held=held)

    async def listing(self, request: web.Request) -> web.Response:
        after = request.query.get("after", "")
        page = [ann for ann, _ in self.anns if ann.author > after][:self.PAGE]
        self.listed += len(page)
        items = [{"payload": base64.b64encode(a.payload).decode(),
                  "signature": base64.b64encode(a.signature).decode()} for a in page]
        return web.json_response({"announcements": items, "more": len(page) == self.PAGE})

    async def held_set(self, request: web.Request) -> web.Response:
        return web.Response(body=self.sets[request.match_info["hash"]])


async def pull(node: Volunteer, url: str, **options: int) -> int:
    """What the node's upkeep does after a sync with URL: pull, within the holdings quota."""
    return await holdings.pull_holdings(node.node.session, url, node.node.index,
                                        room=lambda: holdings.holdings_room(node.node.settings, node.node_id),
                                        **options)


async def kept(node: Volunteer) -> dict[str, int]:
    """author -> bytes its stored announcement takes (as the quota counts it)."""
    async with node.node.index.read() as conn:
        rows = await conn.exec_driver_sql(
            f"SELECT author, length(payload) + length(set_data) + count * {CLAIM_BYTES} FROM holdings")
        return {author: int(size) for author, size in rows}


async def test_a_flood_of_fresh_keys_stays_within_the_quota_and_the_known_holder_stays(
        swarm: Swarm) -> None:
    honest = await swarm.start("honest")
    await honest.publish()
    node = await swarm.start("node", **{"node.holdings_quota": QUOTA})
    assert await pull(node, honest.url) == 1                 # known before the flood
    flood = await Flood(keys=100).start()
    try:
        stored = await pull(node, flood.url)
    finally:
        await flood.close()
    sizes = await kept(node)
    assert sum(sizes.values()) <= QUOTA, sum(sizes.values())
    assert honest.node_id in sizes                             # not pushed out by newcomers
    assert 0 < stored < 100 and len(sizes) == stored + 1
    assert 100 * CLAIMS * CLAIM_BYTES > 10 * QUOTA              # the flood was far bigger
    shown = (await health_fields(node.node.index, node.node_id, node.node.settings))["holdings_quota"]
    assert shown == {"quota": QUOTA, "used": sum(sizes.values())}   # status says how full it is


async def test_a_pull_reads_a_bounded_number_of_announcements_even_when_it_keeps_none(swarm: Swarm) -> None:
    """Announcements refused for want of room still count against a pull's bound: a peer with
    more keys than the bound is read up to it, not to its end."""
    node = await swarm.start("node", **{"node.holdings_quota": 2 * CLAIMS * CLAIM_BYTES})
    flood = await Flood(keys=400).start()
    try:
        await pull(node, flood.url, limit=300)
    finally:
        await flood.close()
    assert 300 <= flood.listed <= 300 + Flood.PAGE
    assert len(await kept(node)) <= 2


@pytest.mark.parametrize("kind", ["silent", "unvetted-later", "configured"])
async def test_a_newcomer_takes_the_room_of_silent_holders_but_not_of_known_ones(
        swarm: Swarm, tmp_path: Path, kind: str) -> None:
    one = 2 * CLAIMS * CLAIM_BYTES                             # room for about one flood key
    node = await swarm.start("node", **{"node.holdings_quota": one, "node.holder_timeout": 600.0})
    first = await Flood(keys=1).start()
    second = await Flood(keys=1).start()
    try:
        assert await pull(node, first.url) == 1
        old = first.anns[0][0].author
        if kind == "silent":                                   # last seen long ago: not live
            async with node.node.index.transaction() as tx:
                await (await tx.connection()).exec_driver_sql(
                    "UPDATE holdings SET seen_at = '2000-01-01T00:00:00.000000Z'")
        if kind == "configured":                               # the operator's peer: always room
            async with node.node.index.transaction() as tx:
                await (await tx.connection()).exec_driver_sql(
                    "INSERT INTO peers (url, node_id, source, added_at, failures) "
                    "VALUES ('http://127.0.0.1:9', ?, 'configured', '', 0)", (second.anns[0][0].author,))
        assert await pull(node, second.url) == (0 if kind == "unvetted-later" else 1)
    finally:
        await first.close()
        await second.close()
    expected = {old} if kind == "unvetted-later" else {second.anns[0][0].author}
    assert set(await kept(node)) == expected
