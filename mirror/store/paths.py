"""Content paths as people type them, after Kubo, browsers and gateways:

    bafy.../docs/a.pdf                      a CID and a path below it
    /ipfs/bafy.../docs/a.pdf                Kubo's path form
    ipfs://bafy.../docs/a%20b.pdf           the ipfs:// URL browsers use (percent-decoded)
    https://gw.example/ipfs/bafy.../a.pdf   a path-style gateway URL (percent-decoded)

``parse_content_path`` gives a ``ContentPath`` (the CID and the path below it, segments joined by
``/``, no empty or ``.`` segment); ``..`` is refused, as is ``/ipns/`` (names are not resolved
here). The store follows the path with ``ContentStore.resolve_path``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from mirror.errors import UsageError
from mirror.store.cid import CID

MAX_PATH = 4096


@dataclass(frozen=True)
class ContentPath:
    """A CID and the path below it (``""`` for the CID itself)."""

    cid: CID
    path: str = ""

    @property
    def name(self) -> str | None:
        """The last segment of the path (None for a bare CID)."""
        return self.path.rsplit("/", 1)[-1] if self.path else None

    def url_path(self) -> str:
        """``/ipfs/CID/path`` with each segment percent-encoded, for a gateway URL."""
        below = "".join("/" + quote(part, safe="") for part in self.path.split("/")) if self.path else ""
        return f"/ipfs/{self.cid}{below}"

    def __str__(self) -> str:
        return f"/ipfs/{self.cid}" + (f"/{self.path}" if self.path else "")


def parse_content_path(text: str) -> ContentPath:
    """The ``ContentPath`` TEXT names (see the module docstring); UsageError (InvalidCID for a bad
    CID) when it names none."""
    text = text.strip()
    if len(text) > MAX_PATH:
        raise UsageError(f"a content path is at most {MAX_PATH} characters")
    lowered = text.lower()
    if lowered.startswith(("ipfs://", "http://", "https://")):
        return _from_url(text)
    if lowered.startswith(("/ipns/", "ipns://")):
        raise UsageError(f"{text}: IPNS names are not resolved here", hint="name the content by its CID: /ipfs/CID")
    if text.startswith("/ipfs/"):
        text = text[len("/ipfs/"):]
    elif text.startswith("/"):
        raise UsageError(f"{text}: not a content path", hint="use CID, CID/path, /ipfs/CID/path or ipfs://CID/path")
    cid_text, _, below = text.partition("/")
    return ContentPath(CID.decode(cid_text), _clean(below, text))


def _from_url(text: str) -> ContentPath:
    parts = urlsplit(text)
    if parts.scheme.lower() == "ipfs":
        cid_text, below = parts.netloc, unquote(parts.path)
    else:
        _, marker, rest = parts.path.partition("/ipfs/")
        if not marker:
            raise UsageError(f"{text}: not a gateway URL (no /ipfs/ in its path)",
                             hint="use CID, CID/path, /ipfs/CID/path or ipfs://CID/path")
        cid_text, _, below = rest.partition("/")
        below = unquote(below)
    return ContentPath(CID.decode(cid_text), _clean(below, text))


def _clean(below: str, text: str) -> str:
    parts = [part for part in below.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UsageError(f"{text}: '..' is not allowed in a content path")
    if any("\0" in part for part in parts):
        raise UsageError(f"{text}: a content path cannot hold a NUL character")
    return "/".join(parts)
