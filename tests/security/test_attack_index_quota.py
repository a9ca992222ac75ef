"""Attack: authors flood a volunteer's index with validly signed entries (issue 12, item 4).

Real nodes on 127.0.0.1: each author signs with its own key; a relay holds their feeds; the victim
was configured with the relay (its origin) and syncs over HTTP. What the victim keeps per author is
measured in its index file (``indexer.quota``: bytes of entries as received).
"""

from __future__ import annotations

from indexer import feeds
from indexer import tallies
from indexer.peers import CONFIGURED
from indexer.records import DocumentIn
from mirror.node.sync.client import PeerClient
from tests.node.copies.copies_helpers import Swarm, Volunteer

AUTHOR_QUOTA, INDEX_QUOTA = 40_000, 100_000


async def write(node: Volunteer, count: int, prefix: str) -> None:
    """COUNT documents of ~1 KB each, signed by NODE (one entry each)."""
    docs = [DocumentIn(collection=prefix, source_id=f"{prefix}-{i}", title=f"{prefix} {i}",
                       description="flood " * 150, license="CC0-1.0") for i in range(count)]
    await node.node.index.upsert_documents(docs)


async def sync(into: Volunteer, peer: Volunteer) -> None:
    report = await into.node.syncer.sync(PeerClient(into.node.session, peer.url))
    assert report.error is None


async def kept(node: Volunteer) -> dict[str, int]:
    return await node.node.index.read_query(tallies.bytes_by_author)


async def seq(node: Volunteer, author: str) -> int:
    async with node.node.index.read() as conn:
        return (await feeds.get_head(conn, author)).seq


async def victim_of(swarm: Swarm, relay: Volunteer, **settings: object) -> Volunteer:
    victim = await swarm.start("victim", **{"node.author_quota": AUTHOR_QUOTA,
                                            "node.index_quota": INDEX_QUOTA, **settings})
    await victim.node.book.add(relay.url, CONFIGURED)               # join RELAY
    return victim


async def test_a_flooding_author_is_cut_at_its_quota_and_status_says_why(swarm: Swarm) -> None:
    relay, flooder, modest = [await swarm.start(n) for n in ("relay", "flooder", "modest")]
    await write(relay, 300, "origin")                                # the origin's own: > quota
    await write(flooder, 400, "flood")
    await write(modest, 10, "modest")
    for author in (flooder, modest):
        await sync(relay, author)
    victim = await victim_of(swarm, relay)
    await sync(victim, relay)
    stored = await kept(victim)
    assert stored[flooder.node_id] <= AUTHOR_QUOTA < (await kept(relay))[flooder.node_id]
    assert await seq(victim, relay.node_id) == 300                  # the origin is never cut
    assert await seq(victim, modest.node_id) == 10
    await write(flooder, 50, "more")
    await sync(relay, flooder)
    await sync(victim, relay)                                        # the index stops growing
    assert (await kept(victim))[flooder.node_id] == stored[flooder.node_id]
    quota = (await victim.node.status())["index_quota"]
    assert quota["stopped_authors"] == [{"author": flooder.node_id, "bytes": stored[flooder.node_id],
                                         "reason": "author_quota"}]
    assert quota["author_quota"] == AUTHOR_QUOTA and not quota["full"]


async def test_many_fresh_keys_fill_only_the_index_quota(swarm: Swarm) -> None:
    relay = await swarm.start("relay")
    keys = [await swarm.start(f"key{i}") for i in range(6)]
    for key in keys:
        await write(key, 20, key.node_id[:6])                        # ~26 KB each, 156 KB in all
        await sync(relay, key)
    victim = await victim_of(swarm, relay)
    await sync(victim, relay)
    others = sum(size for author, size in (await kept(victim)).items() if author != relay.node_id)
    assert others <= INDEX_QUOTA
    quota = (await victim.node.status())["index_quota"]
    assert quota["full"] and quota["others_bytes"] == others
    assert {s["reason"] for s in quota["stopped_authors"]} == {"index_quota"}


async def test_authors_the_operator_accepts_are_never_cut(swarm: Swarm) -> None:
    relay, prolific = await swarm.start("relay"), await swarm.start("prolific")
    await write(prolific, 200, "prolific")
    await sync(relay, prolific)
    victim = await victim_of(swarm, relay, **{"node.accept_authors": [relay.node_id, prolific.node_id]})
    await sync(victim, relay)
    assert await seq(victim, prolific.node_id) == 200
    assert (await kept(victim))[prolific.node_id] > AUTHOR_QUOTA
    assert (await victim.node.status())["index_quota"]["stopped_authors"] == []
