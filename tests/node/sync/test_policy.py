"""Local policy on synced entries: the licence gate, blocked authors and the accept list."""

from __future__ import annotations

import aiohttp

from indexer.feeds import Head
from mirror.feed.bodies import put_body
from mirror.feed.entry import Entry, make_entry
from mirror.feed.identity import Identity
from mirror.node.app import Node
from tests.node.node_helpers import nodes  # noqa: F401  (fixture)
from tests.node.node_helpers import NodeFactory, document, wait_for


async def _source_ids(node: Node) -> set[str]:
    return {d.source_id async for d in node.index.iter_documents()}


async def _seq(node: Node, author: str) -> int:
    return (await node.merger.head(author)).seq


def older_feed(author: Identity) -> list[Entry]:
    """What a node of an older openmirror signed (or one whose gate differs): an open document, a
    non-commercial one and an all-rights-reserved one. openmirror itself now signs only the first
    (test_attack_publication)."""
    bodies = [put_body(document(1)), put_body(document(2, license="CC-BY-NC-4.0")),
              put_body(document(3, license=None, statement="All rights reserved"))]
    entries: list[Entry] = []
    for seq, body in enumerate(bodies, 1):
        entries.append(make_entry(author, seq, entries[-1] if entries else None, "put", body))
    return entries


async def test_an_nc_entry_is_stored_and_relayed_but_not_indexed(nodes: NodeFactory) -> None:
    a = await nodes.start("a")
    older = Identity.generate()
    author = older.node_id
    feed = older_feed(older)
    await a.merger.apply_run(author, feed, Head(author, 0, None, None))
    assert await _seq(a, author) == 3 and await _source_ids(a) == {"doc-1"}
    b = await nodes.start("b", peers=[a.url])
    await wait_for(lambda: _seq(b, author), what="b to sync")
    await nodes.stop(a)
    c = await nodes.start("c", peers=[b.url])
    await wait_for(lambda: _seq(c, author), what="c to sync through b")
    assert await _seq(b, author) == await _seq(c, author) == 3      # every entry stored and relayed
    assert await _source_ids(b) == await _source_ids(c) == {"doc-1"}   # only the open one indexed


async def test_a_blocked_author_is_neither_merged_nor_relayed(nodes: NodeFactory) -> None:
    a = await nodes.start("a")
    author = a.identity.node_id
    await a.index.upsert_documents([document(i) for i in range(4)])
    b = await nodes.start("b", peers=[a.url])
    await b.index.upsert_document(document(10, title="B's own"))
    await wait_for(lambda: _seq(b, author), what="b to sync")
    assert len(await _source_ids(b)) == 5
    assert await b.merger.block(author) == 4
    assert await _source_ids(b) == {"doc-10"}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{b.url}/api/v1/feeds/{author}/entries") as resp:
            assert resp.status == 403
        async with session.get(f"{b.url}/api/v1/feeds") as resp:
            listed = {f["author"] for f in (await resp.json())["feeds"]}
    assert listed == {b.identity.node_id}
    await a.index.upsert_document(document(20))       # new entries of a blocked author: not fetched
    await nodes.stop(a)
    c = await nodes.start("c", peers=[b.url])
    await wait_for(lambda: _source_ids(c), what="c to sync b's own feed")
    assert await _source_ids(c) == {"doc-10"} and await _seq(c, author) == 0
    assert await b.merger.unblock(author) == 4
    assert len(await _source_ids(b)) == 5


async def test_only_listed_authors_are_accepted(nodes: NodeFactory) -> None:
    a = await nodes.start("a")
    x = await nodes.start("x")
    await a.index.upsert_document(document(1))
    await x.index.upsert_document(document(2))
    b = await nodes.start("b", peers=[a.url, x.url], accept_authors=[x.identity.node_id])
    await wait_for(lambda: _seq(b, x.identity.node_id), what="b to take x's feed")
    await wait_for(lambda: _both_contacted(b, a.url, x.url), what="b to sync with a too")
    assert await _seq(b, a.identity.node_id) == 0
    assert await _source_ids(b) == {"doc-2"}


async def _both_contacted(node: Node, *urls: str) -> bool:
    return all([(p := await node.book.get(u)) is not None and p.last_contact for u in urls])
