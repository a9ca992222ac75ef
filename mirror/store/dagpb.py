"""dag-pb (codec 0x70): the PBNode/PBLink protobuf, written exactly as Kubo writes it.

Encoding (boxo ``merkledag/coding.go``): all Links first, sorted stably by the bytes of their Name,
then Data (left out when None). Every link writes Hash, Name and Tsize, even an empty Name
(``12 00``) and a zero Tsize (``18 00``): leaving them out changes the CID.

    PBNode: Links = field 2 (LEN, tag 0x12), repeated; Data = field 1 (LEN, tag 0x0a)
    PBLink: Hash = field 1 (LEN, 0x0a, binary CID); Name = field 2 (LEN, 0x12); Tsize = field 3 (varint, 0x18)

Decoding is strict, as in the IPLD dag-pb spec: no unknown or duplicate fields, no Links after
Data, PBLink fields in order, Hash mandatory and a valid binary CID, Name valid UTF-8. Malformed
input raises ``DagPBError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mirror.errors import DagPBError, InvalidCID
from mirror.store.cid import CID, encode_varint

_MAX_PB_VARINT_BYTES = 10       # protobuf varints carry up to 64 bits


@dataclass(slots=True)
class PBLink:
    hash: bytes                 # binary CID
    name: str = ""
    tsize: int = 0


@dataclass(slots=True)
class PBNode:
    links: list[PBLink] = field(default_factory=list)
    data: bytes | None = None


def encode_link(link: PBLink) -> bytes:
    """One PBLink message, without its enclosing ``12 <len>`` frame."""
    name = link.name.encode("utf-8")
    return b"".join((b"\x0a", encode_varint(len(link.hash)), link.hash,
                     b"\x12", encode_varint(len(name)), name,
                     b"\x18", encode_varint(link.tsize)))


def encode_node(node: PBNode) -> bytes:
    """Serialize like Kubo: sorted links (Name, Tsize always present), then Data if not None."""
    links = node.links
    if any(link.name for link in links):
        links = sorted(links, key=lambda link: link.name.encode("utf-8"))
    parts: list[bytes] = []
    for link in links:
        body = encode_link(link)
        parts += (b"\x12", encode_varint(len(body)), body)
    if node.data is not None:
        parts += (b"\x0a", encode_varint(len(node.data)), node.data)
    return b"".join(parts)


def encoded_link_size(hash_len: int, name_len: int, tsize: int) -> int:
    """Bytes one link adds to a PBNode (frame included), without building it."""
    body = 1 + _varint_len(hash_len) + hash_len + 1 + _varint_len(name_len) + name_len \
        + 1 + _varint_len(tsize)
    return 1 + _varint_len(body) + body


def _varint_len(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


# --- decoding -----------------------------------------------------------------------------------

def _read_varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    for i in range(pos, min(len(buf), pos + _MAX_PB_VARINT_BYTES)):
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if value >= 1 << 64:
                raise DagPBError("dag-pb: varint overflows 64 bits")
            return value, i + 1
        shift += 7
    raise DagPBError("dag-pb: truncated or overlong varint")


def _read_bytes(buf: memoryview, pos: int) -> tuple[memoryview, int]:
    length, pos = _read_varint(buf, pos)
    end = pos + length
    if end > len(buf):
        raise DagPBError("dag-pb: length-delimited field runs past the end of the block")
    return buf[pos:end], end


def _decode_link(buf: memoryview) -> PBLink:
    pos, last = 0, 0
    hash_: bytes | None = None
    name, tsize = "", 0
    while pos < len(buf):
        tag, pos = _read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number <= last:
            raise DagPBError("dag-pb: PBLink fields out of order or duplicated")
        last = number
        if number == 1 and wire == 2:
            raw, pos = _read_bytes(buf, pos)
            hash_ = bytes(raw)
        elif number == 2 and wire == 2:
            raw, pos = _read_bytes(buf, pos)
            try:
                name = str(raw, "utf-8")
            except UnicodeDecodeError:
                raise DagPBError("dag-pb: link Name is not valid UTF-8") from None
        elif number == 3 and wire == 0:
            tsize, pos = _read_varint(buf, pos)
        else:
            raise DagPBError(f"dag-pb: unexpected PBLink field {number} (wire type {wire})")
    if hash_ is None:
        raise DagPBError("dag-pb: link without Hash")
    try:
        CID.from_bytes(hash_)
    except InvalidCID as exc:
        raise DagPBError(f"dag-pb: link Hash is not a valid CID ({exc})") from None
    return PBLink(hash_, name, tsize)


def decode_node(block: bytes | memoryview) -> PBNode:
    """Parse a dag-pb block strictly; raises DagPBError on anything non-canonical or malformed."""
    buf = memoryview(block)
    pos = 0
    links: list[PBLink] = []
    data: bytes | None = None
    while pos < len(buf):
        tag, pos = _read_varint(buf, pos)
        if tag == 0x12:
            if data is not None:
                raise DagPBError("dag-pb: Links after Data")
            raw, pos = _read_bytes(buf, pos)
            links.append(_decode_link(raw))
        elif tag == 0x0A:
            if data is not None:
                raise DagPBError("dag-pb: duplicate Data field")
            raw, pos = _read_bytes(buf, pos)
            data = bytes(raw)
        else:
            raise DagPBError(f"dag-pb: unexpected PBNode field {tag >> 3} (wire type {tag & 7})")
    return PBNode(links, data)
