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
from dataclasses import dataclass, fields
from typing import Any, Callable

from indexer.records import ContentIn, DocumentIn

PUT, RETRACT = "put", "retract"
MAX_INT = (1 << 53) - 1  # integers stay exact in every JSON implementation
KIND_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_CID_RE = re.compile(r"[A-Za-z0-9]{8,256}")

NONE = type(None)
Check = Callable[[Any], bool]


def _nonempty(v: Any) -> bool:
    return v != ""


def _count(v: Any) -> bool:
    return v is None or 0 <= v <= MAX_INT


def _all_str(v: Any) -> bool:
    try:
        "".join(v.values() if type(v) is dict else v)  # C speed; fails on anything not a str
    except TypeError:
        return False
    return True


def _sha256(v: Any) -> bool:
    return _SHA256_RE.fullmatch(v) is not None


def _cid(v: Any) -> bool:
    return _CID_RE.fullmatch(v) is not None


@dataclass(frozen=True)
class Schema:
    """The known fields of an object: the JSON types each may have, and extra value checks."""

    what: str
    types: dict[str, tuple[type, ...]]
    checks: dict[str, Check]
    required: tuple[str, ...]

    def problem(self, obj: Any) -> str | None:
        if type(obj) is not dict:
            return f"{self.what} is not an object"
        for name in self.required:
            if name not in obj:
                return f"{self.what} lacks {name!r}"
        types = self.types
        for name, value in obj.items():
            allowed = types.get(name)
            if allowed is not None and type(value) not in allowed:
                return f"{self.what} field {name!r} has the wrong type"
        for name, check in self.checks.items():
            if name in obj and not check(obj[name]):
                return f"{self.what} field {name!r} has a bad value"
        return None


STR, OPT_STR, OPT_INT = (str,), (str, NONE), (int, NONE)
CONTENT_FIELDS = Schema(
    "content",
    {"sha256": STR, "size": (int,), "cid": STR, "profile": STR,
     "media_type": OPT_STR, "name": OPT_STR, "url": OPT_STR},
    {"sha256": _sha256, "size": _count, "cid": _cid, "profile": _nonempty},
    ("sha256", "size", "cid", "profile"))
DOCUMENT_FIELDS = Schema(
    "put body",
    {"collection": STR, "source_id": STR, "title": STR, "creators": (list,), "description": STR,
     "subjects": (list,), "language": OPT_STR, "date": OPT_STR, "type": OPT_STR,
     "source_url": OPT_STR, "landing_url": OPT_STR, "license": OPT_STR, "license_url": OPT_STR,
     "license_statement": OPT_STR, "retrieved_at": OPT_STR, "http_status": OPT_INT,
     "http_headers": (dict,), "raw_record": OPT_STR, "contents": (list,)},
    {"collection": _nonempty, "source_id": _nonempty, "creators": _all_str, "subjects": _all_str,
     "http_headers": _all_str, "http_status": _count},
    ("collection", "source_id"))
RETRACT_FIELDS = Schema(
    "retract body",
    {"collection": STR, "source_id": STR, "reason": STR},
    {"collection": _nonempty, "source_id": _nonempty},
    ("collection", "source_id"))


def check_put(body: Any) -> str | None:
    problem = DOCUMENT_FIELDS.problem(body)
    for i, content in enumerate(() if problem else body.get("contents", ())):
        problem = CONTENT_FIELDS.problem(content)
        if problem:
            return f"put body contents[{i}]: {problem}"
    return problem


def check_retract(body: Any) -> str | None:
    return RETRACT_FIELDS.problem(body)


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


_DOCUMENT_NAMES = tuple(f.name for f in fields(DocumentIn) if f.name != "contents")
_CONTENT_NAMES = tuple(f.name for f in fields(ContentIn) if f.name != "text")


def _plain(value: Any) -> Any:
    if type(value) is list:
        return list(value)
    if type(value) is dict:
        return dict(value)
    return value


def put_body(document: DocumentIn) -> dict[str, Any]:
    """The body of a ``put`` entry for DOCUMENT: ``document.to_dict()``, built without the deep
    copies of ``dataclasses.asdict`` (a large share of signing time on bulk writes)."""
    body = {name: _plain(getattr(document, name)) for name in _DOCUMENT_NAMES}
    body["contents"] = [{name: getattr(c, name) for name in _CONTENT_NAMES} for c in document.contents]
    return body


_DOCUMENT_KEYS = frozenset(_DOCUMENT_NAMES)
_CONTENT_KEYS = frozenset(_CONTENT_NAMES)
_MUTABLE = ("creators", "subjects", "http_headers")    # the lists and objects of a checked body


def document_of(body: dict[str, Any]) -> DocumentIn:
    """The document a checked put BODY carries (``DocumentIn.from_dict``, without its per-call
    field introspection; lists and objects are copied so the entry's body stays untouched)."""
    values = {name: body[name] for name in _DOCUMENT_KEYS.intersection(body)}
    for name in _MUTABLE:
        if name in values:
            values[name] = values[name].copy()
    values["contents"] = [ContentIn(**{name: c[name] for name in _CONTENT_KEYS.intersection(c)})
                          for c in body.get("contents") or ()]
    return DocumentIn(**values)


def retract_body(collection: str, source_id: str, reason: str = "") -> dict[str, Any]:
    """The body of a ``retract`` entry."""
    return {"collection": collection, "source_id": source_id, "reason": reason}
