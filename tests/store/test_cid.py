"""CID parsing and formatting: round trips (hypothesis), known strings, strict rejections."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mirror.errors import InvalidCID, UsageError
from mirror.store.cid import (BLAKE2B_256, CID, DAG_CBOR, DAG_PB, IDENTITY, RAW, SHA2_256, SHA2_512,
                              b32decode_nopad, b32encode_lower, b58decode, b58encode, decode_varint,
                              encode_varint)

HELLO_V0 = "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
HELLO_RAW = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
HELLO_DIGEST = hashlib.sha256(b"hello world").digest()

codecs = st.sampled_from([RAW, DAG_PB, DAG_CBOR, 0x0129, 0x0200, 0x72])
multihashes = st.one_of(
    st.binary(min_size=32, max_size=32).map(lambda d: b"\x12\x20" + d),
    st.binary(min_size=64, max_size=64).map(lambda d: b"\x13\x40" + d),
    st.binary(min_size=32, max_size=32).map(lambda d: encode_varint(BLAKE2B_256) + b"\x20" + d),
    st.binary(max_size=128).map(lambda d: b"\x00" + encode_varint(len(d)) + d),
)
cids_v1 = st.builds(CID, st.just(1), codecs, multihashes)
cids_v0 = st.binary(min_size=32, max_size=32).map(lambda d: CID(0, DAG_PB, b"\x12\x20" + d))


@given(st.one_of(cids_v0, cids_v1))
def test_string_and_binary_round_trip(cid: CID) -> None:
    assert CID.decode(str(cid)) == cid
    assert CID.from_bytes(bytes(cid)) == cid
    assert CID.parse_prefix(b"xx" + bytes(cid) + b"tail", 2) == (cid, 2 + len(bytes(cid)))


@given(cids_v1, st.sampled_from(["base58btc", "base16", "base36", "base64", "base32upper"]))
def test_other_multibases_decode(cid: CID, base: str) -> None:
    assert CID.decode(cid.encode(base)) == cid


@given(st.integers(min_value=0, max_value=(1 << 63) - 1))
def test_varint_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(encoded + b"\xff") == (value, len(encoded))


@given(st.binary(max_size=80))
def test_base_codecs_match_reference(data: bytes) -> None:
    assert b32encode_lower(data) == base64.b32encode(data).decode().rstrip("=").lower()
    assert b32decode_nopad(b32encode_lower(data)) == data
    assert b58decode(b58encode(data)) == data


def test_known_strings() -> None:
    v0 = CID.decode(HELLO_V0)
    assert (v0.version, v0.codec, v0.hash_code, v0.digest) == (0, DAG_PB, SHA2_256,
                                                               bytes.fromhex("f852c7fa") + v0.digest[4:])
    assert str(v0.to_v1()) == "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa"
    raw = CID.of(b"hello world", RAW)
    assert str(raw) == HELLO_RAW and raw.digest == HELLO_DIGEST
    assert bytes(raw) == bytes.fromhex("01551220") + HELLO_DIGEST
    assert repr(raw) == f"CID('{HELLO_RAW}')"
    assert str(CID.decode("bafkqaaa")) == "bafkqaaa"                 # identity, empty
    assert CID.decode("bafyaabakaieac").hash_code == IDENTITY       # identity empty directory
    assert CID.decode(HELLO_RAW.upper()) == raw                     # base32upper 'B...'
    assert CID.decode("f01551220" + HELLO_DIGEST.hex()) == raw
    assert CID.decode("z" + b58encode(bytes(raw))) == raw


def test_verify_supported_hashes() -> None:
    assert CID.of(b"hello world", RAW).verify(b"hello world")
    assert not CID.of(b"hello world", RAW).verify(b"hello world!")
    assert CID.of(b"x", RAW, hash_code=SHA2_512).verify(b"x")
    assert CID.of(b"x", RAW, hash_code=BLAKE2B_256).verify(b"x")
    assert CID.decode("bafkqaaa").verify(b"")
    unknown = CID(1, RAW, encode_varint(0x1E) + b"\x20" + bytes(32))     # blake3: not supported
    with pytest.raises(InvalidCID, match="unsupported multihash"):
        unknown.verify(b"x")


@pytest.mark.parametrize("text,message", [
    ("", "empty CID"),
    ("Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyf0", "invalid base58btc character"),
    ("z" + HELLO_V0, "CIDv0 cannot be multibase-encoded"),
    ("b" + b32encode_lower(bytes(CID.decode(HELLO_V0))), "CIDv0 cannot be multibase-encoded"),
    ("baaaa", "CID version 0"),
    ("bai", "CID version 2 is reserved"),
    ("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5", "invalid base32"),
    ("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5eaa", "trailing"),
    ("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n", "truncated"),
    ("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5E", "mixed-case"),
    ("Qmabc", "multibase"),
    ("hello", "multibase"),
    ("b" + "a" * 300, "invalid CID 'baaaaa"),
])
def test_bad_strings_give_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidCID, match=message) as info:
        CID.decode(text)
    assert "\n" not in str(info.value) and len(str(info.value)) < 200
    assert isinstance(info.value, UsageError)


def test_identity_digest_over_128_bytes_is_refused() -> None:
    too_long = b"\x01\x55\x00" + encode_varint(129) + bytes(129)
    with pytest.raises(InvalidCID, match="identity digest longer than 128"):
        CID.from_bytes(too_long)
    with pytest.raises(InvalidCID, match="identity digest"):
        CID.decode("b" + b32encode_lower(too_long))


@pytest.mark.parametrize("data,message", [
    (b"\x12\x20" + bytes(31), "truncated"),
    (b"\x01\x55\x12\x20" + bytes(31), "truncated"),
    (b"\x01\x55\x12\x21" + bytes(32), "truncated"),
    (b"\x01\x55\x12\x20" + bytes(33), "trailing"),
    (b"\x01\x80\x00\x12\x20" + bytes(32), "not minimally encoded"),
    (b"\x01\x55\x12", "truncated"),
    (b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "longer than 9 bytes"),
])
def test_bad_binary_cids(data: bytes, message: str) -> None:
    with pytest.raises(InvalidCID, match=message):
        CID.from_bytes(data)


def test_constructor_guards_v0() -> None:
    with pytest.raises(InvalidCID, match="CIDv0 must be dag-pb"):
        CID(0, RAW, b"\x12\x20" + bytes(32))
    with pytest.raises(InvalidCID, match="CIDv0 must be dag-pb"):
        CID(0, DAG_PB, b"\x13\x40" + bytes(64))
    with pytest.raises(InvalidCID, match="version 3"):
        CID(3, RAW, b"\x12\x20" + bytes(32))
    with pytest.raises(InvalidCID, match="base58btc"):
        CID.decode(HELLO_V0).encode("base36")


def test_truncated_digests_too_short_to_bind_never_verify():
    import hashlib

    from mirror.store.cid import RAW, CID, encode_varint
    data = b"anything at all"
    full = hashlib.sha256(data).digest()
    for n, ok in ((0, False), (4, False), (19, False), (20, True), (32, True)):
        cid = CID(1, RAW, b"\x12" + encode_varint(n) + full[:n])
        assert cid.verify(data) is ok
        assert not CID(1, RAW, b"\x12" + encode_varint(n) + bytes(n)).verify(data)
