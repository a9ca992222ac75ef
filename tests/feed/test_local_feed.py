"""The local feed: every local change to the index is one signed entry, committed with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import tallies
from indexer.db import on_query
from indexer import feeds
from indexer.records import ContentIn
from mirror.home import Home
from mirror.feed.entry import parse_entry, verify_chain
from mirror.services import open_home
from mirror.feed.local import ts_after
from mirror.feed.identity import Identity
from mirror.store import open_store
from tests.node.node_helpers import NodeFactory, document


async def _entries(home: Home, author: str) -> list:
    async with open_home(home, read_only=True) as services, services.index.read() as conn:
        raw = await feeds.read_entries(conn, author, 0, 1000)
    return [parse_entry(p, s) for p, s in raw]


async def test_local_changes_become_a_verified_chain(tmp_path: Path) -> None:
    home = NodeFactory(tmp_path).home("a")
    async with open_home(home) as services:
        index = services.index
        me = Identity.load_or_create(home.key_file).node_id
        await index.upsert_documents([document(i) for i in range(3)])
        await index.upsert_document(document(1, title="Corrected title"))
        await index.upsert_document(document(2))                  # unchanged: no entry
        await index.retract("c", "doc-0")
        await index.retract("c", "doc-0")                         # nothing live: no entry
        await index.upsert_document(document(5), origin=Identity.generate().node_id)  # applied: unsigned
    entries = await _entries(home, me)
    assert [(e.seq, e.kind, e.target[1]) for e in entries] == [
        (1, "put", "doc-0"), (2, "put", "doc-1"), (3, "put", "doc-2"), (4, "put", "doc-1"),
        (5, "retract", "doc-0")]
    verify_chain(entries, author=me, after_seq=0, after_hash=None)
    assert entries[3].document().title == "Corrected title"
    assert entries[0].body["contents"][0] == {
        "sha256": f"{0:064x}", "size": 100, "cid": document(0).contents[0].cid,
        "profile": "unixfs-v1-2025", "media_type": "text/plain", "name": None, "url": None}


async def test_an_entry_that_cannot_be_signed_rolls_the_change_back(tmp_path: Path) -> None:
    home = NodeFactory(tmp_path).home("a")
    async with open_home(home) as services:
        index = services.index
        doc = document(1)
        doc.raw_record = "x" * (2 << 20)           # too big for an entry: the entry leaves it out
        await index.upsert_document(doc)
        bad = document(2)
        bad.contents[0].size = 1 << 60              # no exact JSON integer: no valid entry
        with pytest.raises(Exception):
            await index.upsert_document(bad)
        assert await index.get_document("c", "doc-2") is None
        assert (await index.get_document("c", "doc-1")).raw_record == doc.raw_record
    entries = await _entries(home, Identity.load_or_create(home.key_file).node_id)
    assert len(entries) == 1 and entries[0].body["raw_record"] is None


async def test_a_local_write_beats_a_newer_dated_remote_version(tmp_path: Path) -> None:
    """A version dated ahead (clock skew) must not hide a local correction made after it."""
    home = NodeFactory(tmp_path).home("a")
    async with open_home(home) as services:
        index = services.index
        async with index.transaction() as tx:
            await feeds.put_versions(await tx.connection(), [feeds.Version(
                "c", "doc-1", "2999-01-01T00:00:00.000000Z", "om" + "z" * 52, 9, b"\1" * 32, "put")])
        await index.upsert_document(document(1))
    entry = (await _entries(home, Identity.load_or_create(home.key_file).node_id))[0]
    assert entry.ts == ts_after("2999-01-01T00:00:00.000000Z") == "2999-01-01T00:00:00.000001Z"


async def test_held_contents_are_tracked_for_status(tmp_path: Path) -> None:
    home = NodeFactory(tmp_path).home("a")
    store = open_store(home)
    source = tmp_path / "paper.txt"
    source.write_bytes(b"a paper about rivers\n" * 1000)
    stored = store.add_file(source)
    async with open_home(home) as services:
        index = services.index
        held_doc = document(1)
        held_doc.contents = [ContentIn(sha256=stored.sha256, size=stored.size, cid=str(stored.cid),
                                       profile=stored.profile)]
        half = document(3)                                           # one file here, one not
        half.contents = held_doc.contents + half.contents
        gone = document(4)
        gone.contents = held_doc.contents
        await index.upsert_documents([held_doc, document(2), half, gone])   # doc-2's file: not here
        await index.retract("c", "doc-4")
        async with index.read() as conn:
            assert await on_query(conn, tallies.count_held_documents) == 1


async def test_entries_are_read_with_a_byte_cap(tmp_path: Path) -> None:
    home = NodeFactory(tmp_path).home("a")
    async with open_home(home) as services:
        index = services.index
        me = Identity.load_or_create(home.key_file).node_id
        await index.upsert_documents([document(i, title="t" * 5000) for i in range(10)])
    sizes = [len(e.payload) for e in await _entries(home, me)]
    async with open_home(home, read_only=True) as services, services.index.read() as conn:
        assert len(await feeds.read_entries(conn, me, 0, 10, max_bytes=sum(sizes[:3]))) == 3
        assert len(await feeds.read_entries(conn, me, 4, 10, max_bytes=1)) == 1   # one at least
        assert len(await feeds.read_entries(conn, me, 4, 3)) == 3
        assert await feeds.read_entries(conn, "om" + "a" * 52, 0, 3) == []
