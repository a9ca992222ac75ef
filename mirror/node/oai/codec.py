"""The OAI-PMH provider's wire values: identifiers, setSpecs, datestamps and resumption tokens.

Identifiers are ``oai:{host}:{collection}:{source_id}`` with the node's host name (from its URL),
the collection percent-encoded completely (so it holds no ``:``) and the source id percent-encoded
except for the characters the oai-identifier scheme allows; ``parse_identifier`` inverts it.

A setSpec is the collection name, with every character outside the setSpec alphabet (letters,
digits and ``-_.!*'()``) written ``~XX`` (UTF-8 bytes in hex; ``~`` itself is ``~7E``).

Datestamps have second granularity (``YYYY-MM-DDThh:mm:ssZ``); ``from``/``until`` also accept
``YYYY-MM-DD``. The index stores ``updated_at`` with milliseconds; ``bounds`` turns the
arguments into the half-open range ``[since, until)`` of such strings (``until`` is inclusive at
its own granularity, so ``until=2025-01-02`` keeps the whole day).

Resumption tokens are stateless: a token is the list's position and arguments (``ListState``),
as compact JSON, with an HMAC-SHA256 tag under a key derived from the node's identity, in
base64url. Any token not made by this node (forged, altered, truncated, from another node) fails
``TokenCodec.decode`` with ``BadToken``. A list is frozen at its first request: ``until`` is
then at most that moment, so ``completeListSize`` holds while the harvester pages through.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, unquote

TOKEN_VERSION = 1
MAX_TOKEN = 4096                   # characters of a token we even try to read
_TAG_BYTES = 16
_KEY_LABEL = b"openmirror oai-pmh resumption tokens v1"
_ID_SAFE = "/?@&=+$,;!~*'()._-"    # oai-identifier local part, besides letters and digits
_SET_CHAR = re.compile(r"[A-Za-z0-9\-_.!*'()]")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class BadToken(ValueError):
    """A resumption token this node did not issue, or cannot read."""


class BadDate(ValueError):
    """A ``from``/``until`` value that is not an OAI-PMH datestamp of a supported granularity."""


# -- identifiers and sets ------------------------------------------------------------------------

def make_identifier(host: str, collection: str, source_id: str) -> str:
    return f"oai:{host}:{quote(collection, safe='')}:{quote(source_id, safe=_ID_SAFE)}"


def parse_identifier(host: str, identifier: str) -> tuple[str, str] | None:
    """(collection, source id) of one of our identifiers; None for anything else."""
    prefix = f"oai:{host}:"
    if not identifier.startswith(prefix):
        return None
    collection, sep, source_id = identifier[len(prefix):].partition(":")
    if not sep or not collection or not source_id:
        return None
    try:
        return unquote(collection, errors="strict"), unquote(source_id, errors="strict")
    except UnicodeDecodeError:
        return None


def set_spec(collection: str) -> str:
    return "".join(c if _SET_CHAR.fullmatch(c) else
                   "".join(f"~{b:02X}" for b in c.encode("utf-8")) for c in collection)


def set_collection(spec: str) -> str | None:
    """The collection of a setSpec; None when SPEC is not one ``set_spec`` can produce."""
    out, i = bytearray(), 0
    while i < len(spec):
        if spec[i] == "~":
            try:
                out.append(int(spec[i + 1:i + 3], 16))
            except ValueError:
                return None
            i += 3
        elif _SET_CHAR.fullmatch(spec[i]):
            out += spec[i].encode("ascii")
            i += 1
        else:
            return None
    try:
        name = out.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return name if set_spec(name) == spec else None


# -- datestamps ----------------------------------------------------------------------------------

def datestamp(updated_at: str) -> str:
    """An index time (``2025-01-02T03:04:05.678Z``) at second granularity."""
    return updated_at[:19] + "Z"


def _parse(value: str) -> tuple[datetime, timedelta]:
    """The instant of a datestamp and its granularity step; ``BadDate`` when malformed."""
    try:
        if _DAY.fullmatch(value):
            return datetime.strptime(value, "%Y-%m-%d"), timedelta(days=1)
        if _SECOND.fullmatch(value):
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ"), timedelta(seconds=1)
    except ValueError:
        pass
    raise BadDate(f"{value[:40]!r} is not a datestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)")


def _ms(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def bounds(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """``from``/``until`` arguments as the index range ``[since, until)``; ``BadDate`` when
    malformed, of different granularities, or ``from`` after ``until``."""
    start = _parse(since) if since is not None else None
    end = _parse(until) if until is not None else None
    if start and end:
        if start[1] != end[1]:
            raise BadDate("from and until must have the same granularity")
        if start[0] > end[0]:
            raise BadDate("from is after until")
    try:
        last = _ms(end[0] + end[1]) if end else None
    except OverflowError:          # until=9999-12-31: no upper bound
        last = None
    return _ms(start[0]) if start else None, last


# -- resumption tokens ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ListState:
    """Where a list stands: its verb and arguments, the last item sent, and counts."""

    verb: str                      # "ListRecords" | "ListIdentifiers"
    prefix: str                    # metadataPrefix
    collection: str | None         # the set, as a collection name
    since: str | None              # index range [since, until)
    until: str
    after_time: str                # (updated_at, id) of the last item sent
    after_id: int
    cursor: int                    # items sent before the next response
    total: int                     # completeListSize


class TokenCodec:
    """Issues and checks resumption tokens under one node's key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def for_identity(cls, identity: object) -> "TokenCodec":
        """A codec keyed by the node's identity, so tokens survive a restart of the node."""
        signature = identity.sign(_KEY_LABEL)  # type: ignore[attr-defined]
        return cls(hashlib.sha256(signature).digest())

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, state: ListState) -> str:
        body = json.dumps([TOKEN_VERSION, *astuple(state)], separators=(",", ":"),
                          ensure_ascii=True).encode("ascii")
        return base64.urlsafe_b64encode(self._tag(body) + body).decode("ascii").rstrip("=")

    def decode(self, token: str) -> ListState:
        if not token or len(token) > MAX_TOKEN:
            raise BadToken("the resumption token is empty or too long")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise BadToken("the resumption token is not one this node issued") from None
        tag, body = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
        if len(tag) != _TAG_BYTES or not hmac.compare_digest(tag, self._tag(body)):
            raise BadToken("the resumption token is not one this node issued")
        try:
            version, *values = json.loads(body)
            state = ListState(*values)
        except (ValueError, TypeError):
            raise BadToken("the resumption token cannot be read") from None
        if version != TOKEN_VERSION:
            raise BadToken("the resumption token is from another version of this node")
        return state
