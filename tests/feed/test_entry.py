"""Feed entries: exact bytes, strict parsing, signatures, hash chains and forks."""

from __future__ import annotations

import json
from dataclasses import fields
from hashlib import sha256
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.records import ContentIn, DocumentIn
from mirror.errors import PeerError, SignatureError, UsageError
from mirror.feed.bodies import CONTENT_FIELDS, DOCUMENT_FIELDS, put_body, retract_body
from mirror.feed.entry import (SIGNING_CONTEXT, Entry, detect_fork, encode_payload, make_entry,
                               parse_entry, verify_chain)
from mirror.feed.identity import Identity

ME = Identity.generate()
OTHER = Identity.generate()
TS = "2025-01-02T03:04:05.000000Z"


def document(n: int = 1, title: str = "A survey of rivers") -> DocumentIn:
    digest = sha256(f"content {n}".encode()).hexdigest()
    return DocumentIn(
        collection="zenodo", source_id=f"oai:zenodo.org:{n}", title=title, creators=["Doe, J."],
        license="CC-BY-4.0", license_url="https://creativecommons.org/licenses/by/4.0/",
        retrieved_at="2025-01-02T03:04:05Z", http_status=200, http_headers={"etag": '"x"'},
        contents=[ContentIn(sha256=digest, size=1234, cid="bafkreihdwdcefgh4dqkjv67uzcmw7oje",
                            profile="unixfs-v1-2025", media_type="text/csv", name="data.csv")])


def chain(n: int, who: Identity = ME, start: Entry | None = None) -> list[Entry]:
    out: list[Entry] = []
    prev = start
    for i in range(n):
        seq = (start.seq if start else 0) + i + 1
        prev = make_entry(who, seq, prev, "put", put_body(document(seq)), ts=TS)
        out.append(prev)
    return out


def resign(who: Identity, obj: dict[str, Any]) -> Entry:
    payload = encode_payload(obj)
    return parse_entry(payload, who.sign(SIGNING_CONTEXT + payload))


def test_round_trip_of_a_put() -> None:
    doc = document()
    doc.contents[0].text = "extracted text is never carried"
    assert put_body(doc) == doc.to_dict() and "text" not in put_body(doc)["contents"][0]
    entry = make_entry(ME, 1, None, "put", put_body(doc))
    again = parse_entry(entry.payload, entry.signature, max_payload=1 << 20)
    assert again == entry and again.hash == entry.hash == sha256(entry.payload + entry.signature).digest()
    assert (again.author, again.seq, again.prev, again.kind) == (ME.node_id, 1, None, "put")
    assert again.document().to_dict() == doc.to_dict()
    assert again.target == ("zenodo", "oai:zenodo.org:1")
    assert len(again.hash_hex) == 64 and again.prev_hex is None


def test_payload_is_canonical_json() -> None:
    entry = make_entry(ME, 1, None, "put", put_body(document(title="Ünïcode ✓ \"quoted\"")))
    obj = json.loads(entry.payload)
    assert list(obj) == sorted(obj) and b'": ' not in entry.payload and b'", "' not in entry.payload
    assert encode_payload(obj) == entry.payload
    assert "Ünïcode ✓".encode() in entry.payload  # UTF-8, not \u escapes
    assert obj["v"] == 1 and obj["ts"].endswith("Z") and len(obj["ts"]) == 27


def test_retract_and_links() -> None:
    first = make_entry(ME, 1, None, "put", put_body(document()))
    second = make_entry(ME, 2, first, "retract", retract_body("zenodo", "oai:zenodo.org:1", "licence withdrawn"))
    assert second.prev == first.hash and second.prev_hex == first.hash_hex
    assert second.target == first.target and second.ts >= first.ts
    with pytest.raises(UsageError):
        second.document()
    verify_chain([first, second], author=ME.node_id, after_seq=0, after_hash=None)


def test_make_entry_refuses_bad_arguments() -> None:
    first = make_entry(ME, 1, None, "put", put_body(document()))
    with pytest.raises(UsageError):
        make_entry(ME, 3, first, "put", put_body(document()))           # seq does not follow prev
    with pytest.raises(UsageError):
        make_entry(OTHER, 2, first, "put", put_body(document()))        # prev is someone else's
    with pytest.raises(UsageError):
        make_entry(ME, 1, None, "put", {**put_body(document()), "score": 0.5})  # floats are not allowed
    with pytest.raises(UsageError):
        make_entry(ME, 1, None, "put", {"title": "no collection"})
    with pytest.raises(UsageError):
        make_entry(ME, 1, None, "Bad Kind", {})
    with pytest.raises(UsageError):
        make_entry(ME, 2, None, "put", put_body(document()))            # seq 2 needs a prev


def test_timestamps_never_go_back_in_a_feed() -> None:
    first = make_entry(ME, 1, None, "put", put_body(document()), ts="2025-06-01T00:00:00.000000Z")
    second = make_entry(ME, 2, first, "put", put_body(document()), ts="2025-01-01T00:00:00.000000Z")
    assert second.ts == first.ts
    assert second.order_key > first.order_key  # same author, same ts: the later seq wins


def test_unknown_kinds_are_opaque() -> None:
    entry = make_entry(ME, 1, None, "note-v2", {"anything": [1, "two", None]})
    assert entry.kind == "note-v2" and entry.target is None
    assert parse_entry(entry.payload, entry.signature) == entry


def test_schema_covers_the_records() -> None:
    assert set(DOCUMENT_FIELDS.types) == {f.name for f in fields(DocumentIn)}
    assert set(CONTENT_FIELDS.types) == {f.name for f in fields(ContentIn)} - {"text"}


def test_a_valid_chain_and_its_continuation() -> None:
    entries = chain(6)
    verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None)
    verify_chain(entries[3:], author=ME.node_id, after_seq=3, after_hash=entries[2].hash, after_ts=entries[2].ts)
    verify_chain([], author=ME.node_id, after_seq=6, after_hash=entries[-1].hash)
    with pytest.raises(SignatureError, match="entry 4 "):
        verify_chain(entries[3:], author=ME.node_id, after_seq=3, after_hash=entries[1].hash)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def test_flipped_payload_byte() -> None:
    entries = chain(3)
    payload = entries[1].payload.replace(b"A survey", b"B survey")
    assert payload != entries[1].payload
    entries[1] = parse_entry(payload, entries[1].signature)
    with pytest.raises(SignatureError, match="entry 2 .*bad signature"):
        verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None, every_signature=True)
    with pytest.raises(SignatureError, match="entry 3 .*prev mismatch"):  # the checkpoint no longer vouches
        verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None)


def test_flipped_signature_byte() -> None:
    entries = chain(3)
    entries[2] = parse_entry(entries[2].payload, _flip(entries[2].signature, 10))
    with pytest.raises(SignatureError, match="entry 3 .*bad signature"):
        verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None)


def test_wrong_author() -> None:
    with pytest.raises(SignatureError, match="not by the feed's author"):
        verify_chain(chain(2, OTHER), author=ME.node_id, after_seq=0, after_hash=None)
    forged = resign(OTHER, json.loads(chain(1)[0].payload))  # claims ME, signed by OTHER
    with pytest.raises(SignatureError, match="bad signature"):
        verify_chain([forged], author=ME.node_id, after_seq=0, after_hash=None)
    with pytest.raises(SignatureError, match="not a usable node id"):
        verify_chain([forged], author="om-nobody", after_seq=0, after_hash=None)


def test_seq_gap_and_reordering() -> None:
    entries = chain(4)
    with pytest.raises(SignatureError, match="entry 3 .*seq 4, expected 3"):
        verify_chain([entries[0], entries[1], entries[3]], author=ME.node_id, after_seq=0, after_hash=None)
    with pytest.raises(SignatureError, match="entry 2 .*seq 3, expected 2"):
        verify_chain([entries[0], entries[2], entries[1]], author=ME.node_id, after_seq=0, after_hash=None)


def test_broken_prev_link() -> None:
    entries = chain(2)
    third = make_entry(ME, 3, entries[0].hash, "put", put_body(document(3)), ts=TS)
    with pytest.raises(SignatureError, match="entry 3 .*prev mismatch"):
        verify_chain([*entries, third], author=ME.node_id, after_seq=0, after_hash=None)


def test_timestamp_going_back() -> None:
    first = make_entry(ME, 1, None, "put", put_body(document()), ts="2025-06-01T00:00:00.000000Z")
    second = make_entry(ME, 2, first.hash, "put", put_body(document()), ts="2025-01-01T00:00:00.000000Z")
    with pytest.raises(SignatureError, match="entry 2 .*earlier"):
        verify_chain([first, second], author=ME.node_id, after_seq=0, after_hash=None)


def test_fork_is_detected() -> None:
    entries = chain(2)
    other_two = make_entry(ME, 2, entries[0], "retract", retract_body("zenodo", "x"), ts=TS)
    assert detect_fork(entries[1], other_two)
    assert not detect_fork(entries[1], entries[1])
    assert not detect_fork(entries[0], entries[1])
    assert not detect_fork(entries[1], chain(2, OTHER)[1])
    third = make_entry(ME, 3, other_two, "put", put_body(document(3)), ts=TS)
    with pytest.raises(SignatureError, match="prev mismatch"):  # the fork does not continue our copy
        verify_chain([third], author=ME.node_id, after_seq=2, after_hash=entries[1].hash)


def test_the_first_bad_entry_is_named() -> None:
    entries = chain(8)
    entries[3] = parse_entry(entries[3].payload, _flip(entries[3].signature, 0))
    entries[6] = entries[5]
    with pytest.raises(SignatureError, match="entry 4 .*bad signature"):
        verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None, every_signature=True)
    with pytest.raises(SignatureError, match="entry 5 .*prev mismatch"):
        verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None)
    entries = chain(8)
    entries[5] = parse_entry(entries[5].payload, _flip(entries[5].signature, 0))
    entries[2] = entries[1]
    for every in (True, False):
        with pytest.raises(SignatureError, match="entry 3 .*seq 2"):
            verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None, every_signature=every)


def test_large_pages_verify_on_threads() -> None:
    entries = chain(300)
    verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None, threads=2, every_signature=True)
    entries[250] = parse_entry(entries[250].payload, _flip(entries[250].signature, 5))
    entries[280] = parse_entry(entries[280].payload, _flip(entries[280].signature, 5))
    with pytest.raises(SignatureError, match="entry 251 "):
        verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None, threads=2,
                     every_signature=True)


GOOD = json.loads(make_entry(ME, 2, bytes(32), "put", put_body(document()), ts=TS).payload)


def _with(path: str, value: Any) -> bytes:
    obj = json.loads(json.dumps(GOOD))
    *parents, last = path.split(".")
    target = obj
    for name in parents:
        target = target[int(name)] if name.isdigit() else target[name]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return json.dumps(obj).encode()


MALFORMED = {
    "not json": b"{not json",
    "not utf-8": b'{"a":"\xff"}',
    "not an object": b"[1,2]",
    "duplicate key": encode_payload(GOOD)[:-1] + b',"v":1}',
    "float": _with("body.http_status", 1.5),
    "NaN": encode_payload(GOOD).replace(b'"http_status":200', b'"http_status":NaN'),
    "lone surrogate": encode_payload(GOOD).replace(b'"title":"A survey', b'"title":"\\ud800 survey'),
    "extra key": _with("extra", 1),
    "missing key": _with("ts", KeyError),
    "version 2": _with("v", 2),
    "version true": _with("v", True),
    "bad author": _with("author", "om" + "1" * 52),
    "seq 0": _with("seq", 0),
    "seq bool": _with("seq", True),
    "seq huge": _with("seq", 1 << 60),
    "seq 1 with prev": _with("seq", 1),
    "no prev": _with("prev", None),
    "prev upper hex": _with("prev", "AB" * 32),
    "prev short": _with("prev", "ab" * 31),
    "ts format": _with("ts", "2025-01-02T03:04:05Z"),
    "ts impossible date": _with("ts", "2025-02-30T03:04:05.000000Z"),
    "ts newline": _with("ts", TS + "\n"),
    "ts other digits": _with("ts", "٢٠٢٥-01-02T03:04:05.000000Z"),
    "kind number": _with("kind", 3),
    "kind bad name": _with("kind", "Put Now"),
    "body list": _with("body", []),
    "no collection": _with("body.collection", KeyError),
    "empty source_id": _with("body.source_id", ""),
    "title null": _with("body.title", None),
    "creators not strings": _with("body.creators", [1]),
    "headers not strings": _with("body.http_headers", {"a": 1}),
    "status negative": _with("body.http_status", -1),
    "contents not list": _with("body.contents", {}),
    "content bad sha256": _with("body.contents.0.sha256", "xyz"),
    "content no cid": _with("body.contents.0.cid", KeyError),
    "content bad cid": _with("body.contents.0.cid", "bafy/../etc"),
    "content negative size": _with("body.contents.0.size", -5),
    "content size bool": _with("body.contents.0.size", False),
    "retract without source": encode_payload({**GOOD, "kind": "retract", "body": {"collection": "c"}}),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_payloads_are_refused(name: str) -> None:
    with pytest.raises(PeerError):
        parse_entry(MALFORMED[name], bytes(64))


def test_size_and_type_limits() -> None:
    payload = encode_payload(GOOD)
    parse_entry(payload, bytes(64))
    with pytest.raises(PeerError, match="limit"):
        parse_entry(payload, bytes(64), max_payload=len(payload) - 1)
    with pytest.raises(PeerError, match="signature"):
        parse_entry(payload, bytes(63))
    with pytest.raises(PeerError):
        parse_entry(payload.decode(), bytes(64))  # type: ignore[arg-type]
    with pytest.raises(PeerError):
        parse_entry(b"", bytes(64))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_parser(data: bytes) -> None:
    try:
        parse_entry(data, bytes(64))
    except PeerError:
        pass


@settings(max_examples=60, deadline=None)
@given(title=st.text(max_size=60), creators=st.lists(st.text(max_size=20), max_size=3),
       size=st.integers(0, (1 << 53) - 1))
def test_any_document_round_trips(title: str, creators: list[str], size: int) -> None:
    doc = document(title=title)
    doc.creators = creators
    doc.contents[0].size = size
    try:
        entry = make_entry(ME, 1, None, "put", put_body(doc))
    except UsageError:
        assert any("\ud800" <= c <= "\udfff" for c in title + "".join(creators))  # lone surrogates only
        return
    assert parse_entry(entry.payload, entry.signature).document() == doc
    verify_chain([entry], author=ME.node_id, after_seq=0, after_hash=None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_payloads_never_crash_the_parser(edits: list[tuple[int, int]]) -> None:
    data = bytearray(encode_payload(GOOD))
    for at, value in edits:
        data[at % len(data)] = value
    try:
        parse_entry(bytes(data), bytes(64))
    except PeerError:
        pass


def test_spec_vectors() -> None:
    """The vectors of docs/protocol.md: exact payload bytes, signatures and hashes."""
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    vec = json.loads((Path(__file__).parent / "vectors" / "entry-v1.json").read_text(encoding="utf-8"))
    me = Identity(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vec["seed_hex"])))
    assert me.node_id == vec["node_id"]
    got = [parse_entry(v["payload_utf8"].encode(), bytes.fromhex(v["signature_hex"])) for v in vec["entries"]]
    assert [e.hash_hex for e in got] == [v["hash_hex"] for v in vec["entries"]]
    verify_chain(got, author=me.node_id, after_seq=0, after_hash=None)
    remade, prev = [], None
    for entry in got:
        prev = make_entry(me, entry.seq, prev, entry.kind, entry.body, ts=entry.ts)
        remade.append(prev)
    assert remade == got  # same bytes, same (deterministic) signatures
    spec = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
    last = vec["entries"][-1]
    assert last["payload_utf8"] in spec and last["signature_hex"] in spec and last["hash_hex"] in spec


def test_forgery_under_a_small_order_key_is_refused() -> None:
    from mirror.feed.identity import encode_node_id

    weak = encode_node_id(bytes([1]) + bytes(31))  # the identity point: OpenSSL accepts R=identity, S=0
    forged = parse_entry(encode_payload({**GOOD, "author": weak, "seq": 1, "prev": None}), bytes([1]) + bytes(63))
    with pytest.raises(SignatureError, match="not a usable node id"):
        verify_chain([forged], author=weak, after_seq=0, after_hash=None)
