"""Claims are checked before they steer work (issue 12 item 7), attacked on loopback.

Three fresh keys announce, signed, that they hold every content of the network; they hold
nothing. Volunteers that believe them see every content at K copies and never replicate, so the
collection lives on its origin alone. Claims of holders that passed no audit must count for less
than audited copies: replication reaches K real copies, and the liars end up distrusted.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from indexer import audits as audit_rows
from indexer import copies as copy_rows
from indexer import feeds
from indexer.records import ContentIn, DocumentIn
from indexer.clock import entry_time
from mirror.node.app import Node
from mirror.node.copies import holdings
from mirror.node.status import health_fields
from mirror.node.sync.client import PeerClient
from mirror.store.cid import CID
from tests.node.copies.copies_helpers import Volunteer, make_home
from tests.node.holder_server import SMALL
from tests.node.node_helpers import NodeFactory, wait_for

N, K = 4, 3
FAST = {"holder_timeout": 3.0, "audit_interval": 0.3, "sync_interval": 0.3, "copies": K}


async def add_content(node: Node, tmp: Path, i: int) -> ContentIn:
    path = tmp / f"survey-{i}.bin"
    path.write_bytes(os.urandom(6000 + 50 * i))
    result = await asyncio.to_thread(node.store.add_file, path, SMALL)
    content = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                        profile=result.profile, name=path.name)
    await node.index.upsert_document(DocumentIn(collection="surveys", source_id=f"s{i}", title=path.name,
                                                license="CC0-1.0", contents=[content]))
    return content


async def liar(root: Path, name: str, origin: Node) -> Volunteer:
    """A fresh key that takes the origin's index and announces every content as held."""
    fake = await Volunteer.start(make_home(root / name))
    await fake.node.syncer.sync(PeerClient(fake.node.session, origin.url))
    async with fake.node.index.transaction() as tx:
        conn = await tx.connection()
        ids = await feeds.content_ids(conn, [s for s, _ in await _all_contents(conn)])
        await feeds.set_held(conn, ids.values(), [], entry_time())
    await holdings.publish_holdings(fake.node.index, fake.node.identity, url=fake.url,
                                    budget=1 << 40, used=1 << 30)
    return fake


async def _all_contents(conn) -> list[tuple[str, str]]:
    from sqlalchemy import text
    return [(s, c) for s, c in await conn.execute(text("SELECT sha256, cid FROM contents"))]


def holds_all(node: Node, contents: list[ContentIn]) -> bool:
    return all(node.store.has_all(CID.decode(c.cid)) for c in contents)


async def test_three_fresh_keys_claiming_everything_cannot_stop_replication(tmp_path: Path) -> None:
    nodes = NodeFactory(tmp_path)
    liars: list[Volunteer] = []
    try:
        origin = await nodes.start("origin", **FAST)
        contents = [await add_content(origin, tmp_path, i) for i in range(N)]
        liars = [await liar(tmp_path, f"liar{i}", origin) for i in range(3)]
        peers = [origin.url, *(fake.url for fake in liars)]
        volunteers = [await nodes.start(f"volunteer{i}", peers=peers, **FAST) for i in range(2)]
        for v in volunteers:           # every volunteer has heard every liar before it replicates
            await wait_for(lambda v=v: _knows(v, [f.node_id for f in liars]), what="the liars' claims")
        await wait_for(lambda: all(holds_all(v, contents) for v in volunteers), timeout=20,
                       what="K real copies: the origin and both volunteers")
        for v in volunteers:           # audits found the liars out
            await wait_for(lambda v=v: _distrusted(v, [f.node_id for f in liars]), timeout=20,
                           what="the liars distrusted")
        for v in volunteers:           # and the real copies, audited, are what counts
            await wait_for(lambda v=v: _replicated(v), timeout=20, what="no content under K")
    finally:
        for fake in liars:
            await fake.stop()
        await nodes.close()


async def _replicated(node: Node) -> bool:
    figures = await health_fields(node.index, node.identity.node_id, node.settings)
    return figures["under_replicated"] == 0 and figures["collections"]["surveys"]["held"] == N


async def _knows(node: Node, authors: list[str]) -> bool:
    async with node.index.read() as conn:
        known = await copy_rows.known_seqs(conn, authors)
    return len(known) == len(authors)


async def _distrusted(node: Node, authors: list[str]) -> bool:
    async with node.index.read() as conn:
        return all([await audit_rows.is_distrusted(conn, a) for a in authors])
