"""Holdings announcements: the held-set encoding and the strict, signed payload."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from mirror.errors import PeerError, SignatureError
from mirror.feed.entry import encode_payload
from mirror.node.copies.holdings import (MAX_PAYLOAD, SIGNING_CONTEXT, decode_held, encode_held,
                                  make_announcement, next_seq, parse_announcement, prefix_of)
from mirror.feed.identity import Identity
from indexer.clock import entry_time

ME = Identity.generate()
SHAS = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(1000)]


def announce(**overrides):  # type: ignore[no-untyped-def]
    args = {"seq": 5, "url": "http://127.0.0.1:8470", "budget": 1000, "used": 10, "held": SHAS[:3]}
    return make_announcement(ME, **(args | overrides))


def resign(obj: dict, identity: Identity = ME) -> tuple[bytes, bytes]:
    payload = encode_payload(obj)
    return payload, identity.sign(SIGNING_CONTEXT + payload)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), max_size=300))
def test_held_sets_round_trip(digests: list[bytes]) -> None:
    shas = [d.hex() for d in digests]
    values = sorted({prefix_of(s) for s in shas})
    assert list(decode_held(encode_held(shas + shas[:5]), len(values))) == values


def test_a_hundred_thousand_contents_make_a_small_set() -> None:
    shas = [hashlib.sha256(i.to_bytes(4, "big")).hexdigest() for i in range(100_000)]
    data = encode_held(shas)
    assert len(data) < 700_000                     # ~6.7 bytes per content, 64-bit prefixes
    assert len(decode_held(data, 100_000)) == 100_000


@pytest.mark.parametrize("raw, count", [
    (b"\x01\x00", 2),                              # not strictly increasing
    (b"\x01\x01", 3),                              # fewer values than announced
    (b"\x01\x01\x01", 2),                          # more values than announced
    (b"\xff" * 10 + b"\x01", 1),                   # varint over 64 bits
    (b"\x81", 1),                                  # truncated varint
    (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01" * 2, 2),   # sum passes 2**64
])
def test_malformed_held_sets_are_refused(raw: bytes, count: int) -> None:
    with pytest.raises(PeerError):
        decode_held(zstandard.ZstdCompressor().compress(raw), count)


def test_a_decompression_bomb_is_cut_short() -> None:
    bomb = zstandard.ZstdCompressor().compress(b"\x01" * (50 << 20))
    assert len(bomb) < 10_000
    with pytest.raises(PeerError, match="announced"):
        decode_held(bomb, 3)
    with pytest.raises(PeerError, match="zstd"):
        decode_held(b"not zstd at all", 3)


def test_an_announcement_round_trips_and_says_what_it_holds() -> None:
    ann, data = announce()
    again = parse_announcement(ann.payload, ann.signature)
    assert again == ann and ann.author == ME.node_id and ann.seq == 5
    assert ann.count == 3 and ann.set_hash == hashlib.sha256(data).digest() and ann.set_size == len(data)
    assert (ann.url, ann.budget, ann.used) == ("http://127.0.0.1:8470", 1000, 10)
    assert list(decode_held(data, ann.count)) == sorted(prefix_of(s) for s in SHAS[:3])


def test_a_tampered_or_foreign_signature_is_refused() -> None:
    ann, _ = announce()
    obj = json.loads(ann.payload)
    obj["body"]["storage_budget"] = 1 << 40
    with pytest.raises(SignatureError):
        parse_announcement(encode_payload(obj), ann.signature)
    other = Identity.generate()
    payload, signature = resign(json.loads(ann.payload), other)   # signed by someone else
    with pytest.raises(SignatureError):
        parse_announcement(payload, signature)


def _mutations() -> list:  # type: ignore[type-arg]
    def edit(path: list[str], value: object):  # type: ignore[no-untyped-def]
        def apply(obj: dict) -> None:
            target = obj
            for key in path[:-1]:
                target = target[key]
            if value is KeyError:
                del target[path[-1]]
            else:
                target[path[-1]] = value
        return apply
    future = entry_time(datetime.now(timezone.utc) + timedelta(hours=1))
    return [edit(["v"], 2), edit(["kind"], "put"), edit(["seq"], 0), edit(["seq"], 1.5),
            edit(["seq"], 1 << 60), edit(["author"], "om" + "1" * 52), edit(["ts"], future),
            edit(["ts"], "2025-01-01T00:00:00Z"), edit(["extra"], 1), edit(["body", "url"], "ftp://x"),
            edit(["body", "url"], "http://" + "x" * 3000), edit(["body", "storage_used"], -1),
            edit(["body", "held", "format"], "bloom"), edit(["body", "held", "sha256"], "AB" * 32),
            edit(["body", "held", "count"], 10**9), edit(["body", "held", "size"], 0),
            edit(["body", "held"], KeyError), edit(["body"], [])]


@pytest.mark.parametrize("mutate", _mutations())
def test_malformed_payloads_are_refused_even_when_signed(mutate) -> None:  # type: ignore[no-untyped-def]
    ann, _ = announce()
    obj = json.loads(ann.payload)
    mutate(obj)
    payload, signature = resign(obj)
    with pytest.raises(PeerError):
        parse_announcement(payload, signature)


def test_non_canonical_bytes_and_sizes_are_refused() -> None:
    ann, _ = announce()
    spaced = json.dumps(json.loads(ann.payload), sort_keys=True).encode()
    duplicated = ann.payload[:-1] + b',"v":1}'
    for payload in (spaced, duplicated, b"\xff\xfe", b"[]", b"x" * (MAX_PAYLOAD + 1)):
        with pytest.raises(PeerError):
            parse_announcement(payload, ME.sign(SIGNING_CONTEXT + payload))
    with pytest.raises(PeerError):
        parse_announcement(ann.payload, ann.signature[:10])


def test_seq_keeps_growing_even_after_the_index_was_lost() -> None:
    first = next_seq(0)
    assert first >= 1_700_000_000_000                # milliseconds since 1970
    assert next_seq(first) > first and next_seq(first + 10**9) == first + 10**9 + 1
