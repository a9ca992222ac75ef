"""Canonical DAG-JSON for the IPNI blocks (ipld ``specs/codecs/dag-json``), byte for byte as
go-ipld-prime's ``dagjson.Encode`` and ``@ipld/dag-json`` write it.

    map     keys sorted by their UTF-8 bytes, no whitespace
    bytes   {"/":{"bytes":"<standard base64, no padding>"}}
    link    {"/":"<CID string: base32 for CIDv1>"}
    string  JSON string; only printable ASCII without '"' and '\\' is accepted here (every string an
            advertisement holds: peer IDs, multiaddrs), so no escaping rule can differ
    bool, non-negative int, list

Only what IPNI blocks need is written; anything else is a ``TypeError``/``ValueError``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from mirror.store.cid import CID

DAG_JSON = 0x0129                   # multicodec of a DAG-JSON block


def encode(value: object) -> bytes:
    """The canonical DAG-JSON bytes of VALUE."""
    out: list[str] = []
    _write(value, out)
    return "".join(out).encode("ascii")


def _write(value: object, out: list[str]) -> None:
    if isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        if value < 0:
            raise ValueError("negative integers are not used in IPNI blocks")
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, (bytes, bytearray)):
        text = base64.b64encode(bytes(value)).decode("ascii").rstrip("=")
        out.append('{"/":{"bytes":"' + text + '"}}')
    elif isinstance(value, CID):
        out.append('{"/":"' + str(value) + '"}')
    elif isinstance(value, Mapping):
        _write_map(value, out)
    elif isinstance(value, Sequence):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"DAG-JSON cannot hold a {type(value).__name__}")


def _write_map(value: Mapping[object, object], out: list[str]) -> None:
    keys = list(value)
    if not all(isinstance(k, str) for k in keys):
        raise TypeError("DAG-JSON map keys are strings")
    out.append("{")
    for i, key in enumerate(sorted(keys, key=lambda k: str(k).encode("utf-8"))):
        if i:
            out.append(",")
        out.append(_string(str(key)))
        out.append(":")
        _write(value[key], out)
    out.append("}")


def _string(text: str) -> str:
    if not text.isascii() or not text.isprintable() or '"' in text or "\\" in text:
        raise ValueError(f"only plain printable ASCII strings are written here: {text[:60]!r}")
    return '"' + text + '"'


def block_cid(data: bytes) -> CID:
    """The CID of a DAG-JSON block (CIDv1, sha2-256), as IPNI names advertisements and entries."""
    return CID.of(data, DAG_JSON)
