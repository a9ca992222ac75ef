"""What the body of each kind of feed entry holds, and the strict checks a reader applies.

``put``      the whole document as ``DocumentIn.to_dict()`` (licence, provenance and every
             content's sha256, size, CID and profile; never extracted text).
``retract``  ``{"collection", "source_id", "reason"}``: the document is withdrawn.

Other kinds (``[a-z][a-z0-9_-]{0,31}``) are accepted as opaque objects so a feed written by a
newer node still verifies and relays; a v1 node does not apply them. Unknown keys inside a known
body are allowed and ignored (adding an optional field is a compatible change); a known key with
the wrong type is an error. The checks return a message, or None when the body is good, so the
caller decides which error to raise.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from indexer.records import DocumentIn

PUT, RETRACT = "put", "retract"
MAX_INT = (1 << 53) - 1  # integers stay exact in every JSON implementation
KIND_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_CID_RE = re.compile(r"[A-Za-z0-9]{8,256}")

NONE = type(None)
# Every known field: the JSON types it may have, and an extra check for its value (or None).
Check = Callable[[Any], bool]
Field = tuple[tuple[type, ...], Check | None]


def _nonempty(v: Any) -> bool:
    return v != ""


def _count(v: Any) -> bool:
    return 0 <= v <= MAX_INT


def _opt_count(v: Any) -> bool:
    return v is None or 0 <= v <= MAX_INT


def _all_str(v: Any) -> bool:
    return all(type(x) is str for x in v)


def _all_str_values(v: Any) -> bool:
    return all(type(x) is str for x in v.values())


def _sha256(v: Any) -> bool:
    return _SHA256_RE.fullmatch(v) is not None


def _cid(v: Any) -> bool:
    return _CID_RE.fullmatch(v) is not None


STR, OPT_STR, OPT_INT = (str,), (str, NONE), (int, NONE)
CONTENT_FIELDS: dict[str, Field] = {
    "sha256": (STR, _sha256), "size": ((int,), _count), "cid": (STR, _cid), "profile": (STR, _nonempty),
    "media_type": (OPT_STR, None), "name": (OPT_STR, None), "url": (OPT_STR, None),
}
DOCUMENT_FIELDS: dict[str, Field] = {
    "collection": (STR, _nonempty), "source_id": (STR, _nonempty),
    "title": (STR, None), "creators": ((list,), _all_str), "description": (STR, None),
    "subjects": ((list,), _all_str), "language": (OPT_STR, None), "date": (OPT_STR, None),
    "type": (OPT_STR, None), "source_url": (OPT_STR, None), "landing_url": (OPT_STR, None),
    "license": (OPT_STR, None), "license_url": (OPT_STR, None), "license_statement": (OPT_STR, None),
    "retrieved_at": (OPT_STR, None), "http_status": (OPT_INT, _opt_count),
    "http_headers": ((dict,), _all_str_values), "raw_record": (OPT_STR, None), "contents": ((list,), None),
}
RETRACT_FIELDS: dict[str, Field] = {
    "collection": (STR, _nonempty), "source_id": (STR, _nonempty), "reason": (STR, None),
}
_CONTENT_REQUIRED = ("sha256", "size", "cid", "profile")
_DOCUMENT_REQUIRED = ("collection", "source_id")


def _check_fields(obj: Any, known: dict[str, Field], required: tuple[str, ...], what: str) -> str | None:
    if type(obj) is not dict:
        return f"{what} is not an object"
    for name in required:
        if name not in obj:
            return f"{what} lacks {name!r}"
    for name, value in obj.items():
        spec = known.get(name)
        if spec is not None and (type(value) not in spec[0] or (spec[1] is not None and not spec[1](value))):
            return f"{what} field {name!r} has a bad value"
    return None


def check_put(body: Any) -> str | None:
    problem = _check_fields(body, DOCUMENT_FIELDS, _DOCUMENT_REQUIRED, "put body")
    if problem:
        return problem
    for i, content in enumerate(body.get("contents", ())):
        problem = _check_fields(content, CONTENT_FIELDS, _CONTENT_REQUIRED, f"put body contents[{i}]")
        if problem:
            return problem
    return None


def check_retract(body: Any) -> str | None:
    return _check_fields(body, RETRACT_FIELDS, ("collection", "source_id"), "retract body")


def check_opaque(body: Any) -> str | None:
    return None if type(body) is dict else "body is not an object"


def check_body(kind: str, body: Any) -> str | None:
    """What is wrong with BODY for KIND, or None."""
    if kind == PUT:
        return check_put(body)
    if kind == RETRACT:
        return check_retract(body)
    if not KIND_RE.fullmatch(kind):
        return f"bad kind {kind[:40]!r}"
    return check_opaque(body)


def put_body(document: DocumentIn) -> dict[str, Any]:
    """The body of a ``put`` entry for DOCUMENT."""
    return document.to_dict()


def retract_body(collection: str, source_id: str, reason: str = "") -> dict[str, Any]:
    """The body of a ``retract`` entry."""
    return {"collection": collection, "source_id": source_id, "reason": reason}
