"""Content identifiers: CIDv0/v1, multihash, varint, base32 and base58btc.

This is the per-block hot path, so the common cases are written by hand on the standard library:
base32 (the CIDv1 default) through ``base64.b32encode``, base58btc (CIDv0 ``Qm...``) with a small
integer codec, sha2-256 through ``hashlib``. Rarer multibases (base36 ``k``, base64 ``m``, ...)
are decoded by the ``multiformats`` library, imported only when such a string arrives, so every
string ``ipfs`` accepts is accepted here too.

Layouts (see docs/ipfs-digest §1):

    multihash = varint(hash code) varint(digest length) digest
    CIDv0     = multihash (sha2-256, 32-byte digest; 34 bytes)      text: base58btc, no prefix
    CIDv1     = varint(1) varint(codec) multihash                    text: multibase, default 'b'
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable
from dataclasses import dataclass

from mirror.errors import InvalidCID

RAW = 0x55
DAG_PB = 0x70
DAG_CBOR = 0x71
IDENTITY = 0x00
SHA2_256 = 0x12
SHA2_512 = 0x13
BLAKE2B_256 = 0xB220

MAX_IDENTITY_DIGEST = 128     # UnixFS spec: longer identity CIDs are refused
MIN_VERIFY_DIGEST = 20        # shorter (truncated) digests never verify: they bind nothing
MAX_DIGEST = 1024             # bound for hostile input; real digests are <= 64 bytes
_MAX_VARINT_BYTES = 9         # multiformats unsigned-varint: at most 63 bits

_HASHERS: dict[int, Callable[..., Any]] = {
    SHA2_256: hashlib.sha256,
    SHA2_512: hashlib.sha512,
    BLAKE2B_256: lambda data=b"": hashlib.blake2b(data, digest_size=32),
}
SUPPORTED_HASHES = frozenset(_HASHERS)
HASH_NAMES = {"sha2-256": SHA2_256, "sha2-512": SHA2_512, "blake2b-256": BLAKE2B_256}
_SHA256_PREFIX = b"\x12\x20"


# --- varint -------------------------------------------------------------------------------------

def encode_varint(value: int) -> bytes:
    """Unsigned LEB128, minimal length."""
    if value < 0x80:
        if value < 0:
            raise ValueError("varint cannot be negative")
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(buf: bytes | memoryview, offset: int = 0) -> tuple[int, int]:
    """Read a minimal unsigned varint at ``offset``; returns (value, end offset).

    Raises ValueError when the varint is truncated, longer than 9 bytes or not minimal.
    """
    value = shift = 0
    end = len(buf)
    for i in range(offset, min(end, offset + _MAX_VARINT_BYTES)):
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and i > offset:
                raise ValueError("varint is not minimally encoded")
            return value, i + 1
        shift += 7
    if end - offset >= _MAX_VARINT_BYTES:
        raise ValueError("varint is longer than 9 bytes")
    raise ValueError("varint is truncated")


# --- base58btc ----------------------------------------------------------------------------------

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


def b58encode(data: bytes) -> str:
    """Bitcoin base58: big-endian integer in base 58, one '1' per leading zero byte."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rem = divmod(number, 58)
        digits.append(_B58_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Inverse of b58encode; raises ValueError on a character outside the alphabet."""
    number = 0
    try:
        for char in text:
            number = number * 58 + _B58_INDEX[char]
    except KeyError:
        raise ValueError(f"invalid base58btc character {char!r}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


# --- base32 (RFC 4648 alphabet, no padding) -----------------------------------------------------
# base64.b32encode is pure Python and slow; these go through one big integer instead.

_B32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_B32_PAIRS = [_B32_ALPHABET[i >> 5] + _B32_ALPHABET[i & 31] for i in range(1024)]
_B32_TO_INT_DIGITS = str.maketrans(_B32_ALPHABET + _B32_ALPHABET.upper(),
                                   "0123456789abcdefghijklmnopqrstuv" * 2)
_B32_STRIP_VALID = str.maketrans("", "", _B32_ALPHABET + _B32_ALPHABET.upper())


def b32encode_lower(data: bytes) -> str:
    """Lowercase base32 without padding."""
    nbits = len(data) * 8
    nchars = (nbits + 4) // 5
    number = int.from_bytes(data, "big") << (nchars * 5 - nbits)
    out = []
    if nchars & 1:
        out.append(_B32_ALPHABET[number & 31])
        number >>= 5
    for _ in range(nchars >> 1):
        out.append(_B32_PAIRS[number & 1023])
        number >>= 10
    return "".join(reversed(out))


def b32decode_nopad(text: str) -> bytes:
    """Decode unpadded base32 in either case (but not mixed); raises ValueError."""
    if text != text.lower() and text != text.upper():
        raise ValueError("mixed-case base32")
    nbits = len(text) * 5
    nbytes, spare = divmod(nbits, 8)
    if spare >= 5:
        raise ValueError("invalid base32 length")
    if text.translate(_B32_STRIP_VALID):
        raise ValueError("invalid base32 character")
    if not text:
        return b""
    number = int(text.translate(_B32_TO_INT_DIGITS), 32)
    if number & ((1 << spare) - 1):
        raise ValueError("invalid base32: non-zero padding bits")
    return (number >> spare).to_bytes(nbytes, "big")


def _multibase_decode(text: str) -> bytes:
    prefix, body = text[0], text[1:]
    if prefix in "bB":
        return b32decode_nopad(body)
    if prefix == "z":
        return b58decode(body)
    if prefix in "fF":
        try:
            return bytes.fromhex(body)
        except ValueError:
            raise ValueError("invalid base16") from None
    from multiformats import multibase  # slow import (~0.1 s): only for rare bases

    try:
        return multibase.decode(text)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"unsupported or malformed multibase string ({exc})") from None


def new_hasher(code: int, data: bytes | memoryview = b"") -> Any:
    """A hashlib object for multihash function ``code``; raises InvalidCID when unsupported."""
    hasher = _HASHERS.get(code)
    if hasher is None:
        raise InvalidCID(f"unsupported multihash function 0x{code:x}")
    return hasher(data)


# --- CID ----------------------------------------------------------------------------------------

def _check_multihash(mh: bytes) -> None:
    code, pos = decode_varint(mh)
    length, pos = decode_varint(mh, pos)
    if len(mh) - pos != length:
        raise ValueError("multihash length does not match its digest")
    if code == IDENTITY and length > MAX_IDENTITY_DIGEST:
        raise ValueError(f"identity digest longer than {MAX_IDENTITY_DIGEST} bytes")
    if length > MAX_DIGEST:
        raise ValueError(f"digest longer than {MAX_DIGEST} bytes")


@dataclass(frozen=True, slots=True, repr=False)
class CID:
    """A content identifier. ``multihash`` is ``varint(code) varint(len) digest``."""

    version: int
    codec: int
    multihash: bytes

    def __post_init__(self) -> None:
        if self.version == 0:
            if self.codec != DAG_PB or len(self.multihash) != 34 or self.multihash[:2] != _SHA256_PREFIX:
                raise InvalidCID("a CIDv0 must be dag-pb with a sha2-256 multihash")
        elif self.version != 1:
            raise InvalidCID(f"CID version {self.version} is not supported")

    @classmethod
    def of(cls, data: bytes | memoryview, codec: int, version: int = 1,
           hash_code: int = SHA2_256) -> CID:
        """The CID of one block, hashed with sha2-256 (or another supported function)."""
        if hash_code == SHA2_256:
            return cls(version, codec, _SHA256_PREFIX + hashlib.sha256(data).digest())
        digest = new_hasher(hash_code, data).digest()
        return cls(version, codec, encode_varint(hash_code) + encode_varint(len(digest)) + digest)

    @classmethod
    def decode(cls, text: str) -> CID:
        """Parse a CID string (v0 ``Qm...`` or any multibase v1); raises InvalidCID."""
        if not isinstance(text, str) or not text:
            raise InvalidCID("empty CID")
        shown = text if len(text) <= 80 else text[:77] + "..."
        if len(text) == 46 and text.startswith("Qm"):
            try:
                return cls.from_bytes(b58decode(text))
            except (ValueError, InvalidCID) as exc:
                raise InvalidCID(f"invalid CID {shown!r}: {exc}") from None
        try:
            raw = _multibase_decode(text)
        except ValueError as exc:
            raise InvalidCID(f"invalid CID {shown!r}: {exc}") from None
        if raw[:1] == b"\x12":
            raise InvalidCID(f"invalid CID {shown!r}: a CIDv0 cannot be multibase-encoded")
        try:
            return cls.from_bytes(raw)
        except (ValueError, InvalidCID) as exc:
            raise InvalidCID(f"invalid CID {shown!r}: {exc}") from None

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> CID:
        """Parse a binary CID that must fill ``data`` exactly; raises InvalidCID."""
        cid, end = cls.parse_prefix(data)
        if end != len(data):
            raise InvalidCID(f"binary CID has {len(data) - end} trailing bytes")
        return cid

    @classmethod
    def parse_prefix(cls, buf: bytes | memoryview, offset: int = 0) -> tuple[CID, int]:
        """Read a binary CID starting at ``offset``; returns (cid, end offset). Raises InvalidCID."""
        if bytes(buf[offset:offset + 2]) == _SHA256_PREFIX:
            end = offset + 34
            if len(buf) < end:
                raise InvalidCID("binary CIDv0 is truncated")
            return cls(0, DAG_PB, bytes(buf[offset:end])), end
        head = bytes(buf[offset:offset + 4])
        if head[0:1] == b"\x01" and head[2:4] == _SHA256_PREFIX and head[1] < 0x80:
            end = offset + 36           # the common case: v1, one-byte codec, sha2-256
            if len(buf) >= end:
                return cls(1, head[1], bytes(buf[offset + 2:end])), end
        try:
            version, pos = decode_varint(buf, offset)
            if version != 1:
                raise ValueError("CID version 0 must be a bare sha2-256 multihash" if version == 0
                                 else f"CID version {version} is reserved")
            codec, pos = decode_varint(buf, pos)
            mh_start = pos
            _code, pos = decode_varint(buf, pos)
            length, pos = decode_varint(buf, pos)
            if length > MAX_DIGEST:
                raise ValueError(f"digest longer than {MAX_DIGEST} bytes")
            end = pos + length
            if len(buf) < end:
                raise ValueError("binary CID is truncated")
            multihash = bytes(buf[mh_start:end])
            _check_multihash(multihash)
        except ValueError as exc:
            raise InvalidCID(str(exc)) from None
        return cls(1, codec, multihash), end

    def __bytes__(self) -> bytes:
        if self.version == 0:
            return self.multihash
        if self.codec < 0x80:
            return bytes((1, self.codec)) + self.multihash
        return b"\x01" + encode_varint(self.codec) + self.multihash

    def __str__(self) -> str:
        if self.version == 0:
            return b58encode(self.multihash)
        return "b" + b32encode_lower(bytes(self))

    def __repr__(self) -> str:
        return f"CID({str(self)!r})"

    def encode(self, base: str = "base32") -> str:
        """The string form in ``base`` (v1 only for bases other than the v0 default)."""
        if base == "base32" or (self.version == 0 and base == "base58btc"):
            return str(self)
        if self.version == 0:
            raise InvalidCID("a CIDv0 can only be written in base58btc; use to_v1() first")
        if base == "base58btc":
            return "z" + b58encode(bytes(self))
        from multiformats import multibase

        return multibase.encode(bytes(self), base)

    @property
    def hash_code(self) -> int:
        return decode_varint(self.multihash)[0]

    @property
    def digest(self) -> bytes:
        _code, pos = decode_varint(self.multihash)
        _length, pos = decode_varint(self.multihash, pos)
        return self.multihash[pos:]

    def to_v1(self) -> CID:
        return self if self.version == 1 else CID(1, self.codec, self.multihash)

    def verify(self, data: bytes | memoryview) -> bool:
        """True when ``data`` hashes to this CID's digest (sha2-256/512, blake2b-256, identity)."""
        code, digest = self.hash_code, self.digest
        if code == IDENTITY:
            return bytes(data) == digest
        full = new_hasher(code, data).digest()
        # a truncated digest is valid multihash, but one too short to bind the bytes proves nothing
        return MIN_VERIFY_DIGEST <= len(digest) <= len(full) and full[:len(digest)] == digest
