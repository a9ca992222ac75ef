"""Read snapshots of a home's index file for the node's own tables (feeds, peers, versions).

The ``Index`` facade reads documents; the node reads its tables through its own small pool of
read-only connections on the same file (WAL: readers never wait for the writer).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from indexer import feeds
from indexer.db import Database
from indexer.feeds import Head


class Reader:
    def __init__(self, path: Path) -> None:
        self._db = Database(Path(path))

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """One read-only snapshot: ``async with reader.read() as conn``."""
        return self._db.read()

    async def head(self, author: str) -> Head:
        async with self.read() as conn:
            return await feeds.get_head(conn, author)

    async def close(self) -> None:
        await self._db.dispose()
