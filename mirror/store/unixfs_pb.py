"""The UnixFS ``Data`` message (proto2) carried in a dag-pb node's Data field.

Written field by field in ascending order as Kubo's protobuf marshaller does; each optional field
appears only when it is set (not None), so callers decide, as Kubo does, that File and Raw nodes
always carry ``filesize`` (even 0) and that internal file nodes carry no ``data``.

    1 Type (varint)  2 Data (bytes)  3 filesize (varint)  4 blocksizes (varint, repeated, unpacked)
    5 hashType (varint)  6 fanout (varint)  7 mode (varint)  8 mtime (UnixTime: 1 seconds int64,
    2 nanoseconds fixed32)

Decoding accepts what a proto2 parser accepts (packed blocksizes too, unknown fields skipped) and
checks what the UnixFS spec asks readers to check; malformed input raises ``DagPBError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mirror.errors import DagPBError
from mirror.store.cid import encode_varint

RAW, DIRECTORY, FILE, METADATA, SYMLINK, HAMT_SHARD = range(6)
TYPE_NAMES = ("raw", "directory", "file", "metadata", "symlink", "hamt-shard")
MURMUR3_X64_64 = 0x22


@dataclass(frozen=True, slots=True)
class UnixTime:
    seconds: int
    nanos: int = 0


@dataclass(slots=True)
class UnixFSData:
    type: int
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: list[int] = field(default_factory=list)
    hash_type: int | None = None
    fanout: int | None = None
    mode: int | None = None
    mtime: UnixTime | None = None


def _int64_varint(value: int) -> bytes:
    return encode_varint(value & 0xFFFF_FFFF_FFFF_FFFF)


def encode_unixfs(d: UnixFSData) -> bytes:
    parts = [b"\x08", encode_varint(d.type)]
    if d.data is not None:
        parts += (b"\x12", encode_varint(len(d.data)), d.data)
    if d.filesize is not None:
        parts += (b"\x18", encode_varint(d.filesize))
    for size in d.blocksizes:
        parts += (b"\x20", encode_varint(size))
    if d.hash_type is not None:
        parts += (b"\x28", encode_varint(d.hash_type))
    if d.fanout is not None:
        parts += (b"\x30", encode_varint(d.fanout))
    if d.mode is not None:
        parts += (b"\x38", encode_varint(d.mode))
    if d.mtime is not None:
        body = b"\x08" + _int64_varint(d.mtime.seconds)
        if d.mtime.nanos:
            body += b"\x15" + d.mtime.nanos.to_bytes(4, "little")
        parts += (b"\x42", encode_varint(len(body)), body)
    return b"".join(parts)


class _Reader:
    """Protobuf field reader over one message; raises DagPBError on truncation."""

    def __init__(self, buf: bytes | memoryview) -> None:
        self.buf = memoryview(buf)
        self.pos = 0

    def more(self) -> bool:
        return self.pos < len(self.buf)

    def varint(self) -> int:
        value = shift = 0
        buf, pos = self.buf, self.pos
        while pos < len(buf) and shift < 70:
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                self.pos = pos
                if value >= 1 << 64:
                    break
                return value
            shift += 7
        raise DagPBError("unixfs: truncated or overlong varint")

    def take(self, length: int) -> memoryview:
        end = self.pos + length
        if end > len(self.buf):
            raise DagPBError("unixfs: field runs past the end of the message")
        view = self.buf[self.pos:end]
        self.pos = end
        return view

    def skip(self, wire: int) -> None:
        if wire == 0:
            self.varint()
        elif wire == 1:
            self.take(8)
        elif wire == 2:
            self.take(self.varint())
        elif wire == 5:
            self.take(4)
        else:
            raise DagPBError(f"unixfs: unsupported wire type {wire}")


def _decode_mtime(buf: memoryview) -> UnixTime:
    reader = _Reader(buf)
    seconds, nanos = 0, 0
    while reader.more():
        tag = reader.varint()
        if tag == 0x08:
            raw = reader.varint()
            seconds = raw - (1 << 64) if raw >= 1 << 63 else raw
        elif tag == 0x15:
            nanos = int.from_bytes(reader.take(4), "little")
        else:
            reader.skip(tag & 7)
    if nanos >= 1_000_000_000:
        raise DagPBError("unixfs: mtime nanoseconds out of range")
    return UnixTime(seconds, nanos)


def decode_unixfs(b: bytes | memoryview) -> UnixFSData:
    """Parse a UnixFS Data message; raises DagPBError when malformed."""
    reader = _Reader(b)
    result = UnixFSData(type=-1)
    while reader.more():
        tag = reader.varint()
        number, wire = tag >> 3, tag & 7
        if tag == 0x08:
            result.type = reader.varint()
        elif tag == 0x12:
            result.data = bytes(reader.take(reader.varint()))
        elif tag == 0x18:
            result.filesize = reader.varint()
        elif tag == 0x20:
            result.blocksizes.append(reader.varint())
        elif tag == 0x22:           # packed blocksizes: legal proto2, never written by Kubo
            packed = _Reader(reader.take(reader.varint()))
            while packed.more():
                result.blocksizes.append(packed.varint())
        elif tag == 0x28:
            result.hash_type = reader.varint()
        elif tag == 0x30:
            result.fanout = reader.varint()
        elif tag == 0x38:
            result.mode = reader.varint()
        elif tag == 0x42:
            result.mtime = _decode_mtime(reader.take(reader.varint()))
        elif number in (1, 2, 3, 4, 5, 6, 7, 8):
            raise DagPBError(f"unixfs: field {number} has the wrong wire type {wire}")
        else:
            reader.skip(wire)
    _check(result)
    return result


def _check(d: UnixFSData) -> None:
    if not 0 <= d.type < len(TYPE_NAMES):
        raise DagPBError("unixfs: missing or unknown Type" if d.type < 0 else
                         f"unixfs: unknown Type {d.type}")
    if d.type == HAMT_SHARD:
        fanout = d.fanout or 0
        if fanout < 8 or fanout > 1024 or fanout & (fanout - 1):
            raise DagPBError(f"unixfs: HAMT fanout {fanout} is not a power of two in 8..1024")
        if d.hash_type != MURMUR3_X64_64:
            raise DagPBError(f"unixfs: HAMT hash type {d.hash_type} is not murmur3-x64-64")
