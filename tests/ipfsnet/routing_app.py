"""A router on 127.0.0.1 for the tests: ``routing_routes`` over a fixed table of who holds what.

``RouterServer(table)`` answers ``/routing/v1/providers/{cid}`` from ``table`` (CID multihash ->
records) and ``/routing/v1/peers/{id}`` from the records it lists; ``asked`` logs the CIDs asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from mirror.node.routing.api import ProviderRecord, routing_routes
from mirror.node.routing.peerid import parse_peer_id
from mirror.store.cid import CID
from tests.servers.local_app import FakeServer


class RouterServer(FakeServer):
    def __init__(self, table: dict[bytes, Sequence[ProviderRecord]] | None = None) -> None:
        super().__init__()
        self.table: dict[bytes, Sequence[ProviderRecord]] = table if table is not None else {}
        self.asked: list[CID] = []
        routing_routes(self.app, self.providers, self.peers, max_ttl=600)

    async def providers(self, cid: CID) -> Sequence[ProviderRecord]:
        self.asked.append(cid)
        return self.table.get(cid.multihash, ())

    async def peers(self, multihash: bytes) -> Sequence[ProviderRecord]:
        known = {r.peer_id: r for records in self.table.values() for r in records}
        return [r for p, r in known.items() if parse_peer_id(p) == multihash]
