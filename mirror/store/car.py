"""CAR files: CARv1 export (depth-first, no duplicates) and verified, all-or-nothing import (v1 and v2).

CARv1 (ipfs-digest §6.1)::

    varint(len(H)) H  { varint(len(CID) + len(block)) CID block }*
    H = DAG-CBOR {"roots": [CID, ...], "version": 1}      (a CID is tag 42 over 0x00 || binary CID)

CARv2 (§6.2) is accepted on import: an 11-byte pragma (a CARv1 header saying version 2), a 40-byte
header (characteristics, data offset, data size, index offset; little-endian u64s), then a CARv1
payload at the data offset. The index, if any, is ignored.

Import is hostile-input safe: header and section sizes are bounded, every block is verified against
its CID before anything is written, and blocks go into one blockstore batch that is committed only
when the whole CAR has been read. A truncated or corrupted CAR raises CarError and stores nothing.
Roots are *not* required to be in the CAR (the spec allows that); callers that care check
``store.has(root)`` afterwards (the CLI warns).

Identity CIDs are never written into a CAR; on import they are checked and skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from mirror.durable import write_atomically
from mirror.errors import BlockMismatch, BlockTooLarge, CarError, InvalidCID
from mirror.store.blockstore import MAX_BLOCK_SIZE, BlockStore, check_block
from mirror.store.cid import CID, IDENTITY, encode_varint
from mirror.store.exporter import Scope, walk_dag

MAX_HEADER_SIZE = 1024 * 1024                 # a header with thousands of roots still fits
MAX_SECTION_SIZE = MAX_BLOCK_SIZE + 4096      # one block plus the longest CID we accept
CARV2_PRAGMA = bytes.fromhex("0aa16776657273696f6e02")
_V2_HEADER_SIZE = 40
_CHUNK = 256 * 1024


# --- writing ------------------------------------------------------------------------------------

def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes((major << 5 | value,))
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * width):
            return bytes((major << 5 | info,)) + value.to_bytes(width, "big")
    raise ValueError("CBOR value too large")


def encode_header(roots: Sequence[CID], version: int = 1) -> bytes:
    """The DAG-CBOR CARv1 header H (without its length prefix), keys in canonical order."""
    out = bytearray(_cbor_head(5, 2))
    out += _cbor_head(3, 5) + b"roots" + _cbor_head(4, len(roots))
    for root in roots:
        cid = b"\x00" + bytes(root)
        out += b"\xd8\x2a" + _cbor_head(2, len(cid)) + cid
    out += _cbor_head(3, 7) + b"version" + _cbor_head(0, version)
    return bytes(out)


def car_header(roots: Sequence[CID]) -> bytes:
    header = encode_header(roots)
    return encode_varint(len(header)) + header


def iter_car(store: BlockStore, roots: Sequence[CID], scope: Scope = "all") -> Iterator[bytes]:
    """The bytes of a CARv1 of ``roots`` (DFS pre-order, first seen, no duplicates), in chunks.

    Raises BlockNotFound when a block of the DAG is missing (the CAR so far is incomplete).
    """
    yield car_header(roots)
    seen: set[bytes] = set()
    pending: list[bytes] = []
    size = 0
    for root in roots:
        for cid, block in walk_dag(store, root, scope, seen=seen):
            cid_bytes = bytes(cid)
            pending += (encode_varint(len(cid_bytes) + len(block)), cid_bytes, block)
            size += len(block)
            if size >= _CHUNK:
                yield b"".join(pending)
                pending, size = [], 0
    if pending:
        yield b"".join(pending)


def write_car(store: BlockStore, roots: Sequence[CID], out: BinaryIO, scope: Scope = "all") -> int:
    """Write a CARv1 of ``roots`` to ``out``; returns the number of bytes written."""
    written = 0
    for chunk in iter_car(store, roots, scope):
        out.write(chunk)
        written += len(chunk)
    return written


def write_car_file(store: BlockStore, roots: Sequence[CID], path: Path | str,
                   scope: Scope = "all") -> int:
    """Write a CAR to ``path`` atomically: a temp file beside it, renamed only when complete."""
    return write_atomically(path, lambda fh: write_car(store, roots, fh, scope))


async def aiter_car(store: BlockStore, roots: Sequence[CID],
                    scope: Scope = "all") -> AsyncIterator[bytes]:
    """``iter_car`` for the event loop: block reads and hashing run in a worker thread."""
    chunks = iter_car(store, roots, scope)
    done = object()
    while True:
        chunk = await asyncio.to_thread(next, chunks, done)
        if chunk is done:
            return
        yield chunk  # type: ignore[misc]


# --- reading ------------------------------------------------------------------------------------

class _Input:
    """A byte stream with a position, an optional end, and CarError on truncation."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.pos = 0
        self.limit: int | None = None

    def read(self, n: int, what: str) -> bytes:
        if self.limit is not None and self.pos + n > self.limit:
            raise CarError(f"CAR is malformed: {what} runs past the end of the CARv2 data")
        data = self._stream.read(n)
        while data is not None and 0 < len(data) < n:   # short reads from pipes and sockets
            more = self._stream.read(n - len(data))
            if not more:
                break
            data += more
        if data is None or len(data) != n:
            raise CarError(f"CAR is truncated: {what} ends early (at byte {self.pos})")
        self.pos += n
        return data

    def skip(self, n: int, what: str) -> None:
        while n > 0:
            step = min(n, _CHUNK)
            self.read(step, what)
            n -= step

    def varint(self, what: str, *, eof_ok: bool = False) -> int | None:
        """A LEB128 varint; None at a clean end of input when ``eof_ok``."""
        value = shift = 0
        for i in range(9):
            if self.limit is not None and self.pos >= self.limit:
                if i == 0 and eof_ok:
                    return None
                raise CarError(f"CAR is malformed: {what} runs past the end of the CARv2 data")
            byte = self._stream.read(1)
            if not byte:
                if i == 0 and eof_ok:
                    return None
                raise CarError(f"CAR is truncated: {what} ends early (at byte {self.pos})")
            self.pos += 1
            value |= (byte[0] & 0x7F) << shift
            if not byte[0] & 0x80:
                return value
            shift += 7
        raise CarError(f"CAR is malformed: {what} is not a valid varint")


@dataclass
class CarReader:
    """Reads a CAR stream: ``roots`` after construction, then verified ``(cid, block)`` pairs."""

    stream: BinaryIO
    roots: list[CID] = field(default_factory=list)
    version: int = 1
    blocks: int = 0

    def __post_init__(self) -> None:
        self._in = _Input(self.stream)
        header = self._read_header()
        if header == CARV2_PRAGMA[1:]:
            self.version = 2
            self._enter_v2_payload()
            header = self._read_header()
        self.roots = _parse_header(header)

    def _read_header(self) -> bytes:
        length = self._in.varint("the header length")
        if length is None or length == 0 or length > MAX_HEADER_SIZE:
            raise CarError(f"CAR header length {length} is out of bounds (1..{MAX_HEADER_SIZE})")
        return self._in.read(length, "the header")

    def _enter_v2_payload(self) -> None:
        raw = self._in.read(_V2_HEADER_SIZE, "the CARv2 header")
        offset = int.from_bytes(raw[16:24], "little")
        size = int.from_bytes(raw[24:32], "little")
        start = len(CARV2_PRAGMA) + _V2_HEADER_SIZE
        if offset < start or size == 0:
            raise CarError(f"CARv2 header is malformed (data offset {offset}, data size {size})")
        self._in.skip(offset - start, "the padding before the CARv2 data")
        self._in.limit = offset + size

    def __iter__(self) -> Iterator[tuple[CID, bytes]]:
        while True:
            length = self._in.varint("a section length", eof_ok=True)
            if length is None:
                return
            if length == 0 or length > MAX_SECTION_SIZE:
                raise CarError(f"CAR section {self.blocks + 1} has length {length}, out of bounds "
                               f"(1..{MAX_SECTION_SIZE})")
            section = self._in.read(length, f"section {self.blocks + 1}")
            yield self._verified(section)

    def _verified(self, section: bytes) -> tuple[CID, bytes]:
        number = self.blocks + 1
        try:
            cid, end = CID.parse_prefix(section)
            block = section[end:]
            check_block(cid, block)
        except (InvalidCID, BlockMismatch, BlockTooLarge) as exc:
            raise CarError(f"CAR block {number} is refused: {exc}") from exc
        self.blocks = number
        return cid, block


def _parse_header(header: bytes) -> list[CID]:
    import dag_cbor  # imported here: loading it (and multiformats) costs ~0.1 s at start-up
    from multiformats import CID as TaggedCID

    try:
        decoded = dag_cbor.decode(header)
    except Exception as exc:  # dag_cbor and multiformats raise many kinds; all mean "malformed"
        raise CarError(f"CAR header is not valid DAG-CBOR: {str(exc).splitlines()[0]}") from exc
    if not isinstance(decoded, dict) or decoded.get("version") != 1:
        version = decoded.get("version") if isinstance(decoded, dict) else None
        raise CarError(f"CAR header declares version {version!r}; only 1 and 2 are supported")
    roots = decoded.get("roots")
    if not isinstance(roots, list) or set(decoded) != {"roots", "version"}:
        raise CarError("CAR header must hold exactly 'roots' (a list) and 'version'")
    if not all(isinstance(root, TaggedCID) for root in roots):
        raise CarError("CAR header roots must be CIDs (CBOR tag 42)")
    try:
        return [CID.from_bytes(bytes(cast(TaggedCID, root))) for root in roots]
    except InvalidCID as exc:
        raise CarError(f"CAR header has an invalid root: {exc}") from exc


def import_car(store: BlockStore, stream: BinaryIO) -> list[CID]:
    """Verify and store every block of a CARv1/CARv2 stream; returns its roots. All or nothing."""
    reader = CarReader(stream)
    with store.batch() as batch:
        for cid, block in reader:
            if cid.hash_code != IDENTITY:
                batch.put(cid, block)
    return reader.roots
