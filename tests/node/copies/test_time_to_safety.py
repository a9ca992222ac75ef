"""Issue 15, time to safety: with a sync interval far longer than the test, new content reaches K
nodes by pushes alone (holdings announcements pushed when they change, volunteers introduced to
each other at once), and ``status`` warns when the network cannot give every document K copies.

Real nodes on 127.0.0.1, each with its own home; the tests poll predicates on their stores,
indexes and status.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from click.testing import CliRunner, Result

from cli.main import cli
from mirror.node.app import Node
from mirror.node.status import health_fields
from mirror.store.cid import CID
from tests.node.copies.test_network_copies import add_content
from tests.node.node_helpers import NodeFactory, nodes, wait_for  # noqa: F401  (fixture)

K = 3
SLOW_PULLS = {"sync_interval": 300.0, "copies": K}   # no periodic sync happens during a test


def holders(nodes: list[Node], cid: str) -> int:
    return sum(n.store.has_all(CID.decode(cid)) for n in nodes)


async def knows(node: Node, url: str) -> bool:
    return any(p.url == url for p in await node.book.all())


async def joined(origin: Node, volunteers: list[Node]) -> bool:
    """Every volunteer synced with ORIGIN, and ORIGIN reached every volunteer."""
    peers = {p.url: p for p in await origin.book.all()}
    if any(peers.get(v.url) is None or peers[v.url].node_id is None for v in volunteers):
        return False
    for v in volunteers:
        mine = {p.url: p for p in await v.book.all()}
        if mine.get(origin.url) is None or mine[origin.url].node_id is None:
            return False
    return True


async def test_new_content_reaches_k_nodes_by_pushes_within_seconds(nodes: NodeFactory, tmp_path: Path) -> None:
    a = await nodes.start("a", **SLOW_PULLS)
    volunteers = [await nodes.start(name, peers=[a.url], **SLOW_PULLS) for name in ("b", "c", "d")]
    await wait_for(lambda: joined(a, volunteers), timeout=10, what="the volunteers joined")
    contents = [await add_content(a, tmp_path, i) for i in range(4)]
    everyone = [a, *volunteers]
    await wait_for(lambda: all(holders(everyone, c.cid) >= K for c in contents), timeout=10,
                   what=f"{K} copies of every new content without a periodic sync")
    await wait_for(lambda: _counted(volunteers), timeout=10,          # known from pushes alone
                   what="every volunteer counting K copies of everything")
    assert all(v.spread.received_count > 0 for v in volunteers)


async def _counted(volunteers: list[Node]) -> bool:
    for v in volunteers:
        if (await _fresh_status(v))["under_replicated"]:
            return False
    return True


async def test_volunteers_that_joined_one_node_are_introduced_to_each_other(nodes: NodeFactory) -> None:
    a = await nodes.start("a", **SLOW_PULLS)
    b = await nodes.start("b", peers=[a.url], **SLOW_PULLS)
    await wait_for(lambda: joined(a, [b]), timeout=10, what="B joined A")
    c = await nodes.start("c", peers=[a.url], peer_exchange=False, **SLOW_PULLS)   # learns no list
    await wait_for(lambda: knows(b, c.url), timeout=10, what="A introducing C to B")
    await wait_for(lambda: knows(c, b.url), timeout=10, what="B greeting C")


async def test_status_warns_when_the_network_cannot_give_every_document_k_copies(
        nodes: NodeFactory, tmp_path: Path) -> None:
    diffusion = {"holder_timeout": 30.0, "sync_interval": 0.3, "copies": K}
    a = await nodes.start("a", **diffusion)
    contents = [await add_content(a, tmp_path, i) for i in range(3)]      # ~9 KB each
    alone = await _fresh_status(a)
    assert alone["network_nodes"] == 1 and alone["copies_missing"] == 2 * len(contents)
    assert any("only 1 live node" in w for w in alone["warnings"])
    small = [await nodes.start(name, peers=[a.url], storage=12_000, **diffusion) for name in ("b", "c")]
    await wait_for(lambda: _warned(a, nodes=3), timeout=10, what="the capacity warning on A")
    # each small volunteer has room for one content: once A knows both hold theirs, nothing moves
    # any more, and the status read from A's files after it stops must say the same
    await wait_for(lambda: _missing(a, 2 * len(contents) - 2), timeout=15, what="b and c to hold one each")
    figures = await _fresh_status(a)
    assert figures["network_free"] < figures["copies_missing_bytes"]
    assert not any("live node" in w for w in figures["warnings"])
    async with aiohttp.ClientSession() as http:
        await wait_for(lambda: _api_warns(http, a.url), timeout=10, what="the warning in /api/v1/status")
    await nodes.stop(a)
    text = await _status_cmd(a)
    as_json = await _status_cmd(a, "--json")
    assert text.exit_code == 0 and "cannot give every document 3 copies" in text.stdout
    assert json.loads(as_json.stdout)["copies_missing"] == figures["copies_missing"]
    assert small                                                    # kept running until here


async def test_no_warning_when_the_network_has_room(nodes: NodeFactory, tmp_path: Path) -> None:
    diffusion = {"holder_timeout": 30.0, "sync_interval": 0.3, "copies": K}
    a = await nodes.start("a", **diffusion)
    contents = [await add_content(a, tmp_path, i) for i in range(3)]
    volunteers = [await nodes.start(name, peers=[a.url], **diffusion) for name in ("b", "c")]
    await wait_for(lambda: all(holders([a, *volunteers], c.cid) >= K for c in contents), timeout=10,
                   what=f"{K} copies of everything")
    await wait_for(lambda: _quiet(a), timeout=10, what="a status without warnings")
    text = await _status_cmd(volunteers[0])
    assert text.exit_code == 0 and "warnings" not in text.stdout


async def _status_cmd(node: Node, *flags: str) -> Result:
    """``openmirror status`` on NODE's home, in this process (in a thread: it runs its own loop)."""
    return await asyncio.to_thread(CliRunner().invoke, cli, ["--home", str(node.home.path), "status", *flags],
                                   env={"OPENMIRROR_HOME": ""}, catch_exceptions=False)


async def _fresh_status(node: Node) -> dict[str, Any]:
    """The copies figures of NODE's status, read now (the node caches them for a moment)."""
    return await health_fields(node.index, node.identity.node_id, node.settings, node.store)


async def _api_warns(http: aiohttp.ClientSession, url: str) -> bool:
    async with http.get(url + "/api/v1/status") as resp:
        return any("free capacity" in w for w in (await resp.json())["warnings"])


async def _warned(node: Node, *, nodes: int) -> bool:
    figures = await _fresh_status(node)
    return figures["network_nodes"] == nodes and any("free capacity" in w for w in figures["warnings"])


async def _missing(node: Node, count: int) -> bool:
    return (await _fresh_status(node))["copies_missing"] == count


async def _quiet(node: Node) -> bool:
    figures = await _fresh_status(node)
    return figures["network_nodes"] == K and figures["warnings"] == [] and figures["copies_missing"] == 0
