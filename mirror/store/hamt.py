"""HAMT-sharded UnixFS directories, built as Kubo builds them (boxo ``ipld/unixfs/hamt``).

For fanout F (256: 8 bits per level), each entry name is hashed with murmur3 x64-128, seed 0, and
only h1 is kept, as 8 big-endian bytes. The bucket at depth k is the k-th group of log2(F) bits,
most significant first (byte k for F=256). A bucket with one entry becomes a link named
``"%02X" % bucket + name`` to the entry; a bucket with more becomes a link named ``"%02X" % bucket``
to a sub-shard built from the next bits. Each shard node carries UnixFS
``{Type: HAMTShard, Data: bitfield, hashType: 0x22, fanout: F}``; the bitfield is an F-bit
big-endian integer (bucket i = bit i, counted from the least significant bit of the last byte)
with its leading zero bytes stripped. The result depends only on the set of names.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from mirror.errors import UsageError
from mirror.store.cid import CID
from mirror.store.dagpb import PBLink, PBNode, encode_node
from mirror.store.unixfs_pb import HAMT_SHARD, MURMUR3_X64_64, UnixFSData, encode_unixfs

_MASK = (1 << 64) - 1
_C1 = 0x87C37B91114253D5
_C2 = 0x4CF5AD432745937F


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _MASK


def _fmix(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _MASK
    return k ^ (k >> 33)


def _mix_k1(k1: int) -> int:
    return (_rotl((k1 * _C1) & _MASK, 31) * _C2) & _MASK


def _mix_k2(k2: int) -> int:
    return (_rotl((k2 * _C2) & _MASK, 33) * _C1) & _MASK


def murmur3_x64_128(data: bytes, seed: int = 0) -> tuple[int, int]:
    """MurmurHash3 x64 128-bit: returns (h1, h2) as unsigned 64-bit integers."""
    h1 = h2 = seed
    nblocks = len(data) // 16
    for k1, k2 in struct.iter_unpack("<QQ", data[:nblocks * 16]):
        h1 ^= _mix_k1(k1)
        h1 = (_rotl(h1, 27) + h2) & _MASK
        h1 = (h1 * 5 + 0x52DCE729) & _MASK
        h2 ^= _mix_k2(k2)
        h2 = (_rotl(h2, 31) + h1) & _MASK
        h2 = (h2 * 5 + 0x38495AB5) & _MASK
    tail = data[nblocks * 16:]
    if len(tail) > 8:
        h2 ^= _mix_k2(int.from_bytes(tail[8:], "little"))
    if tail:
        h1 ^= _mix_k1(int.from_bytes(tail[:8], "little"))
    h1 ^= len(data)
    h2 ^= len(data)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _MASK
    return h1, (h2 + h1) & _MASK


def hamt_hash(name: str) -> int:
    """The 64-bit key of a directory entry: h1 of murmur3 x64-128 over the UTF-8 name."""
    return murmur3_x64_128(name.encode("utf-8"))[0]


def build_hamt(entries: list[PBLink], fanout: int, put: Callable[[bytes], CID]) -> tuple[CID, int]:
    """Build the shard tree over ``entries``; ``put`` stores a node and returns its CID.

    Returns the root CID and its cumulative size (Tsize). Names must be unique.
    """
    bits = fanout.bit_length() - 1
    keyed = [(hamt_hash(entry.name), entry) for entry in entries]
    return _build_shard(keyed, 0, bits, put)


def _build_shard(keyed: list[tuple[int, PBLink]], depth: int, bits: int,
                 put: Callable[[bytes], CID]) -> tuple[CID, int]:
    shift = 64 - (depth + 1) * bits
    if shift < 0:
        raise UsageError("sharded directory too deep: entry names collide in every hash bit")
    buckets: dict[int, list[tuple[int, PBLink]]] = {}
    for key, entry in keyed:
        buckets.setdefault((key >> shift) & ((1 << bits) - 1), []).append((key, entry))
    width = len(format((1 << bits) - 1, "X"))
    links = []
    for index in sorted(buckets):
        prefix = format(index, f"0{width}X")
        group = buckets[index]
        if len(group) == 1:
            entry = group[0][1]
            links.append(PBLink(entry.hash, prefix + entry.name, entry.tsize))
        else:
            cid, tsize = _build_shard(group, depth + 1, bits, put)
            links.append(PBLink(bytes(cid), prefix, tsize))
    bitfield = sum(1 << index for index in buckets).to_bytes((1 << bits) // 8, "big").lstrip(b"\0")
    data = UnixFSData(HAMT_SHARD, data=bitfield or None, hash_type=MURMUR3_X64_64, fanout=1 << bits)
    block = encode_node(PBNode(links, encode_unixfs(data)))
    return put(block), len(block) + sum(link.tsize for link in links)
