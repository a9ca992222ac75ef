"""Content identity is verified, not claimed (issue 12 item 2), attacked on loopback.

An attacker node X signs, with its own key, a document that claims the sha256 of a file another
author A published, but names another CID (its own file's, the CID of another of A's files) or
another size. X's entries reach a fresh node C only through an honest relay B, before A's own
entries do, so the attacker's claim is the first C hears of that sha256. C must end up holding and
serving A's bytes under A's CID, keep X's claim as evidence (``peers conflicts``, ``status``),
never let it replace the verified binding, and forget every claim of X's once X is blocked.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from indexer.records import ContentIn, DocumentIn
from mirror.node import control
from mirror.node.app import Node
from mirror.node.copies.repair import verify_home
from mirror.store.cid import CID
from mirror.services import open_home
from tests.node.holder_server import SMALL
from tests.node.node_helpers import NodeFactory, wait_for

FAST = {"holder_timeout": 2.0, "audit_interval": 0.5, "sync_interval": 0.3}
VARIANTS = ("own-cid", "wrong-size", "other-content")


async def publish(node: Node, tmp: Path, name: str, data: bytes, *, collection: str,
                  claim: ContentIn | None = None) -> ContentIn:
    """Store DATA on NODE and index a document for it (or, with CLAIM, a document naming CLAIM)."""
    path = tmp / f"{node.identity.node_id[:8]}-{name}"
    path.write_bytes(data)
    result = await asyncio.to_thread(node.store.add_file, path, SMALL)
    content = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                        profile=result.profile, media_type="application/octet-stream", name=name)
    await node.index.upsert_document(DocumentIn(collection=collection, source_id=name, title=name,
                                                license="CC0-1.0", contents=[claim or content]))
    return content


async def has_document(node: Node, collection: str, source_id: str) -> bool:
    return await node.index.get_document(collection, source_id) is not None


async def bound(node: Node, content: ContentIn) -> bool:
    """NODE binds CONTENT's sha256 to its CID and size, verified, and holds every block."""
    found = await node.index.get_content(content.sha256)
    return (found is not None and (found.cid, found.size) == (content.cid, content.size)
            and getattr(found, "verified", False)
            and await asyncio.to_thread(node.store.has_all, CID.decode(content.cid)))


@pytest.mark.parametrize("variant", VARIANTS)
async def test_a_claim_on_another_authors_content_never_binds_it(tmp_path: Path, variant: str) -> None:
    nodes = NodeFactory(tmp_path)
    try:
        a = await nodes.start("author", **FAST)
        paper = await publish(a, tmp_path, "paper.bin", b"the author's paper " * 700, collection="papers")
        other = await publish(a, tmp_path, "other.bin", b"another paper " * 500, collection="papers")
        x = await nodes.start("attacker", **FAST)
        if variant == "own-cid":            # X's own bytes under its own CID
            fake = await publish(x, tmp_path, "fake.bin", b"the attacker's file " * 600, collection="x")
            claim = replace(paper, cid=fake.cid)
        elif variant == "wrong-size":       # the author's CID, another size
            claim = replace(paper, size=paper.size + 4096)
        else:                               # the CID of the author's other file
            claim = replace(paper, cid=other.cid)
        await x.index.upsert_document(DocumentIn(collection="x", source_id="claim", title="mine",
                                                 license="CC0-1.0", contents=[claim]))
        relay = await nodes.start("relay", peers=[x.url], storage=0, **FAST)
        await wait_for(lambda: has_document(relay, "x", "claim"), what="the relay to take X's feed")
        fresh = await nodes.start("fresh", peers=[relay.url], copies=5, **FAST)
        await wait_for(lambda: has_document(fresh, "x", "claim"), what="X's claim to reach C first")
        await relay.add_peer(a.url)
        await wait_for(lambda: has_document(fresh, "papers", "paper.bin"), what="A's entry at C")

        await wait_for(lambda: bound(fresh, paper), timeout=20, what="C to hold A's bytes under A's CID")
        async with aiohttp.ClientSession() as session:      # C serves the author's bytes
            async with session.get(f"{fresh.url}/ipfs/{paper.cid}") as resp:
                assert hashlib.sha256(await resp.read()).hexdigest() == paper.sha256
        doc = await fresh.index.get_document("papers", "paper.bin")
        assert doc is not None and [(c.cid, c.size) for c in doc.contents] == [(paper.cid, paper.size)]

        conflicts = await wait_for(lambda: _conflicts_of(fresh, x.identity.node_id),
                                   what="X's claim kept as evidence")
        assert [(c["sha256"], c["cid"], c["size"]) for c in conflicts] == [
            (claim.sha256, claim.cid, claim.size)]
        status = await fresh.status()
        assert status["conflicts"] >= 1 and status["conflict_authors"] >= 1

        await fresh.merger.block(x.identity.node_id)        # every effect of X's entries goes
        assert await _conflicts_of(fresh, x.identity.node_id) == []
        assert await bound(fresh, paper)
        assert not await has_document(fresh, "x", "claim") or \
            (await fresh.index.get_document("x", "claim")).deleted
    finally:
        await nodes.close()


async def _conflicts_of(node: Node, author: str) -> list[dict]:
    return [c for c in await control.list_conflicts(node.home) if c["author"] == author]


async def test_verify_flags_a_held_content_whose_cid_is_other_bytes(tmp_path: Path) -> None:
    """A held content whose bound CID holds other bytes (an index written before the check, or
    tampered with) is named by ``verify`` (exit 4 in the CLI) and unbound by ``--repair``."""
    nodes = NodeFactory(tmp_path)
    home = nodes.home("tampered")
    node = Node(home, listen="127.0.0.1:0")
    await node.open()
    try:
        paper = await publish(node, tmp_path, "paper.bin", b"the author's paper " * 700, collection="p")
        fake = await publish(node, tmp_path, "fake.bin", b"another file " * 600, collection="q")
    finally:
        await node.stop()
    with sqlite3.connect(home.db_path) as db:           # the binding now names the other bytes
        db.execute("UPDATE contents SET cid = ? WHERE sha256 = ?", (fake.cid, paper.sha256))
    report = await verify_home(home)
    assert [(d.kind, d.contents) for d in report.remaining] == [("mismatch", [paper.sha256])]
    repaired = await verify_home(home, repair=True)
    assert repaired.remaining == []
    async with open_home(home, read_only=True) as services:
        found = await services.index.get_content(paper.sha256)
        assert found is not None and (found.cid, found.verified) == (paper.cid, True)
