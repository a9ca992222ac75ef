"""The wire form of entry pages: round trips, limits, and hostile bodies."""

from __future__ import annotations

import struct
import tracemalloc
from typing import AsyncIterator

import aiohttp
import pytest
import zstandard
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from mirror.errors import PeerError, UsageError
from mirror.feed.bodies import retract_body
from mirror.feed.codec import MEDIA_TYPE, decode_page, encode_page, receive_page
from mirror.feed.entry import Entry, make_entry, verify_chain
from mirror.feed.identity import Identity

ME = Identity.generate()
LIMITS = {"max_entries": 100, "max_bytes": 1 << 20}


def entries(n: int) -> list[Entry]:
    out: list[Entry] = []
    prev = None
    for i in range(n):
        prev = make_entry(ME, i + 1, prev, "retract", retract_body("c", f"doc-{i}", "test " * (i % 7)))
        out.append(prev)
    return out


ENTRIES = entries(20)


def raw_page(records: list[tuple[bytes, bytes]], *, count: int | None = None, magic: bytes = b"OMEP",
             version: int = 1, flags: int = 0, tail: bytes = b"") -> bytes:
    out = bytearray(struct.pack(">4sBBI", magic, version, flags, len(records) if count is None else count))
    for payload, signature in records:
        out += struct.pack(">I", len(payload)) + payload + signature
    return zstandard.ZstdCompressor().compress(bytes(out + tail))


RECORDS = [(e.payload, e.signature) for e in ENTRIES[:3]]


def rle_frame(content_size: int | None, total: int, block: int = 128 * 1024) -> bytes:
    """A hand-built zstd frame of RLE blocks: TOTAL zero bytes from 4 bytes per block."""
    out = bytearray(b"\x28\xb5\x2f\xfd")
    out += bytes([0x00, 0x38]) if content_size is None else bytes([0xC0, 0x38]) + struct.pack("<Q", content_size)
    blocks = total // block
    for i in range(blocks):
        out += (int(i == blocks - 1) | 1 << 1 | block << 3).to_bytes(3, "little") + b"\x00"
    return bytes(out)


def test_round_trip() -> None:
    body = encode_page(ENTRIES)
    assert decode_page(body, **LIMITS) == ENTRIES
    raw = encode_page((e.payload, e.signature) for e in ENTRIES)
    assert raw == body
    got = decode_page(body, **LIMITS)
    verify_chain(got, author=ME.node_id, after_seq=0, after_hash=None)
    assert decode_page(encode_page([]), **LIMITS) == []
    assert MEDIA_TYPE == "application/vnd.openmirror.entries+zstd"


def test_encode_stops_at_the_limits() -> None:
    assert decode_page(encode_page(ENTRIES, max_entries=7), **LIMITS) == ENTRIES[:7]
    small = encode_page(ENTRIES, max_bytes=3 * len(ENTRIES[0].payload) + 300)
    got = decode_page(small, **LIMITS)
    assert 1 <= len(got) < len(ENTRIES) and got == ENTRIES[:len(got)]
    assert decode_page(encode_page(ENTRIES, max_bytes=10), **LIMITS) == ENTRIES[:1]  # first always fits
    with pytest.raises(UsageError):
        encode_page([(b"{}", b"short")])


def test_compression_pays() -> None:
    body = encode_page(ENTRIES)
    assert len(body) < sum(len(e.payload) + 64 for e in ENTRIES) / 2


@pytest.mark.parametrize("body", [
    rle_frame(None, 1 << 30),          # 1 GiB with no declared size
    rle_frame(1 << 34, 1 << 34),       # 16 GiB, declared
    rle_frame(1000, 1 << 30),          # 1 GiB behind a frame that claims 1,000 bytes
    rle_frame(1 << 19, 1 << 30),       # claims 512 KiB, holds 1 GiB
], ids=["undeclared", "declared", "lying-small", "lying-medium"])
def test_zstd_bombs_are_refused_in_bounded_memory(body: bytes) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(PeerError):
            decode_page(body, **LIMITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * LIMITS["max_bytes"]


def test_truncated_and_padded_frames() -> None:
    body = encode_page(ENTRIES)
    for cut in (1, 4, len(body) // 2, len(body) - 3):
        with pytest.raises(PeerError):
            decode_page(body[:cut], **LIMITS)
    for extra in (b"\x00", b"garbage", body):
        with pytest.raises(PeerError):
            decode_page(body + extra, **LIMITS)
    with pytest.raises(PeerError, match="compressed"):
        decode_page(body, max_entries=100, max_bytes=len(body) - 1)
    with pytest.raises(PeerError, match="not a zstd frame"):
        decode_page(b"{\"entries\": []}", **LIMITS)


@pytest.mark.parametrize("body,message", [
    (raw_page(RECORDS, count=5), "claims 5 entries|ends inside record 3"),
    (raw_page(RECORDS, count=4), "ends inside record 3|claims"),
    (raw_page(RECORDS, count=2), "bytes after its 2 records"),
    (raw_page(RECORDS, count=(1 << 32) - 1), "more than the 100 allowed"),
    (raw_page(RECORDS * 40), "120 entries, more than the 100"),
    (raw_page(RECORDS, magic=b"OMEQ"), "bad magic"),
    (raw_page(RECORDS, version=2), "version 2"),
    (raw_page(RECORDS, flags=1), "flags 1"),
    (raw_page(RECORDS, tail=b"x"), "bytes after"),
    (zstandard.ZstdCompressor().compress(b"OMEP\x01"), "shorter than its header"),
])
def test_lying_pages(body: bytes, message: str) -> None:
    with pytest.raises(PeerError, match=message):
        decode_page(body, **LIMITS)


def test_length_prefix_past_the_end_and_oversize_entries() -> None:
    payload, signature = RECORDS[0]
    header = struct.pack(">4sBBI", b"OMEP", 1, 0, 1)
    past_end = zstandard.ZstdCompressor().compress(header + struct.pack(">I", len(payload) + 500) + payload + signature)
    with pytest.raises(PeerError, match="past the end"):
        decode_page(past_end, **LIMITS)
    with pytest.raises(PeerError, match="more than 100"):
        decode_page(raw_page(RECORDS), **LIMITS, max_payload=100)
    huge = zstandard.ZstdCompressor().compress(header + struct.pack(">I", 0xFFFFFFFF) + b"x" * 100)
    with pytest.raises(PeerError, match="more than"):
        decode_page(huge, **LIMITS)


def test_a_malformed_entry_fails_the_page() -> None:
    with pytest.raises(PeerError, match="not strict JSON"):
        decode_page(raw_page([RECORDS[0], (b"{oops", bytes(64))]), **LIMITS)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bodies_only_raise_peer_errors(data: bytes) -> None:
    for body in (data, zstandard.ZstdCompressor().compress(data), zstandard.ZstdCompressor().compress(b"OMEP\x01\x00" + data)):
        try:
            decode_page(body, **LIMITS)
        except PeerError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=3))
def test_mutated_pages_only_raise_peer_errors(edits: list[tuple[int, int]]) -> None:
    raw = bytearray(zstandard.ZstdDecompressor().decompress(encode_page(ENTRIES[:4])))
    for at, value in edits:
        raw[at % len(raw)] = value
    try:
        decode_page(zstandard.ZstdCompressor().compress(bytes(raw)), **LIMITS)
    except PeerError:
        pass


async def _chunks(body: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i:i + size]


async def test_read_page_from_an_async_stream() -> None:
    assert await receive_page(_chunks(encode_page(ENTRIES)), **LIMITS) == ENTRIES


async def _endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": MEDIA_TYPE})
    await response.prepare(request)
    while True:
        await response.write(b"\x00" * 65536)


async def test_read_page_over_http_and_an_endless_stream() -> None:
    body = encode_page(ENTRIES)

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=MEDIA_TYPE)

    app = web.Application()
    app.router.add_get("/page", page)
    app.router.add_get("/endless", _endless)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/page") as resp:
                assert await receive_page(resp.content, **LIMITS) == ENTRIES
            async with session.get(f"http://127.0.0.1:{port}/endless") as resp:
                with pytest.raises(PeerError, match="longer than"):
                    await receive_page(resp.content, **LIMITS)
    finally:
        await runner.cleanup()
