"""A peer that speaks protocol v1 only to lead other nodes somewhere: a real aiohttp server on
127.0.0.1 with its own node id, no feeds and no holdings, whose peer list names ``listed``.

``listed`` may be long (10,000 URLs): each ``GET /api/v1/peers`` answers the next
``PEERS_LISTED`` of them (a real node lists at most that many), round and round, so repeated syncs
offer every one. ``notify(url, ...)`` sends the notifies an attacking client would.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from mirror.feed.identity import Identity
from mirror.node.limits import PEERS_LISTED
from tests.servers.local_app import FakeServer


class LyingPeer(FakeServer):
    """See the module docstring; ``peer_lists`` counts the peer lists it served."""

    def __init__(self) -> None:
        super().__init__()
        self.node_id = Identity.generate().node_id
        self.listed: list[str] = []
        self.peer_lists = 0
        r = self.app.router
        r.add_get("/api/v1/feeds", self._feeds)
        r.add_get("/api/v1/peers", self._peers)
        r.add_get("/api/v1/holdings", self._holdings)
        r.add_post("/api/v1/notify", self._notify)

    async def _feeds(self, request: web.Request) -> web.Response:
        return web.json_response({"protocol": 1, "node_id": self.node_id, "feeds": [], "more": False})

    async def _peers(self, request: web.Request) -> web.Response:
        start = (self.peer_lists * PEERS_LISTED) % max(1, len(self.listed))
        self.peer_lists += 1
        page = self.listed[start:start + PEERS_LISTED]
        return web.json_response({"peers": [{"url": url, "node_id": None, "last_seen": None} for url in page]})

    async def _holdings(self, request: web.Request) -> web.Response:
        return web.json_response({"node_id": self.node_id, "announcements": [], "more": False})

    async def _notify(self, request: web.Request) -> web.Response:
        return web.json_response({"accepted": True}, status=202)


async def notify(session: aiohttp.ClientSession, node_url: str, *, author: str, seq: int,
                 origin: str | None) -> int:
    """POST one notify to the node at NODE_URL; returns the status."""
    body: dict[str, Any] = {"author": author, "seq": seq, "head": None, "origin": origin}
    async with session.post(node_url + "/api/v1/notify", json=body) as resp:
        return resp.status
