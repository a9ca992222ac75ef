"""Protocol 2 (docs/protocol.md §3.1): a run of entries is verified by its checkpoint, the signature
of its last entry, which vouches through the prev links for every entry before it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror.errors import SignatureError
from mirror.feed.bodies import put_body
from mirror.feed.entry import Entry, make_entry, parse_entry, verify_chain
from mirror.feed.identity import Identity
from tests.feed.test_entry import ME, OTHER, chain, document, resign

VECTORS = json.loads((Path(__file__).parent / "vectors" / "run-v2.json").read_text(encoding="utf-8"))


def _verdict(entries: list[Entry], author: str, every_signature: bool) -> str:
    try:
        verify_chain(entries, author=author, after_seq=0, after_hash=None, every_signature=every_signature)
    except SignatureError as exc:
        number, why = re.search(r"entry (\d+) \([0-9a-f]+…?\): (.*)$", str(exc)).groups()  # type: ignore[union-attr]
        return f"refuse entry {number}: {why.split(' (')[0] if 'link' not in why else 'prev mismatch'}"
    return "accept"


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_spec_vectors(case: dict) -> None:
    """Each vector's verdict, for a protocol 2 reader and for one that checks every signature."""
    entries = [parse_entry(r["payload_utf8"].encode(), bytes.fromhex(r["signature_hex"]))
               for r in case["records"]]
    assert _verdict(entries, VECTORS["node_id"], every_signature=False) == case["protocol_2"]
    assert _verdict(entries, VECTORS["node_id"], every_signature=True) == case["protocol_1"]


def test_the_vectors_are_the_spec_s_and_remade_from_their_seed() -> None:
    me = Identity(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTORS["seed_hex"])))
    assert me.node_id == VECTORS["node_id"]
    valid = [parse_entry(r["payload_utf8"].encode(), bytes.fromhex(r["signature_hex"]))
             for r in VECTORS["cases"][0]["records"]]
    remade, prev = [], None
    for entry in valid:
        prev = make_entry(me, entry.seq, prev, entry.kind, entry.body, ts=entry.ts)
        remade.append(prev)
    assert remade == valid
    spec = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
    assert "tests/feed/vectors/run-v2.json" in spec
    assert valid[-1].signature.hex() in spec and valid[-1].hash_hex in spec


def test_one_signature_vouches_for_a_long_run() -> None:
    entries = chain(300)
    verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None)
    verify_chain(entries[100:], author=ME.node_id, after_seq=100, after_hash=entries[99].hash,
                 after_ts=entries[99].ts)


@pytest.mark.parametrize("where", [0, 1, 150, 298])
def test_any_altered_entry_before_the_checkpoint_is_refused(where: int) -> None:
    """Altering any byte of any entry before the checkpoint breaks the link from the next entry."""
    entries = chain(300)
    payload = entries[where].payload.replace(b"rivers", b"riverz", 1)
    assert payload != entries[where].payload
    entries[where] = parse_entry(payload, entries[where].signature)
    with pytest.raises(SignatureError, match=f"entry {where + 2} .*prev mismatch"):
        verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None)


def test_an_altered_signature_before_the_checkpoint_is_refused() -> None:
    """The link is a hash of the whole entry, signature included: a relay cannot swap it."""
    entries = chain(5)
    entries[2] = parse_entry(entries[2].payload, bytes(64))
    with pytest.raises(SignatureError, match="entry 4 .*prev mismatch"):
        verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None)


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    """The run's last entry, claiming our author and linking right, but signed by another key."""
    entries = chain(5)
    entries[-1] = resign(OTHER, json.loads(entries[-1].payload))
    assert entries[-1].author == ME.node_id and entries[-1].prev == entries[-2].hash
    with pytest.raises(SignatureError, match="entry 5 .*bad signature"):
        verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None)


def test_a_run_of_another_author_is_refused_whatever_its_checkpoint() -> None:
    entries = chain(4, OTHER)
    with pytest.raises(SignatureError, match="entry 1 .*not by the feed's author"):
        verify_chain(entries, author=ME.node_id, after_seq=0, after_hash=None)


def test_a_run_that_does_not_continue_the_cursor_is_refused() -> None:
    entries = chain(6)
    with pytest.raises(SignatureError, match="entry 4 .*prev mismatch"):
        verify_chain(entries[3:], author=ME.node_id, after_seq=3, after_hash=entries[1].hash)
    other_third = make_entry(ME, 3, entries[1], "put", put_body(document(99)), ts=entries[2].ts)
    with pytest.raises(SignatureError, match="entry 4 .*prev mismatch"):   # a fork of our copy
        verify_chain(entries[3:], author=ME.node_id, after_seq=3, after_hash=other_third.hash)
