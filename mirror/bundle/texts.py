"""Text for search of contents that came without it (entries never carry extracted text).

    stored = await extract_texts(index, store, home.staging_dir, contents)

For each content not yet holding text in the index, the file is streamed from the blockstore into
a staging file (contents larger than ``max_bytes`` are skipped), read by ``mirror.extract`` in a
worker thread, and the text stored with ``indexer.texts.add_texts`` in batches, re-indexing the
documents that link it. A file the extractor cannot read simply has no text, as at harvest time.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import Callable

from indexer import feeds
from indexer.index import Index
from indexer.records import ContentOut
from indexer.texts import add_texts, lacking_text
from mirror.errors import MirrorError
from mirror.extract import extract_text
from mirror.store import ContentStore
from mirror.store.cid import CID

BATCH = 200
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")
Counter = Callable[[int, int], None]


async def extract_texts(index: Index, store: ContentStore, staging: Path,
                        contents: list[ContentOut], *, max_bytes: int,
                        progress: Counter | None = None) -> int:
    """Extract and store the text of those CONTENTS that have none; returns how many got text."""
    async with index.read() as conn:
        ids = await feeds.content_ids(conn, [c.sha256 for c in contents])
        lacking = set(await lacking_text(conn, list(ids.values())))
    todo = [c for c in contents if ids.get(c.sha256.lower()) in lacking and c.size <= max_bytes]
    stored = 0
    for lo in range(0, len(todo), BATCH):
        found: dict[int, str] = {}
        for content in todo[lo:lo + BATCH]:
            text = await asyncio.to_thread(_extract, store, staging, content)
            if text:
                found[ids[content.sha256.lower()]] = text
        if found:
            async with index.transaction() as tx:
                stored += await add_texts(await tx.connection(), found)
        if progress is not None:
            progress(min(lo + BATCH, len(todo)), len(todo))
    return stored


def _extract(store: ContentStore, staging: Path, content: ContentOut) -> str | None:
    """The text of one stored content, read through a staging file (None when there is none)."""
    match = _SUFFIX.fullmatch(Path(content.name or "").suffix)
    staging.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="text-", suffix=match.group(0) if match else "", dir=staging)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in store.cat(CID.decode(content.cid)):
                out.write(part)
        return extract_text(Path(name), content.media_type)
    except MirrorError:
        return None          # not readable as a file here (a directory, a missing block)
    finally:
        os.unlink(name)
