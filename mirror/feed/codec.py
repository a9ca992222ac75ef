"""The wire form of a page of feed entries (``application/vnd.openmirror.entries+zstd``).

One zstd frame (content size declared, no dictionary) holding::

    "OMEP"  version:u8=1  flags:u8=0  count:u32
    count × ( length:u32  payload[length]  signature[64] )      integers big-endian

Decoding is bounded before any work is done: the compressed body may not exceed ``max_bytes``,
the frame must declare a content size no larger than ``max_bytes`` (so a zstd bomb is refused
from its header, and a frame that lies about its size fails inside zstd), the decoder window is
capped, and ``count`` may not exceed ``max_entries``. Every inconsistency (bad magic, a length
running past the end, fewer or more records than ``count``, trailing bytes, a malformed entry)
raises ``PeerError``. Decoded entries are parsed but not yet verified: see ``verify_chain``.
"""

from __future__ import annotations

import asyncio
import struct
from typing import AsyncIterable, Iterable

import zstandard

from mirror.errors import PeerError, UsageError
from mirror.feed.entry import MAX_PAYLOAD, Entry, parse_entry
from mirror.feed.identity import SIGNATURE_SIZE

MEDIA_TYPE = "application/vnd.openmirror.entries+zstd"
PAGE_MAGIC = b"OMEP"
PAGE_VERSION = 1
PAGE_DEFAULT_ENTRIES = 1000      # entries a server sends when the client names no limit
PAGE_MAX_ENTRIES = 5000          # most entries one page may hold
PAGE_MAX_BYTES = 32 << 20        # most bytes one page may hold, compressed or not
MAX_WINDOW = 8 << 20             # largest zstd window a decoder accepts
COMPRESSION_LEVEL = 3
_HEADER = struct.Struct(">4sBBI")
_LENGTH = struct.Struct(">I")
_RECORD_OVERHEAD = _LENGTH.size + SIGNATURE_SIZE
_READ_CHUNK = 1 << 16


def encode_page(entries: Iterable[Entry | tuple[bytes, bytes]], *, max_bytes: int = PAGE_MAX_BYTES,
                max_entries: int = PAGE_MAX_ENTRIES, level: int = COMPRESSION_LEVEL) -> bytes:
    """One page body holding ENTRIES in order (``Entry`` objects or raw ``(payload, signature)``).

    Stops before the first entry that would take the page past MAX_BYTES or MAX_ENTRIES (the
    first entry always goes in), so a server can pass a generous iterator; the client asks again
    after the last seq it got.
    """
    out = bytearray(_HEADER.size)
    count = 0
    for item in entries:
        payload, signature = (item.payload, item.signature) if isinstance(item, Entry) else item
        if len(signature) != SIGNATURE_SIZE or not 0 < len(payload) <= MAX_PAYLOAD:
            raise UsageError("cannot encode an entry with a bad signature size or payload size")
        if count and (count >= max_entries or len(out) + _RECORD_OVERHEAD + len(payload) > max_bytes):
            break
        out += _LENGTH.pack(len(payload))
        out += payload
        out += signature
        count += 1
    _HEADER.pack_into(out, 0, PAGE_MAGIC, PAGE_VERSION, 0, count)
    return zstandard.ZstdCompressor(level=level, write_content_size=True).compress(bytes(out))


def decode_page(body: bytes, *, max_entries: int, max_bytes: int,
                max_payload: int = MAX_PAYLOAD) -> list[Entry]:
    """The entries of a page body, every limit checked; raises ``PeerError`` for anything wrong."""
    raw = _decompress(body, max_bytes)
    if len(raw) < _HEADER.size:
        raise PeerError(f"entry page is {len(raw)} bytes, shorter than its header")
    magic, version, flags, count = _HEADER.unpack_from(raw, 0)
    if magic != PAGE_MAGIC:
        raise PeerError("not an entry page (bad magic)")
    if version != PAGE_VERSION or flags != 0:
        raise PeerError(f"unsupported entry page version {version} (flags {flags})")
    if count > max_entries:
        raise PeerError(f"entry page holds {count} entries, more than the {max_entries} allowed")
    if count * _RECORD_OVERHEAD > len(raw) - _HEADER.size:
        raise PeerError(f"entry page claims {count} entries but is only {len(raw)} bytes")
    return _read_records(raw, count, max_payload)


def _decompress(body: bytes, max_bytes: int) -> bytes:
    if len(body) > max_bytes:
        raise PeerError(f"entry page is {len(body)} bytes compressed, more than {max_bytes}")
    try:
        size = zstandard.get_frame_parameters(body).content_size
    except zstandard.ZstdError:
        raise PeerError("entry page is not a zstd frame") from None
    if size == zstandard.CONTENTSIZE_UNKNOWN or size == zstandard.CONTENTSIZE_ERROR:
        raise PeerError("entry page frame does not declare its size")
    if size > max_bytes:
        raise PeerError(f"entry page would decompress to {size} bytes, more than {max_bytes}")
    try:
        raw = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW).decompress(
            body, max_output_size=max_bytes, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise PeerError(f"entry page is not a valid zstd frame: {exc}") from None
    if len(raw) != size:
        raise PeerError("entry page frame does not match its declared size")
    return raw


def _read_records(raw: bytes, count: int, max_payload: int) -> list[Entry]:
    view = memoryview(raw)
    pos, end = _HEADER.size, len(raw)
    entries: list[Entry] = []
    for i in range(count):
        if pos + _RECORD_OVERHEAD > end:
            raise PeerError(f"entry page ends inside record {i} of {count}")
        (length,) = _LENGTH.unpack_from(raw, pos)
        if length > max_payload:
            raise PeerError(f"entry page record {i} is {length} bytes, more than {max_payload}")
        stop = pos + _LENGTH.size + length
        if stop + SIGNATURE_SIZE > end:
            raise PeerError(f"entry page record {i} runs past the end of the page")
        payload = bytes(view[pos + _LENGTH.size:stop])
        signature = bytes(view[stop:stop + SIGNATURE_SIZE])
        entries.append(parse_entry(payload, signature, max_payload=max_payload))
        pos = stop + SIGNATURE_SIZE
    if pos != end:
        raise PeerError(f"entry page has {end - pos} bytes after its {count} records")
    return entries


async def receive_page(stream: AsyncIterable[bytes], *, max_entries: int, max_bytes: int,
                    max_payload: int = MAX_PAYLOAD) -> list[Entry]:
    """Read a page body from STREAM (an aiohttp ``StreamReader`` or any async iterable of bytes).

    At most MAX_BYTES + 1 bytes are read, so an endless stream fails fast; decoding runs in a
    worker thread, off the event loop. Timeouts belong to the caller's HTTP client.
    """
    body = await read_limited(stream, max_bytes)
    return await asyncio.to_thread(decode_page, body, max_entries=max_entries, max_bytes=max_bytes,
                                   max_payload=max_payload)


async def read_limited(stream: AsyncIterable[bytes], max_bytes: int) -> bytes:
    """All of STREAM, or ``PeerError`` as soon as it passes MAX_BYTES."""
    chunks = stream.iter_chunked(_READ_CHUNK) if hasattr(stream, "iter_chunked") else stream
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            raise PeerError(f"entry page is longer than {max_bytes} bytes")
    return bytes(body)
