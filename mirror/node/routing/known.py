"""What this node knows about who holds a CID: the answers of its delegated router.

    known = KnownProviders(index, store, identity, holder_timeout=600, url=lambda: node.url)
    routing_routes(app, known.providers, known.peers)

* **providers(cid)**: this node, when the block is in its store (any block: clients ask for inner
  blocks too) and its gateway serves it (``mirror.publication``: not private), then the live,
  trusted holders of the content whose root is ``cid`` (from holdings announcements and audits,
  ``indexer.copies.holders_of``), each as a ``peer`` record with its trustless gateway's address.
  A holder whose URL cannot be a provider address is left out.
* **peers(peer ID)**: this node, or the newest announcement of the node with that key.

Nothing here contacts anyone; the answers cost one ``stat`` and at most three index reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from indexer import copies as copy_rows
from indexer.index import Index
from mirror.errors import ConfigError, UsageError
from mirror.feed.identity import Identity, encode_node_id, parse_node_id
from mirror.node.copies.census import live_cutoff
from mirror.node.routing.api import MAX_JSON_RECORDS, ProviderRecord, gateway_provider
from mirror.node.routing.peerid import ed25519_key
from mirror.publication import refused
from mirror.store import ContentStore
from mirror.store.cid import CID


class KnownProviders:
    """The two look-ups of ``routing_routes`` for the node IDENTITY serving at URL."""

    def __init__(self, index: Index, store: ContentStore, identity: Identity, *,
                 holder_timeout: Callable[[], float], url: Callable[[], str | None]) -> None:
        self.index, self.store, self.identity = index, store, identity
        self.holder_timeout, self.url = holder_timeout, url

    def _own(self) -> list[ProviderRecord]:
        url = self.url()
        return _records([(self.identity.public_key_bytes, url)] if url else [])

    async def providers(self, cid: CID) -> Sequence[ProviderRecord]:
        served = self.store.blocks.has(cid) and not await refused(self.index, cid)
        found = self._own() if served else []
        content = await self.index.get_content(str(cid))
        if content is None:
            return found
        async with self.index.read() as conn:
            holders = await copy_rows.holders_of(conn, content.sha256,
                                                 cutoff=live_cutoff(self.holder_timeout()),
                                                 me=self.identity.node_id)
        found += _records([(_key(author), url) for author, url in holders[:MAX_JSON_RECORDS]])
        return found[:MAX_JSON_RECORDS]

    async def peers(self, multihash: bytes) -> Sequence[ProviderRecord]:
        key = ed25519_key(multihash)
        if key is None:
            return []
        if key == self.identity.public_key_bytes:
            return self._own()
        node_id = encode_node_id(key)
        async with self.index.read() as conn:
            holding = await copy_rows.get_holding(conn, node_id)
        return _records([(key, holding.url)]) if holding is not None else []


def _key(node_id: str) -> bytes | None:
    try:
        return parse_node_id(node_id)
    except UsageError:
        return None


def _records(pairs: list[tuple[bytes | None, str]]) -> list[ProviderRecord]:
    """Records of the (key, URL) pairs that make valid providers (others are left out)."""
    records = []
    for key, url in pairs:
        if key is None:
            continue
        try:
            records.append(gateway_provider(key, [url]))
        except ConfigError:
            continue
    return records
