"""dag-pb and UnixFS Data codecs: Kubo's exact bytes, round trips, strict rejections."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mirror.errors import DagPBError, IntegrityError
from mirror.store.cid import CID, DAG_PB, RAW
from mirror.store.dagpb import PBLink, PBNode, decode_node, encode_node, encoded_link_size
from mirror.store.unixfs_pb import (DIRECTORY, FILE, HAMT_SHARD, SYMLINK, UnixFSData, UnixTime,
                                    decode_unixfs, encode_unixfs)

EMPTY_FILE = CID.decode("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")

link_hashes = st.one_of(
    st.binary(min_size=32, max_size=32).map(lambda d: b"\x12\x20" + d),
    st.binary(min_size=32, max_size=32).map(lambda d: b"\x01\x55\x12\x20" + d),
)
links = st.builds(PBLink, link_hashes, st.text(max_size=20), st.integers(0, 1 << 63))
nodes = st.builds(PBNode, st.lists(links, max_size=6), st.one_of(st.none(), st.binary(max_size=64)))


@given(nodes)
def test_round_trip_sorts_links_stably(node: PBNode) -> None:
    decoded = decode_node(encode_node(node))
    assert decoded.data == node.data
    assert decoded.links == sorted(node.links, key=lambda link: link.name.encode("utf-8"))
    assert encode_node(decoded) == encode_node(node)


@given(st.integers(0, 200), st.integers(0, 300), st.integers(0, 1 << 40))
def test_encoded_link_size_matches_encoding(hash_len: int, name_len: int, tsize: int) -> None:
    link = PBLink(b"h" * hash_len, "n" * name_len, tsize)
    assert encoded_link_size(hash_len, name_len, tsize) == len(encode_node(PBNode([link])))


def test_kubo_layouts() -> None:
    leaf = encode_node(PBNode([], encode_unixfs(UnixFSData(FILE, data=b"hello world", filesize=11))))
    assert leaf.hex() == "0a110802120b68656c6c6f20776f726c64180b"
    assert str(CID.of(leaf, DAG_PB, 0)) == "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
    empty = encode_node(PBNode([], encode_unixfs(UnixFSData(FILE, filesize=0))))
    assert empty.hex() == "0a0408021800"
    assert encode_node(PBNode([], encode_unixfs(UnixFSData(DIRECTORY)))).hex() == "0a020801"
    symlink = encode_node(PBNode([], encode_unixfs(UnixFSData(SYMLINK, data=b"foo"))))
    assert str(CID.of(symlink, DAG_PB, 0)) == "QmTB8BaCJdCH5H3k7GrxJsxgDNmNYGGR71C58ERkivXoj5"
    wrapper = encode_node(PBNode([PBLink(bytes(EMPTY_FILE), "example.jpg", 6)], b"\x08\x01"))
    assert len(wrapper) == 57
    assert wrapper.startswith(b"\x12\x33\x0a\x22" + bytes(EMPTY_FILE) + b"\x12\x0bexample.jpg\x18\x06")
    unnamed = encode_node(PBNode([PBLink(bytes(EMPTY_FILE), "", 0)]))
    assert unnamed.endswith(b"\x12\x00\x18\x00")           # empty Name and zero Tsize are written


def test_empty_block_is_an_empty_node() -> None:
    assert decode_node(b"") == PBNode([], None)
    assert encode_node(PBNode()) == b""


@pytest.mark.parametrize("block,message", [
    (b"\x0a\x00\x12\x24\x0a\x22" + bytes(EMPTY_FILE), "Links after Data"),
    (b"\x0a\x00\x0a\x00", "duplicate Data"),
    (b"\x1a\x00", "unexpected PBNode field 3"),
    (b"\x08\x01", "unexpected PBNode field 1"),
    (b"\x12\x00", "link without Hash"),
    (b"\x12\x03\x12\x01a", "link without Hash"),
    (b"\x12\x05\x0a\x03abc", "not a valid CID"),
    (b"\x12\x26\x12\x00\x0a\x22" + bytes(EMPTY_FILE), "out of order"),
    (b"\x12\x48\x0a\x22" + bytes(EMPTY_FILE) + b"\x0a\x22" + bytes(EMPTY_FILE), "out of order"),
    (b"\x12\x27\x0a\x22" + bytes(EMPTY_FILE) + b"\x12\x01\xff", "not valid UTF-8"),
    (b"\x12\x26\x0a\x22" + bytes(EMPTY_FILE) + b"\x20\x00", "unexpected PBLink field 4"),
    (b"\x12\x10\x0a\x22", "past the end"),
    (b"\x0a\x05abc", "past the end"),
    (b"\x0a", "truncated"),
    (b"\x0a" + b"\xff" * 11, "overlong"),
])
def test_strict_decoding_rejects(block: bytes, message: str) -> None:
    with pytest.raises(DagPBError, match=message) as info:
        decode_node(block)
    assert isinstance(info.value, IntegrityError) and isinstance(info.value, ValueError)


@given(st.builds(UnixFSData, st.sampled_from([0, 1, 2, 3, 4]), st.one_of(st.none(), st.binary(max_size=40)),
                 st.one_of(st.none(), st.integers(0, 1 << 62)), st.lists(st.integers(0, 1 << 40), max_size=5),
                 st.none(), st.none(), st.one_of(st.none(), st.integers(0, 0o7777)),
                 st.one_of(st.none(), st.builds(UnixTime, st.integers(-(1 << 62), 1 << 62),
                                                st.integers(0, 999_999_999)))))
def test_unixfs_round_trip(data: UnixFSData) -> None:
    assert decode_unixfs(encode_unixfs(data)) == data


def test_unixfs_kubo_bytes() -> None:
    root = UnixFSData(FILE, filesize=262_145, blocksizes=[262_144, 1])
    assert encode_unixfs(root).hex() == "0802" + "1881801020808010" + "2001"
    shard = UnixFSData(HAMT_SHARD, data=b"\xff" * 32, hash_type=0x22, fanout=256)
    assert encode_unixfs(shard).hex() == "0805" + "1220" + "ff" * 32 + "2822" + "308002"
    meta = UnixFSData(FILE, filesize=0, mode=0o764, mtime=UnixTime(1603539720, 54321))
    assert encode_unixfs(meta).hex() == "0802180038f403420b0888a6d0fc051531d40000"
    negative = encode_unixfs(UnixFSData(FILE, mtime=UnixTime(-1)))
    assert len(negative) == 2 + 2 + 1 + 10 and decode_unixfs(negative).mtime == UnixTime(-1)


def test_unixfs_accepts_packed_blocksizes_and_unknown_fields() -> None:
    assert decode_unixfs(b"\x08\x02\x22\x02\x01\x02").blocksizes == [1, 2]
    assert decode_unixfs(b"\x08\x02\x48\x07\x52\x01x").type == FILE


@pytest.mark.parametrize("data,message", [
    (b"", "missing or unknown Type"),
    (b"\x08\x09", "unknown Type 9"),
    (b"\x08\x05\x28\x22\x30\x07", "fanout 7"),
    (b"\x08\x05\x28\x22\x30\x80\x10", "fanout 2048"),
    (b"\x08\x05\x30\x80\x02", "hash type"),
    (b"\x0a\x00", "wrong wire type"),
    (b"\x08\x02\x12\x05ab", "past the end"),
    (b"\x08\x02\x42\x05\x08\x01\x15\xff\xff", "past the end"),
    (b"\x08\x02\x42\x05\x15\x00\xca\x9a\x3b", "nanoseconds"),
    (b"\x08\x02\x4b", "unsupported wire type"),
])
def test_unixfs_rejects(data: bytes, message: str) -> None:
    with pytest.raises(DagPBError, match=message):
        decode_unixfs(data)


def test_raw_links_keep_their_codec() -> None:
    raw = CID.of(b"x", RAW)
    node = decode_node(encode_node(PBNode([PBLink(bytes(raw), "", 1)], b"\x08\x02")))
    assert CID.from_bytes(node.links[0].hash) == raw
