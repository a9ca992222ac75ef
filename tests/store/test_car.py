"""CAR export and import: header bytes, round trips, CARv2, and refusal of every kind of bad CAR."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import dag_cbor
import multiformats
import pytest

from mirror.errors import BlockNotFound, CarError
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.car import (CARV2_PRAGMA, MAX_HEADER_SIZE, MAX_SECTION_SIZE, CarReader, aiter_car,
                              car_header, encode_header, import_car, write_car, write_car_file)
from mirror.store.cid import CID, DAG_PB, RAW, encode_varint
from mirror.store.dagpb import PBLink, PBNode, encode_node
from mirror.store.exporter import walk_dag
from mirror.store.profiles import PROFILES
from mirror.store.unixfs_pb import DIRECTORY, UnixFSData, encode_unixfs

V1_ROOT = CID.decode("bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy")
V0_ROOT = CID.decode("QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY")


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(BlockStore(tmp_path / "src"))


@pytest.fixture
def target(tmp_path: Path) -> ContentStore:
    return ContentStore(BlockStore(tmp_path / "dst"))


def make_tree(root: Path) -> Path:
    (root / "docs" / "deep").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha\n")
    (root / "docs" / "big.bin").write_bytes(os.urandom(1_300_000))   # multi-chunk in both profiles
    (root / "docs" / "deep" / "same.txt").write_bytes(b"alpha\n")       # a duplicate block
    (root / "empty.txt").write_bytes(b"")
    return root


def assert_unchanged(store: ContentStore) -> None:
    assert store.blocks.stats() == (0, 0)
    assert not [p for p in (store.blocks.root / ".staging").rglob("*") if p.is_file()]


# --- header -------------------------------------------------------------------------------------

def test_header_bytes_match_the_digest_example() -> None:
    header = car_header([V1_ROOT])
    assert len(header) == 59
    assert header[:11] == bytes.fromhex("3aa265") + b"roots" + bytes.fromhex("81d82a")
    assert header[11:14] == bytes.fromhex("582500")
    assert header[14:50] == bytes(V1_ROOT)
    assert header[50:] == bytes.fromhex("67") + b"version" + bytes.fromhex("01")
    v0 = car_header([V0_ROOT])
    assert v0[0] == 0x38 and v0[11:14] == bytes.fromhex("582300") and v0[14:48] == bytes(V0_ROOT)


@pytest.mark.parametrize("count", [0, 1, 3, 30])
def test_header_equals_the_dag_cbor_library(count: int) -> None:
    roots = [CID.of(bytes([i]), RAW) for i in range(count)]
    expected = dag_cbor.encode({"roots": [multiformats.CID.decode(str(r)) for r in roots],
                                "version": 1})
    assert encode_header(roots) == expected


# --- round trips --------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", list(PROFILES))
def test_round_trip_of_a_file_and_a_directory(store: ContentStore, target: ContentStore,
                                              tmp_path: Path, profile: str) -> None:
    tree = make_tree(tmp_path / "tree")
    root = store.add_path(tree, recursive=True, profile=profile).cid
    big = store.add_file(tree / "docs" / "big.bin", profile).cid
    out = io.BytesIO()
    store.export_car([root], out)
    out.seek(0)
    assert target.import_car(out) == [root]
    assert set(target.blocks.iter_multihashes()) == set(store.blocks.iter_multihashes())
    assert target.has_all(root)
    assert b"".join(target.cat(big)) == (tree / "docs" / "big.bin").read_bytes()
    assert b"".join(target.cat(target.resolve(root, "docs/deep/same.txt"))) == b"alpha\n"
    assert [e.name for e in target.ls(root)] == ["a.txt", "docs", "empty.txt"]


def test_export_order_is_dfs_without_duplicates_and_roots_share_dedupe(store: ContentStore,
                                                                       tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    root = store.add_path(tree, recursive=True).cid
    file_cid = store.resolve(root, "a.txt")
    out = io.BytesIO()
    write_car(store.blocks, [root, file_cid], out)
    out.seek(0)
    reader = CarReader(out)
    assert reader.roots == [root, file_cid]
    sections = [cid for cid, _ in reader]
    assert sections == [cid for cid, _ in walk_dag(store.blocks, root)]
    assert len(sections) == len(set(sections))


def test_async_export_yields_the_same_bytes(store: ContentStore, tmp_path: Path) -> None:
    root = store.add_path(make_tree(tmp_path / "tree"), recursive=True).cid
    sync = io.BytesIO()
    write_car(store.blocks, [root], sync)

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in aiter_car(store.blocks, [root])])

    assert asyncio.run(collect()) == sync.getvalue()


def test_identity_blocks_are_never_exported(store: ContentStore) -> None:
    inline = CID(1, RAW, b"\x00\x05hello")
    block = encode_node(PBNode([PBLink(bytes(inline), "hi.txt", 5)], encode_unixfs(UnixFSData(DIRECTORY))))
    root = CID.of(block, DAG_PB)
    store.blocks.put(root, block)
    out = io.BytesIO()
    store.export_car([root], out)
    out.seek(0)
    assert [cid for cid, _ in CarReader(out)] == [root]


def test_export_of_an_incomplete_dag_leaves_no_file(store: ContentStore, tmp_path: Path) -> None:
    root = store.add_path(make_tree(tmp_path / "tree"), recursive=True).cid
    store.blocks.delete(store.resolve(root, "a.txt"))
    path = tmp_path / "out.car"
    with pytest.raises(BlockNotFound):
        store.export_car([root], path)
    assert list(tmp_path.glob("*.car*")) == [] and list(tmp_path.glob(".out.car*")) == []
    absent = CID.of(b"absent", RAW)
    with pytest.raises(BlockNotFound):
        store.export_car([absent], path)


def test_export_to_file_is_complete(store: ContentStore, target: ContentStore, tmp_path: Path) -> None:
    root = store.add_path(make_tree(tmp_path / "tree"), recursive=True).cid
    path = tmp_path / "tree.car"
    written = write_car_file(store.blocks, [root], path)
    assert path.stat().st_size == written
    assert target.import_car(path) == [root] and target.has_all(root)


# --- CARv2 --------------------------------------------------------------------------------------

def carv2(payload: bytes, *, padding: int = 7, size: int | None = None, index: bytes = b"") -> bytes:
    offset = len(CARV2_PRAGMA) + 40 + padding
    header = (bytes(16) + offset.to_bytes(8, "little")
              + (len(payload) if size is None else size).to_bytes(8, "little")
              + ((offset + len(payload)) if index else 0).to_bytes(8, "little"))
    return CARV2_PRAGMA + header + bytes(padding) + payload + index


def v1_car(store: ContentStore, root: CID) -> bytes:
    out = io.BytesIO()
    store.export_car([root], out)
    return out.getvalue()


def test_carv2_wrapper_is_accepted(store: ContentStore, target: ContentStore, tmp_path: Path) -> None:
    root = store.add_path(make_tree(tmp_path / "tree"), recursive=True).cid
    wrapped = carv2(v1_car(store, root), index=encode_varint(0x0400) + b"index bytes we ignore")
    reader_roots = target.import_car(io.BytesIO(wrapped))
    assert reader_roots == [root] and target.has_all(root)
    assert CarReader(io.BytesIO(wrapped)).version == 2


def test_carv2_with_a_short_data_size_is_refused(store: ContentStore, target: ContentStore,
                                                 tmp_path: Path) -> None:
    root = store.add_path(make_tree(tmp_path / "tree"), recursive=True).cid
    payload = v1_car(store, root)
    with pytest.raises(CarError):
        target.import_car(io.BytesIO(carv2(payload, size=len(payload) - 10)))
    with pytest.raises(CarError):
        target.import_car(io.BytesIO(carv2(payload, padding=0, size=0)))
    assert_unchanged(target)


# --- refusals -----------------------------------------------------------------------------------

def test_corrupted_block_bytes_store_nothing(store: ContentStore, target: ContentStore,
                                             tmp_path: Path) -> None:
    root = store.add_path(make_tree(tmp_path / "tree"), recursive=True).cid
    car = bytearray(v1_car(store, root))
    car[-3] ^= 0xFF                      # inside the last block
    with pytest.raises(CarError) as info:
        target.import_car(io.BytesIO(bytes(car)))
    assert info.value.exit_code == 4 and "do not hash" in str(info.value)
    assert_unchanged(target)


def test_truncated_car_at_every_kind_of_place_stores_nothing(store: ContentStore, target: ContentStore,
                                                             tmp_path: Path) -> None:
    root = store.add_path(make_tree(tmp_path / "tree"), recursive=True).cid
    car = v1_car(store, root)
    header_len = len(car_header([root]))
    for cut in (0, 1, 30, header_len + 1, header_len + 3, header_len + 200, len(car) // 2, len(car) - 1):
        with pytest.raises(CarError, match="truncated|out of bounds"):
            target.import_car(io.BytesIO(car[:cut]))
        assert_unchanged(target)


@pytest.mark.parametrize("header", [
    b"\x00",                                               # header length 0
    encode_varint(MAX_HEADER_SIZE + 1),                    # longer than the bound (never read)
    b"\x05not cbor at all",
    b"\x0aabcdefghij",
    encode_varint(len(encode_header([], version=3))) + encode_header([], version=3),
    bytes([len(b"\xa1\x67version\x01") ]) + b"\xa1\x67version\x01",                       # no roots
    bytes([19]) + b"\xa2\x65roots\x81\x41\x00\x67version\x01",                          # root not tag 42
])
def test_bad_headers_are_refused(target: ContentStore, header: bytes) -> None:
    with pytest.raises(CarError):
        target.import_car(io.BytesIO(header))
    assert_unchanged(target)


def test_oversized_and_empty_sections_are_refused(target: ContentStore) -> None:
    head = car_header([CID.of(b"x", RAW)])
    for length in (MAX_SECTION_SIZE + 1, 1 << 40, 0):
        with pytest.raises(CarError, match="out of bounds"):
            target.import_car(io.BytesIO(head + encode_varint(length) + b"\x01\x55"))
    with pytest.raises(CarError):
        target.import_car(io.BytesIO(head + b"\xff" * 12))     # a varint that never ends
    assert_unchanged(target)


def test_bad_cid_in_a_section_is_refused(target: ContentStore) -> None:
    block = b"data"
    good = CID.of(block, RAW)
    head = car_header([good])
    bad_sections = [
        b"\x02\x55" + good.multihash + block,                   # CID version 2
        bytes(CID(1, RAW, b"\x22\x04abcd")) + block,            # murmur3: not a CID hash we verify
        bytes(good)[:10],                                       # CID cut short
    ]
    for section in bad_sections:
        with pytest.raises(CarError):
            target.import_car(io.BytesIO(head + encode_varint(len(section)) + section))
    assert_unchanged(target)


def test_missing_roots_are_allowed(target: ContentStore) -> None:
    present = b"present"
    absent_root = CID.of(b"not in this car", RAW)
    section = bytes(CID.of(present, RAW)) + present
    car = car_header([absent_root]) + encode_varint(len(section)) + section
    assert import_car(target.blocks, io.BytesIO(car)) == [absent_root]
    assert target.has(CID.of(present, RAW)) and not target.has(absent_root)


def test_identity_sections_are_checked_and_not_stored(target: ContentStore) -> None:
    inline = CID(1, RAW, b"\x00\x02ok")
    for block, ok in ((b"ok", True), (b"no", False)):
        section = bytes(inline) + block
        car = car_header([inline]) + encode_varint(len(section)) + section
        if ok:
            assert target.import_car(io.BytesIO(car)) == [inline]
        else:
            with pytest.raises(CarError):
                target.import_car(io.BytesIO(car))
    assert_unchanged(target)
