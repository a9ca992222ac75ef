"""The documents of a content, named as people name it: a CID, a sha256, or a path below a
directory's CID (``CID/a/b``, ``/ipfs/CID/a/b``, ``ipfs://CID/a/b``; ``mirror.store.paths``).

    key, docs = documents_of(home, "/ipfs/bafy.../notes/a.txt")      # ``openmirror show``
"""

from __future__ import annotations

import re

from indexer.records import DocumentOut
from mirror.home import Home
from mirror.reading import read_now

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def documents_of(home: Home, text: str) -> tuple[str, list[DocumentOut]]:
    """(the CID or sha256 looked up, the documents listing it); a path is followed in the local
    store first (PathNotFound, BlockNotFound when it cannot be). Runs its own event loop when it
    needs one (a path, or an index to create or migrate): call it from synchronous code."""
    text = text.strip()
    if "/" not in text or _SHA256.fullmatch(text):                 # a CID or a sha256: no store needed
        return text, read_now(home, lambda reader: reader.find_by_cid(text, include_private=True),
                              lambda index: index.find_by_cid(text, include_private=True))
    import asyncio

    return asyncio.run(_by_path(home, text))


async def _by_path(home: Home, text: str) -> tuple[str, list[DocumentOut]]:
    import asyncio

    from mirror.services import open_home
    from mirror.store.paths import parse_content_path

    async with open_home(home, read_only=True, identity=False) as services:
        target = parse_content_path(text)                           # CID/a, /ipfs/CID/a, ipfs://CID/a
        key = str(await asyncio.to_thread(services.store.resolve_path, target))
        return key, await services.index.find_by_cid(key, include_private=True)
