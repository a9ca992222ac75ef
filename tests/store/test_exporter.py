"""The exporter: file bytes and ranges, stat, directory listings (basic and HAMT), paths, DAG walks."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from pathlib import Path

import pytest

from mirror.errors import BlockNotFound, DagPBError, PathNotFound, UsageError
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, DAG_PB, RAW
from mirror.store.dagpb import PBLink, PBNode, decode_node, encode_node
from mirror.store.directory import import_path
from mirror.store.exporter import MAX_DEPTH, has_dag, iter_file, ls, resolve, stat, walk_dag, walk_file_range
from mirror.store.profiles import PROFILES, Profile
from mirror.store.unixfs import import_bytes
from mirror.store.unixfs_pb import DIRECTORY, FILE, UnixFSData, decode_unixfs, encode_unixfs

# Small chunks and few links so a few hundred bytes make a DAG three levels deep.
SMALL_RAW = Profile("small-raw", cid_version=1, chunk_size=16, max_links=3, raw_leaves=True,
                    hamt_estimate="block")
SMALL_PB = Profile("small-pb", cid_version=0, chunk_size=16, max_links=3, raw_leaves=False,
                   hamt_estimate="links")
SMALL_TRICKLE = replace(SMALL_PB, name="small-trickle", trickle=True)
LAYOUTS = [SMALL_RAW, SMALL_PB, SMALL_TRICKLE]


def pattern(size: int) -> bytes:
    return bytes((i * 7 + i // 251) % 256 for i in range(size))


@pytest.fixture
def store(tmp_path: Path) -> BlockStore:
    return BlockStore(tmp_path / "blocks")


def imp(store: BlockStore, data: bytes, profile: Profile) -> CID:
    """Import through one batch (one durability step instead of one per block)."""
    with store.batch() as batch:
        return import_bytes(data, profile, batch).cid


def imp_path(store: BlockStore, path: Path, profile: Profile) -> CID:
    with store.batch() as batch:
        return import_path(path, profile, batch, recursive=True).cid


def read(store: BlockStore, cid: CID, offset: int = 0, length: int | None = None) -> bytes:
    return b"".join(iter_file(store, cid, offset, length))


@pytest.mark.parametrize("profile", LAYOUTS, ids=lambda p: p.name)
def test_every_range_of_a_multi_level_file(store: BlockStore, profile: Profile) -> None:
    data = pattern(100)      # 7 chunks: three levels with 3 links per node
    cid = imp(store, data, profile)
    assert read(store, cid) == data
    edges = {0, 1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 49}
    for offset in [*range(0, 50), *range(len(data) - 5, len(data) + 3)]:
        for length in sorted(edges | {max(len(data) - offset, 0), len(data) + 2 - offset}) + [None]:
            end = None if length is None else offset + length
            assert read(store, cid, offset, length) == data[offset:end], (offset, length)


@pytest.mark.parametrize("name", list(PROFILES))
def test_ranges_across_real_profile_chunk_boundaries(store: BlockStore, name: str) -> None:
    profile = PROFILES[name]
    chunk = profile.chunk_size
    data = hashlib.sha256(b"seed").digest() * ((3 * chunk + 100) // 32)
    cid = imp(store, data, profile)
    for offset, length in [(0, chunk), (chunk - 1, 2), (chunk, chunk), (2 * chunk - 5, chunk + 10),
                           (len(data) - 1, 1), (len(data), 10), (len(data) + 5, 1), (0, None),
                           (chunk + 1, None)]:
        end = None if length is None else offset + length
        assert read(store, cid, offset, length) == data[offset:end], (offset, length)


def test_a_range_reads_only_the_blocks_it_needs(store: BlockStore) -> None:
    data = pattern(16 * 9)
    cid = imp(store, data, SMALL_RAW)
    needed = {c for c, _block, _part in walk_file_range(store, cid, 40, 20)}
    leaves = [c for c, _ in walk_dag(store, cid) if c.codec == RAW]
    assert len(leaves) == 9
    for leaf in leaves:
        if leaf not in needed:
            store.delete(leaf)
    assert read(store, cid, 40, 20) == data[40:60]
    with pytest.raises(BlockNotFound) as info:
        read(store, cid)
    assert info.value.cid in leaves


def test_single_block_files_and_raw_blocks(store: BlockStore) -> None:
    for profile in PROFILES.values():
        cid = imp(store, b"hello world", profile)
        assert read(store, cid) == b"hello world"
        assert read(store, cid, 6) == b"world"
        assert read(store, cid, 3, 2) == b"lo"
    empty = imp(store, b"", PROFILES["unixfs-v0-2015"])
    assert read(store, empty) == b"" and stat(store, empty).size == 0


def test_negative_range_is_refused(store: BlockStore) -> None:
    cid = imp(store, b"abc", SMALL_RAW)
    with pytest.raises(UsageError):
        read(store, cid, -1)
    with pytest.raises(UsageError):
        read(store, cid, 0, -2)


def make_tree(root: Path, spec: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, value in spec.items():
        if isinstance(value, dict):
            make_tree(root / name, value)
        elif isinstance(value, tuple):
            (root / name).symlink_to(value[1])
        else:
            (root / name).write_bytes(value)
    return root


def test_stat_of_file_directory_symlink(store: BlockStore, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "t", {"a.txt": b"A" * 50, "link": ("symlink", "a.txt"), "sub": {}})
    root = imp_path(store, tree, SMALL_RAW)
    st = stat(store, root)
    assert (st.type, st.size, st.links, st.sharded) == ("directory", 0, 3, False)
    entries = {e.name: e for e in ls(store, root)}
    assert set(entries) == {"a.txt", "link", "sub"}
    file_stat = stat(store, entries["a.txt"].cid)
    assert (file_stat.type, file_stat.size) == ("file", 50)
    assert file_stat.dag_size == entries["a.txt"].tsize
    assert stat(store, entries["link"].cid).type == "symlink"
    assert stat(store, entries["sub"].cid).type == "directory"
    raw = imp(store, b"xyz", SMALL_RAW)
    assert stat(store, raw) .type == "file" and stat(store, raw).size == 3


def test_resolve_paths(store: BlockStore, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "t", {"docs": {"a.txt": b"alpha", "deep": {"b.txt": b"beta"}},
                                      "top.txt": b"top"})
    root = imp_path(store, tree, SMALL_RAW)
    assert read(store, resolve(store, root, "docs/deep/b.txt")) == b"beta"
    assert read(store, resolve(store, root, "/docs/./deep/../a.txt")) == b"alpha"
    assert resolve(store, root, "") == root
    with pytest.raises(PathNotFound):
        resolve(store, root, "../top.txt")
    with pytest.raises(PathNotFound):
        resolve(store, root, "docs/missing")
    with pytest.raises(PathNotFound):
        resolve(store, root, "top.txt/x")
    with pytest.raises(UsageError):
        read(store, root)


@pytest.mark.parametrize("fanout", [256, 8])
def test_hamt_listing_and_lookup(store: BlockStore, tmp_path: Path, fanout: int) -> None:
    names = [f"entry-{i:03d}.txt" for i in range(120)]
    tree = make_tree(tmp_path / "h", {name: name.encode() for name in names})
    profile = replace(SMALL_RAW, hamt_threshold=100, hamt_fanout=fanout)
    root = imp_path(store, tree, profile)
    st = stat(store, root)
    assert st.type == "directory" and st.sharded
    links = decode_node(store.get(root)).links
    width = len(f"{fanout - 1:X}")
    assert any(len(link.name) == width for link in links), "expected at least one sub-shard"
    listed = {e.name: e.cid for e in ls(store, root)}
    assert sorted(listed) == names
    for name in names:
        cid = resolve(store, root, name)
        assert cid == listed[name] and read(store, cid) == name.encode()
    with pytest.raises(PathNotFound):
        resolve(store, root, "entry-999.txt")
    entity = [c for c, _ in walk_dag(store, root, "entity")]
    assert entity[0] == root
    assert all(decode_unixfs(decode_node(store.get(c)).data).type == 5 for c in entity)
    assert len(entity) == 1 + sum(1 for _ in _shard_links(store, root, width))


def _shard_links(store: BlockStore, cid: CID, width: int):
    for link in decode_node(store.get(cid)).links:
        if len(link.name) == width:
            child = CID.from_bytes(link.hash)
            yield child
            yield from _shard_links(store, child, width)


def put_node(store: BlockStore, links: list[PBLink], fs: UnixFSData, version: int = 1) -> CID:
    block = encode_node(PBNode(links, encode_unixfs(fs)))
    cid = CID.of(block, DAG_PB, version)
    store.put(cid, block)
    return cid


def test_strict_file_reading_rules(store: BlockStore) -> None:
    leaf = CID.of(b"abcd", RAW)
    store.put(leaf, b"abcd")
    link = PBLink(bytes(leaf), "", 4)
    good = put_node(store, [link], UnixFSData(FILE, filesize=4, blocksizes=[4]))
    assert read(store, good) == b"abcd"
    cases = {
        "blocksizes count": put_node(store, [link], UnixFSData(FILE, filesize=8, blocksizes=[4, 4])),
        "child size": put_node(store, [link], UnixFSData(FILE, filesize=5, blocksizes=[5])),
        "filesize": put_node(store, [link], UnixFSData(FILE, filesize=9, blocksizes=[4])),
    }
    directory = put_node(store, [], UnixFSData(DIRECTORY))
    cases["child type"] = put_node(store, [PBLink(bytes(directory), "", 4)],
                                   UnixFSData(FILE, filesize=4, blocksizes=[4]))
    for name, cid in cases.items():
        with pytest.raises(DagPBError):
            read(store, cid)
        assert name


def test_walk_is_dfs_preorder_without_duplicates(store: BlockStore) -> None:
    data = b"A" * 16 * 5 + b"B" * 16 * 4        # repeated chunks: one leaf CID used many times
    root = imp(store, data, SMALL_RAW)
    walked = [c for c, _ in walk_dag(store, root)]
    assert walked == _reference_walk(store, root, set())
    assert len(walked) == len(set(walked))
    assert len([c for c in walked if c.codec == RAW]) == 2
    assert [c for c, _ in walk_dag(store, root, "block")] == [root]
    assert [c for c, _ in walk_dag(store, root, "entity")] == walked
    with pytest.raises(UsageError):
        list(walk_dag(store, root, "everything"))  # type: ignore[arg-type]


def _reference_walk(store: BlockStore, cid: CID, seen: set[CID]) -> list[CID]:
    if cid in seen:
        return []
    seen.add(cid)
    out = [cid]
    if cid.codec == DAG_PB:
        for link in decode_node(store.get(cid)).links:
            out += _reference_walk(store, CID.from_bytes(link.hash), seen)
    return out


def test_directory_entity_is_the_node_alone_and_identity_blocks_are_skipped(
        store: BlockStore, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "t", {"a": b"a" * 40, "b": {"c": b"c"}})
    root = imp_path(store, tree, SMALL_RAW)
    assert [c for c, _ in walk_dag(store, root, "entity")] == [root]
    inline = CID(1, RAW, b"\x00\x03abc")
    with_identity = put_node(store, [PBLink(bytes(inline), "inline.txt", 3),
                                     PBLink(bytes(root), "tree", 10)], UnixFSData(DIRECTORY))
    walked = [c for c, _ in walk_dag(store, with_identity)]
    assert inline not in walked and walked[0] == with_identity and root in walked
    assert read(store, inline) == b"abc"


def test_missing_blocks_and_has_dag(store: BlockStore) -> None:
    root = imp(store, pattern(100), SMALL_PB)
    assert has_dag(store, root)
    victim = [c for c, _ in walk_dag(store, root)][-1]
    store.delete(victim)
    assert not has_dag(store, root)
    with pytest.raises(BlockNotFound) as info:
        list(walk_dag(store, root))
    assert info.value.cid == victim
    absent = CID.of(b"nothing", RAW)
    with pytest.raises(BlockNotFound):
        stat(store, absent)
    assert not has_dag(store, absent)


def test_io_stream_import_reads_back(store: BlockStore) -> None:
    data = pattern(2000)
    cid = imp(store, data, SMALL_TRICKLE)
    out = io.BytesIO()
    for part in iter_file(store, cid, 100, 1500):
        out.write(part)
    assert out.getvalue() == data[100:1600]


def test_a_hostile_deep_chain_is_refused_not_a_crash(store: BlockStore) -> None:
    child = CID.of(b"x", RAW)
    store.put(child, b"x")
    with store.batch() as batch:
        for _ in range(MAX_DEPTH + 2):
            block = encode_node(PBNode([PBLink(bytes(child), "", 1)],
                                       encode_unixfs(UnixFSData(FILE, filesize=1, blocksizes=[1]))))
            child = CID.of(block, DAG_PB)
            batch.put(child, block)
    with pytest.raises(DagPBError, match="deeper than"):
        read(store, child)
