"""What a fetch returns: a ``Page`` in memory, a ``FetchedFile`` (in staging, or in memory when small),
or a ``Skipped`` outcome.

``Skipped`` is an outcome, not an error: ``gone`` (404/410) or ``robots`` (robots.txt disallows the
URL; nothing was requested). Failures raise ``mirror.errors.FetchError`` subclasses instead.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from mirror.errors import BadResponse


def flat_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A plain dict of response headers (repeated headers joined with ``, ``), for provenance."""
    flat: dict[str, str] = {}
    for key, value in headers.items():
        flat[key] = f"{flat[key]}, {value}" if key in flat else value
    return flat


def media_type(headers: Mapping[str, str]) -> str | None:
    """The Content-Type without parameters, lower-cased; ``None`` when absent."""
    value = headers.get("Content-Type", "").split(";")[0].strip().lower()
    return value or None


_CHARSET_HEADER = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_CHARSET_META = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_CHARSET_XML = re.compile(rb"<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def charset(headers: Mapping[str, str], body: bytes) -> str:
    """The body's character set: BOM, then Content-Type, then ``<meta>``/XML declaration, else utf-8."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    m = _CHARSET_HEADER.search(headers.get("Content-Type", ""))
    found = m.group(1) if m else None
    if found is None:
        head = body[:4096]
        m2 = _CHARSET_META.search(head) or _CHARSET_XML.search(head)
        found = m2.group(1).decode("ascii", "replace") if m2 else None
    try:
        return codecs.lookup(found).name if found else "utf-8"
    except LookupError:
        return "utf-8"


@dataclass
class Page:
    """A small body held in memory (HTML page, API JSON, OAI-PMH XML, sitemap, robots.txt)."""

    url: str                      # as requested
    final_url: str                # after redirects
    status: int
    headers: Mapping[str, str]    # case-insensitive, repeated headers kept (CIMultiDictProxy)
    body: bytes                   # decoded (Content-Encoding undone)
    fetched_at: str               # ISO 8601 UTC

    def text(self) -> str:
        """The body decoded with its declared charset; undecodable bytes become U+FFFD."""
        return self.body.decode(charset(self.headers, self.body), errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; ``BadResponse`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError) as exc:
            raise BadResponse(f"{self.final_url}: the response is not JSON ({exc})") from exc


@dataclass
class FetchedFile:
    """A body streamed to a staging file while hashing, or (small, when the caller allowed it) held
    in memory, or (with a writer) given to it as it arrived: exactly one of ``path``, ``body`` and
    ``written`` is set. The caller owns (and removes) ``path``, and owns what ``written`` holds."""

    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]
    path: Path | None
    sha256: str | None            # hex digest of the decoded bytes (None: not asked for)
    size: int
    media_type: str | None
    fetched_at: str
    body: bytes | None = None
    written: object = None        # what the ``BodyWriter`` made of the body (fetch_file's into)


@dataclass
class Skipped:
    """A fetch that ended as an outcome: ``gone`` (404/410) or ``robots`` (disallowed, not requested)."""

    url: str
    reason: str
    status: int | None = None


@dataclass
class HostStats:
    requests: int = 0
    bytes: int = 0
    retries: int = 0
    errors: int = 0


@dataclass
class FetchStats:
    """Counters for the run's summary: requests sent, decoded bytes received, retries, failures,
    connections refused by the address policy."""

    requests: int = 0
    bytes: int = 0
    retries: int = 0
    errors: int = 0
    gone: int = 0
    robots: int = 0
    refused: int = 0              # connections the address policy refused (mirror.fetch.guard)
    hosts: dict[str, HostStats] = field(default_factory=dict)

    def host(self, key: str) -> HostStats:
        return self.hosts.setdefault(key, HostStats())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
