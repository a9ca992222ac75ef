"""Group commit (mirror/batch.py) on a real home: a real SQLite index with the signing hook and a
real blockstore. Concurrent writes share transactions, keep their order, fail alone, and never
leave a document referring to blocks that are not stored."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from indexer.records import ContentIn, DocumentIn
from mirror.batch import Coalescer, GroupCommit, StateRow, StatusRow, status_reader
from mirror.errors import MirrorError
from mirror.home import Home
from mirror.outcome import Kind
from mirror.services import open_home
from mirror.store import open_store
from mirror.store.blockstore import commit_batches


def _doc(i: int, contents: list[ContentIn] | None = None) -> DocumentIn:
    return DocumentIn(collection="reports", source_id=f"r{i}", title=f"Report {i}", license="CC0-1.0",
                      contents=contents or [])


async def test_concurrent_writes_share_transactions_and_all_commit(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    store = open_store(home)
    async with open_home(home) as services:
        index = services.index
        n = 60
        async with GroupCommit(index) as writes:
            async def one(i: int) -> str:
                path = tmp_path / f"f{i}.bin"
                path.write_bytes(os.urandom(3000 + i))
                blocks = store.blocks.open_batch()
                result = await asyncio.to_thread(store.add_file, path, None, batch=blocks)
                assert not store.has_all(result.cid)          # staged, not yet visible
                content = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                                    profile=result.profile, name=path.name)
                upserted = await writes.write(
                    doc=_doc(i, [content]), blocks=blocks,
                    status=lambda r, i=i: StatusRow("reports", f"r{i}", Kind(r.status) if r else Kind.FAILED,
                                                    None, "p1"))
                assert upserted is not None and upserted.status == "stored"
                assert store.has_all(result.cid)              # committed before the index said so
                return str(result.cid)

            cids = await asyncio.gather(*(one(i) for i in range(n)))
            assert writes.transactions < n / 3, writes.transactions     # grouped, not one each
        for i, cid in enumerate(cids):
            doc = await index.get_document("reports", f"r{i}")
            assert doc is not None and doc.contents[0].cid == cid
        statuses = await index.get_record_statuses("reports", [f"r{i}" for i in range(n)] + ["nope"])
        assert len(statuses) == n and {s.status for s in statuses.values()} == {"stored"}
        assert not [p for p in (home.path / "blocks" / ".staging").rglob("*") if p.is_file()]   # nothing left staged


async def test_a_failing_write_fails_alone_and_order_is_kept(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    async with open_home(home) as services:
        index = services.index
        async with GroupCommit(index) as writes:
            async def boom(tx) -> None:                       # noqa: ANN001
                raise MirrorError("this write is refused")

            async def retract(tx) -> bool:                    # noqa: ANN001
                return await tx.retract("reports", "r1")

            results = await asyncio.gather(
                writes.write(doc=_doc(1), state=StateRow("reports", "source", "a")),
                writes.run(boom),
                writes.run(retract),                          # after the upsert it follows
                writes.write(doc=_doc(2), state=StateRow("reports", "source", "b")),
                return_exceptions=True)
        assert results[0].status == "stored"
        assert isinstance(results[1], MirrorError)
        assert results[2] is True
        assert results[3].status == "stored"
        assert (await index.get_document("reports", "r1")).deleted
        assert not (await index.get_document("reports", "r2")).deleted
        assert await index.get_state("reports", "source") == "b"      # the newest value wins


async def test_writes_after_close_use_their_own_transaction(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    async with open_home(home) as services:
        index = services.index
        writes = GroupCommit(index)
        async with writes:
            pass
        assert (await writes.write(doc=_doc(7))).status == "stored"
        assert await index.get_document("reports", "r7") is not None


def test_commit_batches_makes_many_batches_visible_at_once_and_drops_aborted(tmp_path: Path) -> None:
    store = open_store(Home.open(tmp_path / "home"))
    batches, results = [], []
    for i in range(5):
        batch = store.blocks.open_batch()
        results.append(store.add_file(_write(tmp_path / f"x{i}", 5000 + i), batch=batch))
        batches.append(batch)
    batches[2].abort()
    assert not any(store.has_all(r.cid) for r in results)
    with pytest.raises(RuntimeError):
        commit_batches(batches)                               # an aborted batch cannot be committed
    assert not any(store.has_all(r.cid) for r in results)    # and nothing of the others was moved
    fresh = []
    for i in range(3):
        batch = store.blocks.open_batch()
        fresh.append((store.add_file(_write(tmp_path / f"y{i}", 7000 + i), batch=batch), batch))
    commit_batches([b for _, b in fresh])
    assert all(store.has_all(r.cid) for r, _ in fresh)
    assert not [p for p in (store.blocks.root / ".staging").rglob("*") if p.is_file()]


def _write(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


async def test_coalescer_answers_concurrent_lookups_with_few_calls(tmp_path: Path) -> None:
    calls: list[list[int]] = []

    async def fetch(keys: list[int]) -> dict[int, str]:
        calls.append(keys)
        await asyncio.sleep(0.01)
        return {k: f"v{k}" for k in keys if k % 2 == 0}

    lookups = Coalescer(fetch)
    values = await asyncio.gather(*(lookups.get(k) for k in range(50)))
    assert values == [f"v{k}" if k % 2 == 0 else None for k in range(50)]
    assert len(calls) <= 2 and sorted(k for c in calls for k in c) == list(range(50))

    home = Home.open(tmp_path / "home")
    async with open_home(home) as services:
        index = services.index
        async with index.transaction() as tx:
            await tx.set_record_statuses("reports", [(f"r{i}", "stored", None, "p1") for i in range(10)])
        reader = status_reader(index, "reports")
        found = await asyncio.gather(*(reader.get(f"r{i}") for i in range(12)))
        assert [f.status if f else None for f in found] == ["stored"] * 10 + [None, None]


async def test_when_blocks_cannot_be_stored_their_documents_are_not_indexed(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    store = open_store(home)
    async with open_home(home) as services:
        index = services.index
        blocks = store.blocks.open_batch()
        result = store.add_file(_write(tmp_path / "lost.bin", 4000), batch=blocks)
        for staged in (store.blocks.root / ".staging").rglob("*"):
            if staged.is_file():
                staged.unlink()                               # the disk lost the staged block
        content = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid),
                            profile=result.profile, name="lost.bin")
        async with GroupCommit(index) as writes:
            outcome = await asyncio.gather(writes.write(doc=_doc(1, [content]), blocks=blocks),
                                           writes.write(doc=_doc(2)), return_exceptions=True)
        assert isinstance(outcome[0], OSError), outcome
        assert outcome[1].status == "stored"                  # a write without blocks goes on
        assert await index.get_document("reports", "r1") is None
        assert not (await index.get_document("reports", "r2")).deleted
        assert not store.has_all(result.cid)
