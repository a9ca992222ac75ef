"""The documents of a content, named as people name it: a CID, a sha256, or a path below a
directory's CID (``CID/a/b``, ``/ipfs/CID/a/b``, ``ipfs://CID/a/b``; ``mirror.store.paths``).

    key, docs = await documents_of(home, "/ipfs/bafy.../notes/a.txt")   # ``openmirror show``
"""

from __future__ import annotations

import asyncio
import re

from indexer.records import DocumentOut
from mirror.home import Home
from mirror.services import open_home
from mirror.store.paths import parse_content_path

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


async def documents_of(home: Home, text: str) -> tuple[str, list[DocumentOut]]:
    """(the CID or sha256 looked up, the documents listing it); a path is followed in the local
    store first (PathNotFound, BlockNotFound when it cannot be)."""
    text = text.strip()
    async with open_home(home, read_only=True, identity=False) as services:
        key = text
        if "/" in text and not _SHA256.fullmatch(text):       # a path: CID/a, /ipfs/CID/a, ipfs://CID/a
            target = parse_content_path(text)
            key = str(await asyncio.to_thread(services.store.resolve_path, target))
        return key, await services.index.find_by_cid(key, include_private=True)
