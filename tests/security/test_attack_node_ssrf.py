"""Attack: the network leads a node to an internal service (issue 12, item 3, the node's side).

A node learns addresses from others: the peer lists of peer exchange, the ``origin`` of a notify,
the ``url`` of a holder's signed announcement (replication and audits contact it). Here every one
of them names the internal service on 127.0.0.2 (or a name that resolves to it), and the victim
runs with ``node.allow_private_addresses = false`` while 127.0.0.1, where the nodes and the
attacker live, counts as public (``node.allowed_networks``, as the harvester's tests do with
``fetch.allowed_networks``). The internal service must get no request at all. A last pair of
tests floods the peers table: one peer announcing 10,000 peers, one client notifying 300 origins.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from indexer import peers as peer_rows
from mirror.feed.identity import Identity
from mirror.node.app import Node
from mirror.node.copies.audit import audit_round
from mirror.node.copies.holdings import publish_holdings, pull_holdings
from mirror.node.copies.replicate import replicate_round
from mirror.node.limits import MAX_LEARNED_PER_ANNOUNCER
from tests.node.copies.copies_helpers import Swarm, Volunteer, document
from tests.node.copies.copies_helpers import swarm  # noqa: F401  (fixture)
from tests.node.node_helpers import NodeFactory, nodes, wait_for  # noqa: F401  (fixture)
from tests.servers.attacker import InternalService
from tests.servers.local_app import running
from tests.servers.lying_peer import LyingPeer, notify

STRICT = {"allow_private_addresses": False, "allowed_networks": ["127.0.0.1/32"]}
OPEN = {"allow_private_addresses": True}


@pytest.fixture
async def liar() -> AsyncIterator[LyingPeer]:
    async with running(LyingPeer()) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def disguises(internal: InternalService) -> list[str]:
    """URLs of the internal service: as IP literals (dropped before they are stored), and as a
    name the system resolver turns into 127.0.0.2 (the hex form of the address), which only the
    connect-time check catches."""
    port = internal.url.rsplit(":", 1)[1]
    return [internal.url, f"http://[::ffff:127.0.0.2]:{port}", f"http://0x7f000002:{port}"]


async def learned(node: Node) -> list[peer_rows.PeerRow]:
    return [p for p in await node.book.all() if p.source == peer_rows.LEARNED]


async def tried_and_refused(node: Node, count: int) -> bool:
    """COUNT learned peers were contacted and every one of them was refused."""
    found = await learned(node)
    return len(found) == count and all(p.failures and "refused" in (p.last_error or "") for p in found)


async def test_peer_exchange_never_reaches_an_internal_address(nodes: NodeFactory, liar: LyingPeer,
                                                               internal_service: InternalService) -> None:
    liar.listed = disguises(internal_service)
    node = await nodes.start("victim", peers=[liar.url], **STRICT)
    # the name was learned and tried (refused where the socket would connect); the two IP
    # literals were dropped before they were stored
    await wait_for(lambda: tried_and_refused(node, 1), what="the learned name to be tried")
    await wait_for(lambda: liar.peer_lists >= 3, what="more syncs with the liar")
    assert internal_service.requests == []
    assert sorted(p.url for p in await learned(node)) == sorted(liar.listed[2:])
    assert node.book.refused >= 2


async def test_allowing_private_addresses_opens_the_door(nodes: NodeFactory, liar: LyingPeer,
                                                         internal_service: InternalService) -> None:
    # the same attack against a node told to reach private addresses: the service is reached,
    # so the test above would see a request that got through
    liar.listed = [internal_service.url]
    await nodes.start("open", peers=[liar.url], **OPEN)
    await wait_for(lambda: internal_service.requests, what="the internal service to be reached")


async def test_a_notify_origin_never_reaches_an_internal_address(nodes: NodeFactory, http: aiohttp.ClientSession,
                                                                 internal_service: InternalService) -> None:
    node = await nodes.start("victim", **STRICT)
    author = Identity.generate().node_id
    for origin in disguises(internal_service):
        assert await notify(http, node.url, author=author, seq=5, origin=origin) == 202
    await wait_for(lambda: tried_and_refused(node, 1), what="the notified name to be tried")
    assert internal_service.requests == []


async def lure(swarm: Swarm, tmp_path: Path, internal: InternalService) -> tuple[Volunteer, Volunteer, str]:
    """A holder B that announces its content at the internal service's URL, and a strict victim A
    that knows the document and B's announcement; returns them and the content's sha256."""
    victim = await swarm.start("victim", **{f"node.{k}": v for k, v in STRICT.items()})
    holder = await swarm.start("holder")
    content = await holder.add(tmp_path, "paper.bin", os.urandom(30_000))
    await publish_holdings(holder.node.index, holder.node.identity, url=internal.url, budget=1 << 30, used=0)
    await victim.node.index.upsert_document(document(content), origin=holder.node_id)
    assert await pull_holdings(victim.node.session, holder.url, victim.node.index) == 1
    return victim, holder, content.sha256


async def test_replication_never_asks_a_holder_at_an_internal_address(swarm: Swarm, tmp_path: Path,
                                                                      internal_service: InternalService) -> None:
    victim, holder, sha256 = await lure(swarm, tmp_path, internal_service)
    node = victim.node
    report = await replicate_round(node.index, node.store, node.session, me=victim.node_id,
                                   settings=node.settings)
    assert report.fetched == [] and [f["sha256"] for f in report.failed] == [sha256]
    assert internal_service.requests == []
    # the holder's own address, configured by the operator, still works
    report = await replicate_round(node.index, node.store, node.session, me=victim.node_id,
                                   settings=node.settings, peers=[holder.url])
    assert report.fetched == [sha256] and internal_service.requests == []


async def test_an_audit_never_reaches_an_internal_address(swarm: Swarm, tmp_path: Path,
                                                          internal_service: InternalService) -> None:
    victim, holder, sha256 = await lure(swarm, tmp_path, internal_service)
    node = victim.node
    await replicate_round(node.index, node.store, node.session, me=victim.node_id, settings=node.settings,
                          peers=[holder.url])
    outcomes = await audit_round(node.index, node.store, node.session, me=victim.node_id,
                                 holder_timeout=600)
    assert [(o.author, o.status) for o in outcomes] == [(holder.node_id, "unreachable")]
    assert "refused: 127.0.0.2 is a loopback address" in outcomes[0].detail
    assert internal_service.requests == []


# -- floods of learned peers ---------------------------------------------------------------------

async def test_one_peer_announcing_10000_peers_fills_only_its_share(nodes: NodeFactory, liar: LyingPeer) -> None:
    liar.listed = [f"http://127.3.{i // 250}.{i % 250 + 1}:9" for i in range(10_000)]
    node = await nodes.start("victim", peers=[liar.url], sync_interval=3600, **OPEN)
    honest = [f"http://127.4.0.{i}:9" for i in range(1, 11)]
    assert await node.book.learn(honest, announcer="http://honest.example:8470") == honest
    for _ in range(100):                       # 100 syncs: every one of the 10,000 is offered
        report = await node.gossip.sync_peer(liar.url)
        assert report.error is None, report.error
    assert liar.peer_lists >= 100
    found = await learned(node)
    from_liar = [p for p in found if p.learned_from == liar.url]
    assert 0 < len(from_liar) <= MAX_LEARNED_PER_ANNOUNCER
    assert set(honest) <= {p.url for p in found}


async def test_one_client_notifying_100_origins_fills_only_its_share(nodes: NodeFactory) -> None:
    node = await nodes.start("victim", sync_interval=3600, **OPEN)
    author = Identity.generate().node_id
    connector = aiohttp.TCPConnector(local_addr=("127.1.0.7", 0))
    async with aiohttp.ClientSession(connector=connector) as attacker:
        for i in range(5 * MAX_LEARNED_PER_ANNOUNCER):
            origin = f"http://127.5.{i // 250}.{i % 250 + 1}:9"
            assert await notify(attacker, node.url, author=author, seq=1, origin=origin) == 202
    # the share is kept in the transaction that learns, so it holds at every moment; wait until
    # every notify was handled (each learns, pulls and fails: seconds on a loaded machine)
    await wait_for(lambda: not node.gossip._notices and not node.gossip._notice_workers, timeout=60,
                   what="every notify to be handled")
    assert await node.book.get(origin) is not None         # the last (the newest) was kept
    found = await learned(node)
    assert 0 < len(found) <= MAX_LEARNED_PER_ANNOUNCER
    assert {p.learned_from for p in found} == {"notify from 127.1.0.0/24"}


async def test_a_flood_of_notifies_waits_within_bounds_and_the_rest_is_refused(nodes: NodeFactory) -> None:
    """Before the bound, every notify spawned a task of its own at once: 1,500 notifies, 1,500
    tasks. Now at most MAX_NOTICES wait (same feed and origin: one), handled by a few workers,
    and beyond that the API answers 429."""
    from mirror.node.sync.gossip import MAX_NOTICES, NOTICE_WORKERS

    node = await nodes.start("victim", sync_interval=3600, **OPEN)
    author = Identity.generate().node_id
    tasks_before = len(asyncio.all_tasks())
    async with node.index.transaction():            # the workers wait on the index: nothing drains
        taken = [node.gossip.notified(author, 1, f"http://127.6.{i // 250}.{i % 250 + 1}:9", "127.1.0.8")
                 for i in range(MAX_NOTICES + 500)]
        again = node.gossip.notified(author, 2, "http://127.6.0.1:9", "127.1.0.8")   # waits already: one
        assert taken.count(True) == MAX_NOTICES and taken[MAX_NOTICES:] == [False] * 500
        assert again is True
        assert len(asyncio.all_tasks()) - tasks_before <= NOTICE_WORKERS
        await asyncio.sleep(0.3)                    # each worker takes one and waits on the index
        refill = [node.gossip.notified(author, 1, f"http://127.6.9.{i + 1}:9", "127.1.0.8") for i in range(20)]
        assert refill.count(True) == NOTICE_WORKERS
        async with aiohttp.ClientSession() as client:
            status = await notify(client, node.url, author=author, seq=1, origin="http://127.7.0.1:9")
        assert status == 429
    waiting = len(node.gossip._notices)
    await wait_for(lambda: len(node.gossip._notices) < waiting - 2 * NOTICE_WORKERS, timeout=20,
                   what="the workers to go on once the index is free")
