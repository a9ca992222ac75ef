"""The blockstore: multihash keys, verification on write and read, atomic batches, threads."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from mirror.errors import BlockCorrupted, BlockMismatch, BlockNotFound, BlockTooLarge, InvalidCID
from mirror.store.blockstore import MAX_BLOCK_SIZE, BlockStore, block_key
from mirror.store.cid import CID, DAG_PB, RAW


def raw_cid(data: bytes) -> CID:
    return CID.of(data, RAW)


@pytest.fixture
def store(tmp_path: Path) -> BlockStore:
    return BlockStore(tmp_path / "blocks")


def staged_files(store: BlockStore) -> list[Path]:
    return [p for p in (store.root / ".staging").rglob("*") if p.is_file()]


def test_put_get_roundtrip_and_layout(store: BlockStore) -> None:
    data = b"hello world"
    cid = raw_cid(data)
    store.put(cid, data)
    assert store.has(cid)
    assert store.get(cid) == data
    assert store.size(cid) == len(data)
    key = block_key(cid.multihash)
    assert key.startswith("CIQ") and (store.root / key[-3:-1] / f"{key}.data").is_file()
    assert store.path_of(cid).read_bytes() == data


def test_v0_and_v1_cids_of_one_block_are_one_file(store: BlockStore) -> None:
    block = bytes.fromhex("0a0408021800")  # the empty dag-pb file
    v0 = CID.decode("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")
    store.put(v0, block)
    v1 = v0.to_v1()
    assert store.has(v1) and store.get(v1) == block
    as_raw = CID(1, RAW, v0.multihash)       # same multihash, other codec: same file too
    assert store.path_of(as_raw) == store.path_of(v0)
    assert store.stats() == (1, len(block))


def test_put_refuses_bytes_that_do_not_match(store: BlockStore) -> None:
    cid = raw_cid(b"one")
    with pytest.raises(BlockMismatch):
        store.put(cid, b"two")
    assert not store.has(cid)
    assert store.stats() == (0, 0)
    assert staged_files(store) == []


def test_corrupted_file_on_disk_is_detected_on_read(store: BlockStore) -> None:
    data = b"x" * 1000
    cid = raw_cid(data)
    store.put(cid, data)
    path = store.path_of(cid)
    path.write_bytes(b"y" + data[1:])
    with pytest.raises(BlockCorrupted) as info:
        store.get(cid)
    assert info.value.exit_code == 4 and str(cid) in str(info.value)


def test_oversized_file_on_disk_is_corrupted(store: BlockStore) -> None:
    data = b"small"
    cid = raw_cid(data)
    store.put(cid, data)
    store.path_of(cid).write_bytes(b"\0" * (MAX_BLOCK_SIZE + 1))
    with pytest.raises(BlockCorrupted):
        store.get(cid)


def test_missing_block_raises_block_not_found_with_cid(store: BlockStore) -> None:
    cid = raw_cid(b"absent")
    assert not store.has(cid)
    with pytest.raises(BlockNotFound) as info:
        store.get(cid)
    assert info.value.cid == cid and info.value.exit_code == 1
    with pytest.raises(BlockNotFound):
        store.size(cid)


def test_block_size_limit(store: BlockStore) -> None:
    ok = b"a" * MAX_BLOCK_SIZE
    store.put(raw_cid(ok), ok)
    big = b"a" * (MAX_BLOCK_SIZE + 1)
    with pytest.raises(BlockTooLarge):
        store.put(raw_cid(big), big)
    assert store.stats() == (1, MAX_BLOCK_SIZE)


def test_short_digest_is_refused(store: BlockStore) -> None:
    cid = CID(1, RAW, b"\x12\x00")          # sha2-256 truncated to nothing would "verify" anything
    with pytest.raises(InvalidCID):
        store.put(cid, b"anything")


def test_identity_cids_are_answered_from_the_cid(store: BlockStore) -> None:
    empty_raw = CID.decode("bafkqaaa")
    assert store.has(empty_raw) and store.get(empty_raw) == b"" and store.size(empty_raw) == 0
    inline = CID(1, RAW, b"\x00\x05hello")
    store.put(inline, b"hello")
    assert store.stats() == (0, 0)
    with pytest.raises(BlockMismatch):
        store.put(inline, b"other")
    assert store.delete(inline) is False


def test_delete_stats_and_iteration(store: BlockStore) -> None:
    blocks = [bytes([i]) * (i + 1) for i in range(10)]
    store.put_many([(raw_cid(b), b) for b in blocks])
    assert store.stats() == (10, sum(len(b) for b in blocks))
    assert set(store.iter_multihashes()) == {raw_cid(b).multihash for b in blocks}
    assert store.delete(raw_cid(blocks[0])) is True
    assert store.delete(raw_cid(blocks[0])) is False
    assert not store.has(raw_cid(blocks[0]))
    assert store.stats() == (9, sum(len(b) for b in blocks[1:]))


def test_batch_is_invisible_until_commit_and_leaves_no_temp_files(store: BlockStore) -> None:
    blocks = [os.urandom(100) for _ in range(20)]
    with store.batch() as batch:
        for b in blocks:
            batch.put(raw_cid(b), b)
        assert batch.has(raw_cid(blocks[0]))
        assert not store.has(raw_cid(blocks[0]))
        assert len(batch) == 20
    assert all(store.get(raw_cid(b)) == b for b in blocks)
    assert staged_files(store) == []
    assert not [p for p in (store.root / ".staging").rglob("*") if p.is_file()]


def test_failed_batch_stores_nothing(store: BlockStore) -> None:
    before = os.urandom(50)
    store.put(raw_cid(before), before)
    with pytest.raises(BlockMismatch):
        with store.batch() as batch:
            for i in range(5):
                data = os.urandom(64)
                batch.put(raw_cid(data), data)
            batch.put(raw_cid(b"a"), b"b")
    assert store.stats() == (1, len(before))
    assert not [p for p in (store.root / ".staging").rglob("*") if p.is_file()]


def test_discarded_blocks_leave_the_batch_and_the_rest_commits(store: BlockStore) -> None:
    """A fetch that failed half-way unstages what it staged; the document's other blocks stay."""
    kept, dropped, stored = os.urandom(80), os.urandom(90), os.urandom(70)
    store.put(raw_cid(stored), stored)
    batch = store.open_batch()
    assert batch.put_hashed(raw_cid(kept), kept) is True
    assert batch.put_hashed(raw_cid(dropped), dropped) is True
    assert batch.put_hashed(raw_cid(kept), kept) is False          # staged already
    assert batch.put_hashed(raw_cid(stored), stored) is False      # stored already
    batch.discard([raw_cid(dropped), raw_cid(stored)])             # only its own leave
    assert len(batch) == 1 and len(staged_files(store)) == 1
    batch.commit()
    assert store.has(raw_cid(kept)) and store.has(raw_cid(stored))
    assert not store.has(raw_cid(dropped))
    assert staged_files(store) == []


def test_stale_staging_of_a_dead_process_is_swept(tmp_path: Path) -> None:
    root = tmp_path / "blocks"
    BlockStore(root)
    stale = root / ".staging" / "999999999-deadbeef"
    stale.mkdir()
    (stale / "CIQAAAA").write_bytes(b"junk")
    BlockStore(root)
    assert not stale.exists()


def test_concurrent_puts_from_threads(store: BlockStore) -> None:
    blocks = [hashlib.sha256(str(i).encode()).digest() * 8 for i in range(200)]
    errors: list[BaseException] = []

    def worker(part: list[bytes]) -> None:
        try:
            for b in part:
                store.put(raw_cid(b), b)
                with store.batch() as batch:   # the same block again, through a batch
                    batch.put(raw_cid(b), b)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(blocks[i::4] + blocks[:20],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.stats() == (200, 200 * 256)
    assert all(store.get(raw_cid(b)) == b for b in blocks)
    assert staged_files(store) == []


def test_dag_pb_block_by_v0_cid(store: BlockStore) -> None:
    block = bytes.fromhex("0a0208 01".replace(" ", ""))
    cid = CID.of(block, DAG_PB, version=0)
    assert str(cid) == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    store.put(cid, block)
    assert store.get(cid.to_v1()) == block
