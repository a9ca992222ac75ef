"""The node's identity: one Ed25519 key pair, kept in the home beside the settings.

The private key lives in ``HOME/node.key`` (PKCS#8 PEM, unencrypted), created on first use with
mode 0600 from the start (never a wider window) and published with a hard link so two processes
starting at once agree on one key. A key file that group or others can read is refused, like
OpenSSH does: the key may already have leaked, and the owner should know (``chmod 600`` fixes it).
The private key is never printed, logged or shown by ``repr``.

The *node id* is the public key as text: ``"om"`` followed by the 32 raw key bytes in lower-case
RFC 4648 base32 without padding (54 characters, ``[a-z2-7]``), safe in URLs, file names and
settings. Only one text maps to each key: trailing bits must be zero. Keys that are not canonical
curve points or have small order are refused wherever a key is used: OpenSSL accepts forged
signatures for them.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mirror.durable import create_private_file, read_private_file
from mirror.errors import ConfigError, UsageError

NODE_ID_PREFIX = "om"
NODE_ID_LENGTH = 54
SIGNATURE_SIZE = 64
_NODE_ID_RE = re.compile(r"om[a-z2-7]{52}")


def encode_node_id(public_key: bytes) -> str:
    """The node id of a raw 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return NODE_ID_PREFIX + base64.b32encode(public_key).decode("ascii").rstrip("=").lower()


def is_node_id(text: object) -> bool:
    """True when TEXT is a well-formed node id.

    Cheap (no curve arithmetic): a well-formed id of an unusable key (not on the curve, or of
    small order) still fails ``public_key``, ``parse_node_id`` and every verification.
    """
    return isinstance(text, str) and _public_key_bytes(text) is not None


def parse_node_id(text: str) -> bytes:
    """The raw public key of a node id typed by a user; ``UsageError`` when malformed or weak."""
    raw = _public_key_bytes(text)
    if raw is None or not is_strong_key(raw):
        raise UsageError(f"not a node id: {text[:80]!r}",
                         hint="a node id is 'om' and 52 letters a-z or digits 2-7 (openmirror status)")
    return raw


@lru_cache(maxsize=1024)
def _public_key_bytes(text: str) -> bytes | None:
    if len(text) != NODE_ID_LENGTH or not _NODE_ID_RE.fullmatch(text):
        return None
    try:
        raw = base64.b32decode(text[2:].upper() + "====")
    except binascii.Error:
        return None
    return raw if encode_node_id(raw) == text else None


# Ed25519 curve arithmetic (RFC 8032 §5.1), used only to vet public keys.
_P = 2**255 - 19
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _decode_point(raw: bytes) -> tuple[int, int] | None:
    """The affine point a 32-byte key encodes, or None when it is not canonical or not on the curve."""
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P or (x == 0 and sign):
        return None
    return (_P - x if x & 1 != sign else x), y


def _times_eight_is_identity(point: tuple[int, int]) -> bool:
    """[8]P == identity, by three doublings in projective coordinates (a = -1, no inversions)."""
    x, y, z = point[0], point[1], 1
    for _ in range(3):
        b, c, d = (x + y) ** 2 % _P, x * x % _P, y * y % _P
        f = d - c
        j = f - 2 * z * z
        x, y, z = (b - c - d) * j % _P, f * (-c - d) % _P, f * j % _P
    return x == 0 and (y - z) % _P == 0


def is_strong_key(raw: bytes) -> bool:
    """True for a canonical Ed25519 public key that is not of small order.

    A small-order key (such as the identity point) verifies forged signatures in common
    implementations, OpenSSL included, so it can never be a node id.
    """
    point = _decode_point(raw)
    return point is not None and not _times_eight_is_identity(point)


@lru_cache(maxsize=1024)
def public_key(node_id: str) -> Ed25519PublicKey | None:
    """The loaded public key of NODE_ID; None when malformed or weak (cached: feeds repeat authors)."""
    raw = _public_key_bytes(node_id) if isinstance(node_id, str) else None
    if raw is None or not is_strong_key(raw):
        return None
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None


class Identity:
    """An Ed25519 key pair and its node id. ``repr`` shows the node id only."""

    __slots__ = ("_key", "node_id", "public_key_bytes")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key_bytes = private_key.public_key().public_bytes_raw()
        self.node_id = encode_node_id(self.public_key_bytes)

    def __repr__(self) -> str:
        return f"Identity(node_id={self.node_id!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("an Identity holds a private key and is not picklable")

    @classmethod
    def generate(cls) -> "Identity":
        """A fresh identity held in memory only (tests, benchmarks)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, key_file: Path) -> "Identity":
        """Load the key in KEY_FILE, creating it (mode 0600) on first use.

        Raises ``ConfigError`` when the file is readable by group or others, unreadable, or not
        an Ed25519 private key; the message never contains key material.
        """
        key_file = Path(key_file)
        if not key_file.exists():
            _create_key_file(key_file)
        return cls(_load_key_file(key_file))

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of DATA."""
        return self._key.sign(data)

    @staticmethod
    def verify(node_id: str, data: bytes, signature: bytes) -> bool:
        """True when SIGNATURE is NODE_ID's valid signature of DATA; False for anything else."""
        key = public_key(node_id) if isinstance(node_id, str) else None
        if key is None or not isinstance(signature, (bytes, bytearray)) or len(signature) != SIGNATURE_SIZE:
            return False
        try:
            key.verify(bytes(signature), data)
        except InvalidSignature:
            return False
        return True


def _create_key_file(key_file: Path) -> None:
    """Write a new key, mode 0600, published so that a process losing a creation race keeps the
    winner's key instead of replacing it (``mirror.durable.create_private_file``)."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        create_private_file(key_file, pem)
    except OSError as exc:
        raise ConfigError(f"cannot create node key {key_file}: {exc.strerror or exc}") from exc


def _load_key_file(key_file: Path) -> Ed25519PrivateKey:
    data = read_private_file(key_file, "node key",
                             hint=f"chmod 600 {key_file}; if others could read it, move it away "
                                  "to start a new identity")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError(f"node key {key_file} is not a readable private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"node key {key_file} is not an Ed25519 key")
    return key
