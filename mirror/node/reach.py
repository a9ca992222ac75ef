"""Where the node and its commands may connect: one address policy for every session they open.

A node contacts addresses it learned from the network (peer exchange, the ``origin`` of a notify,
holder announcements, audit targets) and addresses the operator configured (``--peer``,
``node.peers``, ``join URL``, ``peers add``). Every session the node, ``get``, ``verify --repair``
and remote pinning use goes through ``mirror.fetch.guard.GuardedConnector`` with the node's policy
(``node_policy``: ``node.allow_private_addresses`` and ``node.allowed_networks``), which checks the
IP address each connection is about to reach, after DNS. The operator's own choices are trusted
whatever they resolve to: the configured peers of the home's table and the URLs given here.

    session = await guarded_session(home.settings, index, trusted=["http://10.0.0.5:8470"])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiohttp

from indexer import peers as peer_rows
from indexer.index import Index
from mirror.fetch.guard import GuardedConnector, node_policy
from mirror.settings import Settings


async def configured_urls(index: Index) -> list[str]:
    """The URLs of the configured peers in the home's table (the operator added them)."""
    async with index.read() as conn:
        return [p.url for p in await peer_rows.list_peers(conn) if p.source == peer_rows.CONFIGURED]


def node_connector(settings: Settings, trusted: Iterable[str] = (), **options: Any) -> GuardedConnector:
    """A connector with the node's policy, trusting ``node.peers`` and TRUSTED."""
    return GuardedConnector(node_policy(settings, trusted=list(trusted)), **options)


async def guarded_session(settings: Settings, index: Index | None, *, trusted: Iterable[str] = (),
                          limit: int = 100, **session_options: Any) -> aiohttp.ClientSession:
    """A session for a command acting for the node (``get``, ``verify --repair``, pinning): the
    node's policy, trusting TRUSTED and the configured peers of INDEX."""
    urls = [*trusted, *(await configured_urls(index) if index is not None else [])]
    connector = node_connector(settings, urls, limit=limit)
    return aiohttp.ClientSession(connector=connector, trust_env=False, **session_options)
