"""IPNI advertisements, entry chunks and the signed head, as go-libipni defines and signs them.

Schemas (go-libipni ``ingest/schema/schema.ipldsch``, ``dagsync/ipnisync/head/schema.ipldsch``)::

    Advertisement {PreviousID optional Link, Provider String, Addresses [String],
                   Signature Bytes, Entries Link, ContextID Bytes, Metadata Bytes, IsRm Bool}
    EntryChunk    {Entries [Bytes], Next optional Link}
    SignedHead    {head Link, topic optional String, pubkey Bytes, sig Bytes}

Every block is canonical DAG-JSON named by a CIDv1 (dag-json, sha2-256).

The advertisement's ``Signature`` is a libp2p signed envelope (libp2p RFC 0002) with domain
``indexer`` and payload type ``/indexer/ingest/adSignature``, whose payload is the sha2-256
multihash of ``PreviousID bytes (none: empty) ‖ Entries CID bytes ‖ Provider ‖ every Address ‖
Metadata ‖ IsRm (one byte)`` (go-libipni ``ingest/schema/envelope.go``; ``ContextID`` is not
covered). The envelope is the protobuf ``{1: PublicKey, 2: payload type, 3: payload,
5: signature}`` and signs ``uvarint(len) domain ‖ uvarint(len) type ‖ uvarint(len) payload``.
The head's ``sig`` is a bare Ed25519 signature of the head CID's bytes (no topic is written, so
indexers assume ``/indexer/ingest/mainnet``).

Metadata is ``transport-ipfs-gateway-http``: ``uvarint(0x0920) uvarint(0)`` = ``a0 12 00``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from mirror.node.ipni.dagjson import block_cid, encode
from mirror.node.routing.peerid import peer_id, public_key_proto
from mirror.store.cid import CID, RAW, encode_varint

GATEWAY_METADATA = bytes.fromhex("a01200")
SIGNATURE_DOMAIN = b"indexer"
AD_SIGNATURE_TYPE = b"/indexer/ingest/adSignature"
# "No entries" (an IsRm advertisement): the CID of sha2-256 of nothing, truncated to 16 bytes.
NO_ENTRIES = CID(1, RAW, b"\x12\x10" + hashlib.sha256(b"").digest()[:16])
MAX_CONTEXT_ID = 64                  # go-libipni MaxContextIDLen


class Signer(Protocol):
    """What signs for the node: its raw Ed25519 public key and ``sign(data) -> 64 bytes``
    (``mirror.feed.identity.Identity`` is one)."""

    @property
    def public_key_bytes(self) -> bytes: ...

    def sign(self, data: bytes, /) -> bytes: ...


@dataclass(frozen=True)
class Block:
    """One block of the chain: its CID and its exact bytes."""

    cid: CID
    data: bytes

    @classmethod
    def of(cls, value: object) -> Block:
        data = encode(value)
        return cls(block_cid(data), data)


def entry_chunks(multihashes: Sequence[bytes], per_chunk: int) -> list[Block]:
    """EntryChunk blocks listing MULTIHASHES, at most PER_CHUNK each; the first one links the rest."""
    chunks: list[Block] = []
    following: CID | None = None
    starts = range(0, len(multihashes), per_chunk)
    for start in reversed(starts):
        value: dict[str, object] = {"Entries": list(multihashes[start:start + per_chunk])}
        if following is not None:
            value["Next"] = following
        block = Block.of(value)
        chunks.append(block)
        following = block.cid
    chunks.reverse()
    return chunks


def seal_envelope(signer: Signer, payload_type: bytes, payload: bytes, domain: bytes) -> bytes:
    """A libp2p signed envelope of PAYLOAD, in its protobuf wire form."""
    signed = b"".join(encode_varint(len(part)) + part for part in (domain, payload_type, payload))
    signature = signer.sign(signed)
    key = public_key_proto(signer.public_key_bytes)
    return b"".join(_field(number, value) for number, value in
                    ((1, key), (2, payload_type), (3, payload), (5, signature)))


def _field(number: int, value: bytes) -> bytes:
    return bytes(((number << 3) | 2,)) + encode_varint(len(value)) + value


def signature_payload(previous: CID | None, entries: CID, provider: str, addrs: Sequence[str],
                      metadata: bytes, is_rm: bool) -> bytes:
    """The sha2-256 multihash the advertisement's envelope signs (go-libipni signaturePayload)."""
    data = b"".join((bytes(previous) if previous is not None else b"", bytes(entries),
                     provider.encode(), *(a.encode() for a in addrs), metadata,
                     b"\x01" if is_rm else b"\x00"))
    return b"\x12\x20" + hashlib.sha256(data).digest()


def advertisement(signer: Signer, *, previous: CID | None, entries: CID, context: bytes,
                  addrs: Sequence[str], is_rm: bool, metadata: bytes = GATEWAY_METADATA) -> Block:
    """A signed advertisement block of the node SIGNER."""
    if not 0 < len(context) <= MAX_CONTEXT_ID:
        raise ValueError(f"a ContextID has 1 to {MAX_CONTEXT_ID} bytes")
    provider = peer_id(signer.public_key_bytes)
    payload = signature_payload(previous, entries, provider, addrs, metadata, is_rm)
    value: dict[str, object] = {
        "Provider": provider, "Addresses": list(addrs), "Entries": entries, "ContextID": context,
        "Metadata": metadata, "IsRm": is_rm,
        "Signature": seal_envelope(signer, AD_SIGNATURE_TYPE, payload, SIGNATURE_DOMAIN)}
    if previous is not None:
        value["PreviousID"] = previous
    return Block.of(value)


def signed_head(signer: Signer, head: CID) -> bytes:
    """The DAG-JSON SignedHead naming HEAD, signed with the node key (no topic)."""
    return encode({"head": head, "pubkey": public_key_proto(signer.public_key_bytes),
                   "sig": signer.sign(bytes(head))})


