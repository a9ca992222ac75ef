"""``mirror.binding``: claims as entries make them (one text per CID), checks of a CID's bytes from
the blockstore, inline (raw identity) contents, and this node's own writes as verified bindings."""

from __future__ import annotations

import hashlib
from pathlib import Path

from indexer import bindings
from indexer import copies as copy_rows
from indexer.records import ContentIn, DocumentIn
from mirror import binding, held
from mirror.feed.identity import Identity
from mirror.home import Home
from mirror.services import open_home
from mirror.store.cid import CID, IDENTITY, RAW


def _doc(*contents: ContentIn, source_id: str = "d") -> DocumentIn:
    return DocumentIn(collection="c", source_id=source_id, title="t", license="CC0-1.0",
                      contents=list(contents))


def test_claims_name_each_cid_one_way_and_check_what_needs_no_bytes() -> None:
    raw = CID.of(b"some bytes", RAW)
    inline = CID(1, RAW, bytes([IDENTITY, 5]) + b"hello")
    found, checks = binding.claims_of([_doc(
        ContentIn("AA" * 32, 10, raw.encode("base58btc"), "p"),
        ContentIn("bb" * 32, 5, inline.encode("base36"), "p"),
        ContentIn("cc" * 32, 1, "not-a-cid-at-all", "p"))], "author")
    assert [(c.sha256, c.cid) for c in found] == [
        ("aa" * 32, str(raw)), ("bb" * 32, str(inline)), ("cc" * 32, "not-a-cid-at-all")]
    assert checks == [bindings.Check(str(inline), hashlib.sha256(b"hello").hexdigest(), 5, "inline"),
                      bindings.Check("not-a-cid-at-all", None, None, "not a CID")]


async def test_own_writes_are_verified_and_an_inline_content_needs_no_copy(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    data = b"a report on glaciers\n" * 300
    inline = CID(1, RAW, bytes([IDENTITY, 5]) + b"hello")
    async with open_home(home) as services:
        stored = services.store.add_file(_file(tmp_path, data))
        own = ContentIn(stored.sha256, stored.size, str(stored.cid), stored.profile)
        await services.index.upsert_document(_doc(own))
        tiny = ContentIn(hashlib.sha256(b"hello").hexdigest(), 5, str(inline), "p")
        await services.index.upsert_document(_doc(tiny, source_id="tiny"),
                                             origin=Identity.generate().node_id)
        for key in (own.sha256, tiny.sha256):
            found = await services.index.get_content(key)
            assert found is not None and found.verified, key
        async with services.index.read() as conn:
            states = await copy_rows.content_states(conn, me="me", cutoff="")
            assert [s.sha256 for s in states] == [own.sha256]    # nothing to fetch or count
            assert {s for s, _ in await copy_rows.held_contents(conn)} == {own.sha256, tiny.sha256}


async def test_a_cid_is_checked_only_when_its_dag_is_all_here(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    async with open_home(home) as services:
        store = services.store
        folder = tmp_path / "folder"
        folder.mkdir()
        (folder / "a.txt").write_bytes(b"inside a folder")
        tree = store.add_path(folder, recursive=True)
        assert binding.check_cid(store, str(CID.of(b"absent", RAW))) is None
        found = binding.check_cid(store, str(tree.cid))
        assert found is not None and found.sha256 is None and "directory" in (found.detail or "")
        claimed = ContentIn("dd" * 32, 15, str(tree.cid), "p")
        await services.index.upsert_document(_doc(claimed), origin=Identity.generate().node_id)
        assert await held.refresh(services.index, store, [claimed.sha256]) == 0
        async with services.index.read() as conn:
            assert [d.status for d in await bindings.disputed(conn)] == ["mismatch"]


def _file(folder: Path, data: bytes) -> Path:
    path = folder / "report.txt"
    path.write_bytes(data)
    return path
