"""Builders of records for the index tests (imported by the test modules beside this file)."""

from __future__ import annotations

import hashlib
from typing import Any

from indexer.records import ContentIn, DocumentIn


def content(data: bytes | str, **kw: Any) -> ContentIn:
    """A ContentIn for ``data`` with its real sha256 and a CID-shaped name derived from it."""
    raw = data.encode() if isinstance(data, str) else data
    sha = hashlib.sha256(raw).hexdigest()
    return ContentIn(**{"sha256": sha, "size": len(raw), "cid": "bafk" + sha[:40],
                        "profile": "unixfs-v1-2025", "media_type": "text/plain"} | kw)


def document(source_id: str, collection: str = "papers", **kw: Any) -> DocumentIn:
    return DocumentIn(**{"collection": collection, "source_id": source_id,
                         "title": f"Document {source_id}", "license": "CC-BY-4.0"} | kw)
