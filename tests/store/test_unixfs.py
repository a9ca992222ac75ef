"""The streaming file importer: DAG invariants, stream handling, profiles."""

from __future__ import annotations

import hashlib
import io
import threading
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirror.errors import ConfigError, UnknownProfile
from mirror.store.cid import CID, DAG_PB, RAW
from mirror.store.dagpb import decode_node
from mirror.store.profiles import DEFAULT_PROFILE, PROFILES, Profile, get_profile
from mirror.store.unixfs import FILE, StreamImport, decode_unixfs, import_bytes, import_file
from mirror.store.unixfs_pb import RAW as UNIXFS_RAW
from tests.store.vectors import BlockCollector
from tests.store.vectors import ChaChaStream

V0 = PROFILES["unixfs-v0-2015"]
V1 = PROFILES["unixfs-v1-2025"]


def tiny(**changes) -> Profile:
    """A profile with small chunks and few links, so deep trees stay cheap."""
    return replace(V1, name="tiny", chunk_size=7, max_links=3, **changes)


def walk(blocks: dict[CID, bytes], cid: CID, depth: int = 0) -> tuple[bytes, int, list[int]]:
    """(file bytes, Tsize, leaf depths) under ``cid``, checking every node's bookkeeping."""
    block = blocks[cid]
    assert cid.verify(block)
    if cid.codec == RAW:
        return block, len(block), [depth]
    node = decode_node(block)
    meta = decode_unixfs(node.data)
    assert meta.type in (FILE, UNIXFS_RAW)
    parts, tsize, depths = [meta.data or b""], len(block), []
    assert len(meta.blocksizes) == len(node.links)
    for link, size in zip(node.links, meta.blocksizes):
        data, child_tsize, child_depths = walk(blocks, CID.from_bytes(link.hash), depth + 1)
        assert (link.name, link.tsize, len(data)) == ("", child_tsize, size)
        parts.append(data)
        tsize += child_tsize
        depths += child_depths
    content = b"".join(parts)
    assert meta.filesize == len(content)
    return content, tsize, depths or [depth]


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=200), st.booleans(), st.booleans(), st.sampled_from([0, 1]))
def test_dag_holds_the_bytes(data: bytes, raw_leaves: bool, trickle: bool, version: int) -> None:
    profile = tiny(raw_leaves=raw_leaves, trickle=trickle, cid_version=version)
    sink = BlockCollector()
    result = import_bytes(data, profile, sink)
    content, tsize, depths = walk(sink.blocks, result.cid)
    assert content == data
    assert (result.size, result.dag_size, result.blocks) == (len(data), tsize, sink.puts)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    if not trickle:
        assert len(set(depths)) == 1                # balanced: every leaf at the same depth
    if result.cid.codec == DAG_PB:
        assert result.cid.version == version


class Trickling(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes per read, like a slow socket."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = min(len(buf), self._step, len(self._data) - self._pos)
        buf[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n


class ReadOnly:
    """A stream with ``read`` but no ``readinto``."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._buf.read(n)


def test_chunks_do_not_depend_on_how_bytes_arrive() -> None:
    profile = replace(V1, name="small", chunk_size=1000)
    data = ChaChaStream("arrival", 10_500).read()
    expected = import_bytes(data, profile)
    assert import_file(Trickling(data, 333), profile) == expected
    assert import_file(ReadOnly(data), profile) == expected
    assert expected.blocks == 12                    # 11 leaves (the last one 500 bytes) + root


def test_exact_multiple_has_no_empty_last_chunk() -> None:
    sink = BlockCollector()
    result = import_bytes(b"ab" * 7, tiny(), sink)
    root = decode_node(sink.blocks[result.cid])
    assert decode_unixfs(root.data).blocksizes == [7, 7]


def test_ring_buffers_are_not_overwritten_early() -> None:
    """Many chunks through the worker-thread path; every leaf must hold its own bytes."""
    profile = replace(V1, name="ring", chunk_size=4096, max_links=5)
    data = ChaChaStream("ring", 4096 * 40 + 17).read()
    sink = BlockCollector()
    result = import_file(Trickling(data, 1500), profile, sink)
    assert walk(sink.blocks, result.cid)[0] == data
    assert result.sha256 == hashlib.sha256(data).hexdigest()


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200), st.lists(st.integers(min_value=1, max_value=30), max_size=40),
       st.booleans(), st.booleans(), st.sampled_from([0, 1]))
def test_a_stream_fed_from_outside_makes_the_same_dag(data: bytes, cuts: list[int], raw_leaves: bool,
                                                      trickle: bool, version: int) -> None:
    """StreamImport, however the bytes are cut, equals import_file: CID, digest, every block."""
    profile = tiny(raw_leaves=raw_leaves, trickle=trickle, cid_version=version)
    pulled, pushed = BlockCollector(), BlockCollector()
    expected = import_bytes(data, profile, pulled)
    importer, pos = StreamImport(profile, pushed), 0
    for cut in cuts + [len(data)]:
        importer.write(data[pos:pos + cut])
        pos += cut
    assert importer.finish() == expected
    assert pushed.blocks == pulled.blocks


def test_a_buffer_the_caller_reuses_is_not_read_again() -> None:
    """The first chunk is folded into the stream's sha256 late: a mutable buffer is copied."""
    profile = replace(V1, name="small", chunk_size=1000)
    data = ChaChaStream("reuse", 3500).read()
    importer, buf = StreamImport(profile), bytearray(1000)
    for start in range(0, len(data), 1000):
        piece = data[start:start + 1000]
        buf[:len(piece)] = piece
        importer.write(memoryview(buf)[:len(piece)])
        buf[:] = bytes(1000)                        # the caller overwrites its buffer
    assert importer.finish() == import_bytes(data, profile)


class CountingHashlib:
    """Stands in for ``hashlib`` in the importer's module: counts the bytes given to sha256."""

    def __init__(self) -> None:
        self.hashed = 0

    def sha256(self, data: bytes | memoryview = b"") -> "CountingHashlib._Hash":
        return self._Hash(self, data)

    class _Hash:
        def __init__(self, owner: "CountingHashlib", data: bytes | memoryview) -> None:
            self._owner, self._hash = owner, hashlib.sha256()
            self.update(data)

        def update(self, data: bytes | memoryview) -> None:
            self._owner.hashed += len(data)
            self._hash.update(data)

        def digest(self) -> bytes:
            return self._hash.digest()

        def hexdigest(self) -> str:
            return self._hash.hexdigest()


@pytest.mark.parametrize("size,passes", [(0, 0), (1000, 1), (V1.chunk_size, 1), (V1.chunk_size + 1, 2),
                                         (3 * V1.chunk_size, 2)])
def test_each_byte_is_hashed_once_per_digest_it_is_part_of(size: int, passes: int,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-chunk file is one raw leaf whose sha256 is the stream's: hashed once. A longer one is
    hashed twice (its blocks, and the whole stream the index keys on), never more."""
    import mirror.store.unixfs as unixfs

    counting = CountingHashlib()
    monkeypatch.setattr(unixfs, "hashlib", counting)
    data = ChaChaStream("passes", size).read()
    expected = hashlib.sha256(data).hexdigest()
    assert import_bytes(data, V1).sha256 == expected
    pulled, counting.hashed = counting.hashed, 0
    importer = StreamImport(V1)
    importer.write(data)
    assert importer.finish().sha256 == expected
    assert (pulled, counting.hashed) == (passes * size, passes * size)


class Failing(io.RawIOBase):
    def __init__(self, good: int) -> None:
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        if self._left <= 0:
            raise OSError(5, "Input/output error")
        n = min(len(buf), self._left)
        buf[:n] = bytes(n)
        self._left -= n
        return n


def test_read_error_propagates_and_stops_the_worker() -> None:
    before = threading.active_count()
    with pytest.raises(OSError, match="Input/output error"):
        import_file(Failing(3 * 4096), replace(V1, name="f", chunk_size=4096))
    assert threading.active_count() == before


def test_profiles() -> None:
    assert get_profile(DEFAULT_PROFILE) is V1
    assert get_profile("legacy-cid-v0") is V0
    assert (V0.cid_version, V0.chunk_size, V0.max_links, V0.raw_leaves, V0.hamt_estimate) == \
        (0, 262_144, 174, False, "links")
    assert (V1.cid_version, V1.chunk_size, V1.max_links, V1.raw_leaves, V1.hamt_estimate) == \
        (1, 1_048_576, 1024, True, "block")
    with pytest.raises(UnknownProfile) as info:
        get_profile("unixfs-v2")
    assert "unixfs-v0-2015" in info.value.hint and "unixfs-v1-2025" in info.value.hint


@pytest.mark.parametrize("changes,message", [
    ({"cid_version": 2}, "CID version"),
    ({"chunk_size": 0}, "chunk size"),
    ({"chunk_size": 2 * 1024 * 1024}, "chunk size"),
    ({"max_links": 1}, "at least 2 links"),
    ({"hamt_estimate": "guess"}, "HAMT estimate"),
    ({"hamt_fanout": 100}, "fanout"),
    ({"hash_code": 0x99}, "unsupported hash"),
    ({"hash_code": 0x13, "cid_version": 0}, "CIDv0 only allows sha2-256"),
])
def test_bad_profiles(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        replace(V0, **changes)
