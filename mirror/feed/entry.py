"""Feed entries: signed, hash-chained records of the changes one node makes to its index.

An entry is exact bytes plus a signature. The *payload* is a JSON object in canonical form
(sorted keys, no spaces, UTF-8, integers only)::

    {"author":"om…","body":{…},"kind":"put","prev":"<64 hex>"|null,"seq":2,"ts":"2025-01-02T03:04:05.123456Z","v":1}

``signature`` is Ed25519 over ``SIGNING_CONTEXT + payload``; ``hash`` is
``sha256(payload + signature)`` and the next entry of the author names it in ``prev``.
Readers verify the bytes they receive and never re-encode them; the strict parser rejects
duplicate keys, floats, invalid UTF-8 and lone surrogates so every implementation reads a payload
the same way. ``docs/protocol.md`` is the specification; this module is its reference.

``parse_entry`` checks the form only (fast); ``verify_chain`` checks the links of a run and the
signature of its last entry, which vouches for all of them (or, on request, every signature). An
``Entry`` is therefore *unverified* until ``verify_chain`` (or ``make_entry``) vouches for it.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from hashlib import sha256
from typing import Any, Sequence

from indexer.records import DocumentIn
from mirror.errors import PeerError, SignatureError, UsageError
from mirror.feed.bodies import MAX_INT, PUT, RETRACT, check_body, document_of
from mirror.feed.identity import SIGNATURE_SIZE, Identity, is_node_id, public_key
from indexer.clock import entry_time

ENTRY_VERSION = 1        # the payload's "v": entries of protocol 2 are byte for byte those of 1
PROTOCOL_VERSION = 2     # the protocol a node speaks: 2 verifies a run by its checkpoint (§3.1)
SIGNING_CONTEXT = b"openmirror-entry-v1\n"
MAX_PAYLOAD = 1 << 20
HASH_SIZE = 32
_KEYS = frozenset(("v", "author", "seq", "prev", "ts", "kind", "body"))
_TS_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")
_PARALLEL_MIN = 64  # pages smaller than this verify on the calling thread


@dataclass(frozen=True)
class Entry:
    """One feed entry: ``payload`` and ``signature`` are the truth, the rest is parsed from them.

    Build entries with ``make_entry`` or ``parse_entry`` only. ``body`` must not be mutated.
    Two entries are equal when their bytes are equal.
    """

    payload: bytes
    signature: bytes
    author: str = field(compare=False)
    seq: int = field(compare=False)
    prev: bytes | None = field(compare=False)
    ts: str = field(compare=False)
    kind: str = field(compare=False)
    body: dict[str, Any] = field(compare=False, repr=False)
    hash: bytes = field(compare=False, repr=False)
    target: tuple[str, str] | None = field(compare=False, repr=False, default=None)
    """``(collection, source_id)`` of the document a put or retract is about; None otherwise."""

    def __repr__(self) -> str:
        return f"Entry(author={self.author!r}, seq={self.seq}, kind={self.kind!r}, hash={self.hash_hex[:16]}…)"

    @property
    def hash_hex(self) -> str:
        return self.hash.hex()

    @property
    def prev_hex(self) -> str | None:
        return None if self.prev is None else self.prev.hex()

    @property
    def order_key(self) -> tuple[str, str, int, bytes]:
        """The merge order: for one document the entry with the greatest key wins (protocol §5)."""
        return (self.ts, self.author, self.seq, self.hash)

    def document(self) -> DocumentIn:
        """The document a ``put`` entry carries."""
        if self.kind != PUT:
            raise UsageError(f"entry {self.author}#{self.seq} is a {self.kind!r}, not a put")
        return document_of(self.body)


def encode_payload(obj: dict[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, compact separators, UTF-8, no NaN. Raises UsageError."""
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise UsageError(f"cannot encode entry payload: {exc}") from exc


def make_entry(identity: Identity, seq: int, prev: "bytes | Entry | None", kind: str,
               body: dict[str, Any], ts: str | None = None) -> Entry:
    """Sign a new entry of IDENTITY's feed. PREV is the previous entry (or its hash); None for seq 1.

    Given the previous ``Entry``, its seq and author are checked and ``ts`` is kept from going
    backwards. The result is parsed back from its own bytes, so a writer can never produce an entry
    that readers refuse: a bad argument raises ``UsageError``.
    """
    prev_hash = prev.hash if isinstance(prev, Entry) else prev
    if prev_hash is not None and not isinstance(prev_hash, bytes):
        raise UsageError("prev must be the previous Entry, its 32-byte hash, or None")
    if isinstance(prev, Entry):
        if prev.author != identity.node_id or prev.seq != seq - 1:
            raise UsageError(f"entry {seq} cannot follow {prev.author}#{prev.seq}")
        ts = max(ts or entry_time(), prev.ts)
    obj = {"v": ENTRY_VERSION, "author": identity.node_id, "seq": seq,
           "prev": None if prev_hash is None else prev_hash.hex(),
           "ts": ts or entry_time(), "kind": kind, "body": body}
    payload = encode_payload(obj)
    signature = identity.sign(SIGNING_CONTEXT + payload)
    try:
        return parse_entry(payload, signature, max_payload=MAX_PAYLOAD)
    except PeerError as exc:
        raise UsageError(f"cannot make entry: {exc}") from None


def _reject_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key")
    return obj


def _reject_number(text: str) -> Any:
    raise ValueError(f"non-integer number {text[:20]}")


_DECODER = json.JSONDecoder(object_pairs_hook=_reject_pairs, parse_float=_reject_number,
                            parse_constant=_reject_number)


def _decode_json(payload: bytes) -> Any:
    text = payload.decode("utf-8")
    obj = _DECODER.decode(text)
    if "\\ud" in text or "\\uD" in text:  # rare: make sure no escape left a lone surrogate
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return obj


def parse_entry(payload: bytes, signature: bytes, *, max_payload: int = MAX_PAYLOAD) -> Entry:
    """Parse one entry received from anywhere, checking its form strictly (not its signature).

    Raises ``PeerError`` naming what is malformed. Use ``verify_chain`` before trusting it.
    """
    if type(payload) is not bytes or type(signature) is not bytes:
        raise PeerError("entry payload and signature must be bytes")
    if len(signature) != SIGNATURE_SIZE:
        raise PeerError(f"entry signature is {len(signature)} bytes, not {SIGNATURE_SIZE}")
    if not 0 < len(payload) <= max_payload:
        raise PeerError(f"entry payload is {len(payload)} bytes (limit {max_payload})")
    try:
        obj = _decode_json(payload)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError are ValueErrors
        raise PeerError(f"entry payload is not strict JSON: {str(exc)[:120]}") from None
    problem = _check_header(obj)
    where = f"entry {obj.get('author', '?')}#{obj.get('seq', '?')}" if type(obj) is dict else "entry"
    if problem is None:
        problem = check_body(obj["kind"], obj["body"])
    if problem is not None:
        raise PeerError(f"{where[:120]}: {problem}")
    prev, kind, body = obj["prev"], obj["kind"], obj["body"]
    return Entry(payload=payload, signature=signature, author=obj["author"], seq=obj["seq"],
                 prev=None if prev is None else bytes.fromhex(prev), ts=obj["ts"], kind=kind,
                 body=body, hash=sha256(payload + signature).digest(),
                 target=(body["collection"], body["source_id"]) if kind in (PUT, RETRACT) else None)


def _check_header(obj: Any) -> str | None:
    if type(obj) is not dict:
        return "payload is not an object"
    if obj.keys() != _KEYS:
        return f"payload keys must be exactly {sorted(_KEYS)}"
    if obj["v"] != ENTRY_VERSION or type(obj["v"]) is not int:
        return f"unsupported protocol version {str(obj['v'])[:20]}"
    if not is_node_id(obj["author"]):
        return "author is not a node id"
    seq, prev = obj["seq"], obj["prev"]
    if type(seq) is not int or not 1 <= seq <= MAX_INT:
        return "seq is not a positive integer"
    if (seq == 1) != (prev is None):
        return "prev must be null exactly when seq is 1"
    if prev is not None and (type(prev) is not str or not _HEX64_RE.fullmatch(prev)):
        return "prev is not 64 lower-case hex digits"
    if not _valid_ts(obj["ts"]):
        return "ts is not YYYY-MM-DDTHH:MM:SS.ffffffZ"
    if type(obj["kind"]) is not str:
        return "kind is not a string"
    return None


def _valid_ts(ts: Any) -> bool:
    if type(ts) is not str or not _TS_RE.fullmatch(ts):
        return False
    try:
        datetime.fromisoformat(ts[:-1])
    except ValueError:
        return False
    return True


def detect_fork(a: Entry, b: Entry) -> bool:
    """True when A and B are two different entries at the same place of one feed: a fork.

    Both (with their signatures) are the evidence that the author rewrote its feed.
    """
    return a.author == b.author and a.seq == b.seq and a.hash != b.hash


def verify_chain(entries: Sequence[Entry], *, author: str, after_seq: int, after_hash: bytes | None,
                 after_ts: str | None = None, threads: int | None = None,
                 every_signature: bool = False) -> None:
    """Check that ENTRIES continue AUTHOR's feed right after (AFTER_SEQ, AFTER_HASH).

    Every entry must be AUTHOR's, with seq AFTER_SEQ+1, +2, …, each ``prev`` the hash of the entry
    before it (the first one's AFTER_HASH; None when AFTER_SEQ is 0) and timestamps never going
    back (from AFTER_TS when given). Raises ``SignatureError`` naming the first bad entry; nothing
    is partly accepted.

    Signatures (protocol §3.1): the run's last entry is its *checkpoint*: its signature is verified
    and, through the ``prev`` links just checked, vouches for the exact bytes of every entry before
    it (each link is a sha256 of the whole entry before it, payload and signature). So one
    signature per run is checked, whatever its length. With EVERY_SIGNATURE (protocol 1, and fork
    evidence) every entry's own signature is checked too, on THREADS threads for large runs
    (default: one per core; cryptography releases the GIL while verifying).
    """
    key = public_key(author)
    if key is None:
        raise SignatureError(f"feed author is not a usable node id: {str(author)[:80]!r}")
    if (after_seq == 0) != (after_hash is None):
        raise UsageError("after_hash must be None exactly when after_seq is 0")
    link_bad, problem = _first_bad_link(entries, author, after_seq, after_hash, after_ts)
    checked = len(entries) if link_bad is None else link_bad + 1
    if every_signature:
        sig_bad = first_bad_signature(entries[:checked], threads=threads)
    elif link_bad is None and entries:
        sig_bad = first_bad_signature(entries[-1:])
        sig_bad = None if sig_bad is None else len(entries) - 1
    else:
        sig_bad = None  # a broken link rejects the run before any signature could vouch for it
    if sig_bad is not None and (link_bad is None or sig_bad <= link_bad):
        link_bad, problem = sig_bad, "bad signature"
    if link_bad is not None:
        bad = entries[link_bad]
        raise SignatureError(f"{author} entry {after_seq + 1 + link_bad} ({bad.hash_hex[:16]}): {problem}")


def _first_bad_link(entries: Sequence[Entry], author: str, after_seq: int, after_hash: bytes | None,
                    after_ts: str | None) -> tuple[int | None, str]:
    prev_hash, prev_ts = after_hash, after_ts or ""
    for i, entry in enumerate(entries):
        if entry.author != author:
            return i, f"written by {entry.author[:20]}…, not by the feed's author"
        if entry.seq != after_seq + 1 + i:
            return i, f"has seq {entry.seq}, expected {after_seq + 1 + i}"
        if entry.prev != prev_hash:
            return i, "does not link to the entry before it (prev mismatch)"
        if entry.ts < prev_ts:
            return i, "has a timestamp earlier than the entry before it"
        prev_hash, prev_ts = entry.hash, entry.ts
    return None, ""


def first_bad_signature(entries: Sequence[Entry], *, threads: int | None = None) -> int | None:
    """The index of the first entry whose signature does not verify for its author, or None."""
    workers = min(threads or os.cpu_count() or 1, max(1, len(entries) // _PARALLEL_MIN))
    if workers <= 1:
        return _scan_signatures(entries, 0, len(entries))
    step = -(-len(entries) // workers)
    spans = [(lo, min(lo + step, len(entries))) for lo in range(0, len(entries), step)]
    results = _verify_pool().map(lambda span: _scan_signatures(entries, *span), spans)
    return next((bad for bad in results if bad is not None), None)


def _scan_signatures(entries: Sequence[Entry], lo: int, hi: int) -> int | None:
    for i in range(lo, hi):
        entry = entries[i]
        if not Identity.verify(entry.author, SIGNING_CONTEXT + entry.payload, entry.signature):
            return i
    return None


@lru_cache(maxsize=1)
def _verify_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="om-verify")
