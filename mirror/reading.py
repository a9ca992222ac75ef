"""Reads for one-shot commands (``openmirror search``, ``show CID``, ``stats``), as light as the
index file allows: a file at the code's schema revision is read through a bare sqlite3 connection
(``indexer.sqlite.BareReader``) in the calling thread, with no event loop, store, key or
SQLAlchemy; a missing or outdated file goes through ``mirror.services.open_home`` (which creates
or migrates it), in an event loop of its own.

    hits = search_now(home, SearchQuery("river"))
    hits = await search_home(home, SearchQuery("river"))      # the same, from a coroutine

Both ways read the same thing: the index offers each read on a bare reader and on ``Index``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable, TypeVar

from indexer.records import Hit, SearchQuery
from indexer.sqlite import BareReader
from mirror.home import Home

if TYPE_CHECKING:
    from indexer.index import Index

T = TypeVar("T")
Bare = Callable[[BareReader], T]
Full = Callable[["Index"], Awaitable[T]]


def read_now(home: Home, bare: Bare[T], full: Full[T]) -> T:
    """BARE on HOME's bare reader when the file is at the code's revision, else FULL on the
    index of a read-only ``open_home``, run to its end here (for code with no event loop)."""
    reader = BareReader.open(home.db_path)
    if reader is None:
        import asyncio                                   # only to create or migrate the file

        return asyncio.run(_full(home, full))
    try:
        return bare(reader)
    finally:
        reader.close()


async def read_home(home: Home, bare: Bare[T], full: Full[T]) -> T:
    """``read_now`` from a coroutine: the bare reader's work runs in a worker thread."""
    import asyncio

    reader = await asyncio.to_thread(BareReader.open, home.db_path)
    if reader is None:
        return await _full(home, full)
    try:
        return await asyncio.to_thread(bare, reader)
    finally:
        await asyncio.to_thread(reader.close)


async def _full(home: Home, full: Full[T]) -> T:
    from mirror.services import open_home

    async with open_home(home, read_only=True, identity=False) as services:
        return await full(services.index)


def search_now(home: Home, query: SearchQuery) -> list[Hit]:
    """``Index.search`` on HOME's index (``read_now``)."""
    return read_now(home, lambda reader: reader.search(query), lambda index: index.search(query))


async def search_home(home: Home, query: SearchQuery) -> list[Hit]:
    """``Index.search`` on HOME's index (``read_home``)."""
    return await read_home(home, lambda reader: reader.search(query), lambda index: index.search(query))
