"""The held set of a holdings announcement (protocol §11): which contents a node holds, compactly.

    held set = zstd( LEB128(p1 - 0) || LEB128(p2 - p1) || … )

where p1 < p2 < … are the first 8 bytes (big-endian) of the sha256 of every content held. 100,000
contents make about 665 KB; 8 bytes keep accidental matches negligible (< 1e-8 per node for a
million contents).

Both directions stream, so a node holding a million contents never has them all in memory as
Python objects: ``HeldSetWriter`` takes sha256s in increasing order a page at a time (the order
the index reads them in), and ``decode_held`` returns the prefixes as one compact ``array`` (8
bytes each) that ``prefix_texts`` turns into text a chunk at a time.
"""

from __future__ import annotations

import io
from array import array
from typing import Iterable, Iterator

import zstandard

from mirror.errors import PeerError

MAX_HELD = 4_000_000                 # contents one announcement may claim
MAX_SET_BYTES = 10 * MAX_HELD        # a LEB128 delta is at most 10 bytes (zstd adds little)
LEVEL = 3


def prefix_of(sha256_hex: str) -> int:
    """The 64-bit prefix of a content's sha256 (hex)."""
    return int(sha256_hex[:16], 16)


class HeldSetWriter:
    """Encodes a held set from sha256s added in increasing order (repeats of a prefix are kept
    once); ``finish`` returns the set bytes, ``count`` the prefixes in it."""

    def __init__(self) -> None:
        self._zstd = zstandard.ZstdCompressor(level=LEVEL).compressobj()
        self._out = bytearray()
        self._last = -1
        self.count = 0

    def add(self, sha256s: Iterable[str]) -> None:
        raw = bytearray()
        last = self._last
        for sha in sha256s:
            value = prefix_of(sha)
            if value == last:
                continue
            if value < last:
                raise ValueError("held sha256s must come in increasing order")
            delta, last = value - max(last, 0), value
            while delta >= 0x80:
                raw.append((delta & 0x7F) | 0x80)
                delta >>= 7
            raw.append(delta)
            self.count += 1
        self._last = last
        self._out += self._zstd.compress(bytes(raw))

    def finish(self) -> bytes:
        self._out += self._zstd.flush()
        return bytes(self._out)


def encode_held(sha256s: Iterable[str]) -> bytes:
    """The held-set bytes of the contents SHA256S (hex digests; order and repeats do not matter)."""
    writer = HeldSetWriter()
    writer.add(sorted({s[:16].lower() for s in sha256s}))
    return writer.finish()


def decode_held(data: bytes, count: int) -> array[int]:
    """The COUNT increasing prefixes in a held set; ``PeerError`` for anything malformed."""
    if not 0 <= count <= MAX_HELD:
        raise PeerError(f"a held set of {count} contents is over the limit")
    try:
        raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read(10 * count + 1)
    except zstandard.ZstdError as exc:
        raise PeerError(f"held set is not zstd: {exc}") from None
    values = array("Q")
    value = shift = delta = 0
    for byte in raw:
        delta |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            if shift > 63:
                raise PeerError("held set has an overlong varint")
            continue
        if values and delta == 0:
            raise PeerError("held set is not strictly increasing")
        value += delta
        if value >= 1 << 64:
            raise PeerError(f"held set does not hold the {count} announced prefixes")
        values.append(value)
        delta = shift = 0
    if shift or len(values) != count:
        raise PeerError(f"held set does not hold the {count} announced prefixes")
    return values


def prefix_texts(values: Iterable[int]) -> Iterator[str]:
    """Prefixes as the 16 hex chars the storage compares with ``contents.sha256``, lazily."""
    return (f"{v:016x}" for v in values)
