"""The node's libp2p identity: its Ed25519 key as the libp2p network names it (libp2p peer-ids spec).

The IPFS network knows a peer by its *peer ID*, the multihash of its public key in the libp2p
protobuf form. openmirror nodes already have an Ed25519 key (``HOME/node.key``, see
``mirror.feed.identity``); these functions give the same key its libp2p names, so indexers and
delegated routers can verify what the node signs and clients can name it::

    PublicKey  = 08 01  12 20 <32-byte key>        protobuf {Type: Ed25519 (1), Data: key}; 36 bytes
    multihash  = 00 24 <PublicKey>                 identity multihash (a key of at most 42 bytes)
    peer ID    = base58btc(multihash)              "12D3KooW…", 52 characters
    CID form   = CIDv1(libp2p-key 0x72, multihash) "bafzaa…" in base32 (or "k51…" in base36)

Both text forms are accepted when a peer ID arrives from the network (``parse_peer_id``); the
base58btc form is the one shown, as the spec asks until the CID form is widespread.
"""

from __future__ import annotations

from mirror.errors import InvalidCID, UsageError
from mirror.feed.identity import parse_node_id
from mirror.store.cid import CID, IDENTITY, b58decode, b58encode

LIBP2P_KEY = 0x72                    # multicodec of a peer ID written as a CID
ED25519 = 1                          # libp2p KeyType enum
_ED25519_PROTO_PREFIX = b"\x08\x01\x12\x20"
_IDENTITY_PREFIX = b"\x00\x24"       # identity multihash of the 36-byte protobuf key
MAX_PEER_ID_TEXT = 128               # longer texts are refused before decoding
MAX_INLINE_KEY = 42                  # keys up to this size are inlined (identity multihash)


def public_key_proto(public_key: bytes) -> bytes:
    """The libp2p protobuf ``PublicKey`` of a raw 32-byte Ed25519 key (``crypto.MarshalPublicKey``)."""
    if len(public_key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return _ED25519_PROTO_PREFIX + public_key


def peer_id_multihash(public_key: bytes) -> bytes:
    """The peer ID of an Ed25519 key in binary: the identity multihash of its protobuf form."""
    return _IDENTITY_PREFIX + public_key_proto(public_key)


def peer_id(public_key: bytes) -> str:
    """The peer ID of an Ed25519 key as libp2p shows it: base58btc, ``12D3KooW…``."""
    return b58encode(peer_id_multihash(public_key))


def peer_id_cid(public_key: bytes) -> str:
    """The peer ID of an Ed25519 key as a CIDv1 with the ``libp2p-key`` codec, base32 (``bafz…``)."""
    return str(CID(1, LIBP2P_KEY, peer_id_multihash(public_key)))


def node_peer_id(node_id: str) -> str:
    """The peer ID of an openmirror node id (``om…``: the same Ed25519 key); ``UsageError`` if bad."""
    return peer_id(parse_node_id(node_id))


def parse_peer_id(text: str) -> bytes:
    """The binary peer ID (a multihash) named by TEXT, in either text form; ``UsageError`` if not one.

    ``1…``/``Qm…`` is a bare base58btc multihash; anything else must be a CIDv1 with the
    ``libp2p-key`` codec in any multibase. The multihash must be an identity hash of at most 42
    bytes or a sha2-256 hash, as the spec allows.
    """
    if not isinstance(text, str) or not 0 < len(text) <= MAX_PEER_ID_TEXT:
        raise UsageError("not a peer ID: wrong length")
    if text[0] in "1Q":
        try:
            multihash = b58decode(text)
        except ValueError:
            raise UsageError(f"not a peer ID: {text[:80]!r}") from None
    else:
        try:
            cid = CID.decode(text)
        except InvalidCID:
            raise UsageError(f"not a peer ID: {text[:80]!r}") from None
        if cid.version != 1 or cid.codec != LIBP2P_KEY:
            raise UsageError("not a peer ID: a CID peer ID has the libp2p-key codec")
        multihash = cid.multihash
    if not _is_peer_multihash(multihash):
        raise UsageError(f"not a peer ID: {text[:80]!r}")
    return multihash


def _is_peer_multihash(multihash: bytes) -> bool:
    if len(multihash) == 34 and multihash[:2] == b"\x12\x20":
        return True
    return (len(multihash) >= 2 and multihash[0] == IDENTITY and multihash[1] <= MAX_INLINE_KEY
            and len(multihash) == 2 + multihash[1])


def ed25519_key(multihash: bytes) -> bytes | None:
    """The raw Ed25519 key inlined in a binary peer ID, or None when it holds another kind of key."""
    if len(multihash) == 38 and multihash.startswith(_IDENTITY_PREFIX + _ED25519_PROTO_PREFIX):
        return multihash[6:]
    return None
