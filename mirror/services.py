"""The composition root: the one place a node home is opened and wired.

    async with open_home(home) as services:          # identity, store, index: hooks attached
        await services.index.upsert_document(doc)    # the document and its signed entry commit together
    async with open_home(home, read_only=True) as services:
        hits = await services.index.search(query)     # any write raises ``ReadOnlyIndex``

Every command and library entry point that opens a home goes through ``open_home``; nothing else
constructs an ``Index``. A writable index always carries, in this order:

1. the signed-feed hook (``mirror.feed.local.LocalFeed``): every local change becomes one signed
   entry in the same transaction;
2. the claims hook (``mirror.binding.Claims``): the files of every stored or updated document are
   recorded as their author's claims in the same transaction; this node's own writes name bytes
   it hashed, so theirs are verified bindings at once;
3. the held-content hook (``mirror.held.HeldContents``): the contents of every stored or updated
   document, local or merged from a peer, are marked held or not in the same transaction (held
   means: bound to a verified CID whose every block is here).
4. the publication hook (``mirror.publication.Publication``): a local document the open-licence
   gate refuses is marked private (the feed hook signs nothing of it), and the blocks the gateway
   must not serve are recorded, in the same transaction.

So an index that writes unsigned changes cannot be opened by accident: an open is either wired, or
read-only and refuses writes. Closing the context closes the index (every connection it opened).

A read-only open does only what reading needs: no hooks (nor their modules) are loaded, and with
``identity=False`` (``search``, ``show``: commands that never name the node) neither is the key,
nor the cryptography library that reads it; ``services.identity`` then raises.

The lightest read of all (``openmirror search``, ``show CID``, ``stats``) is ``mirror.reading``:
an index at the code's schema revision read through a bare sqlite3 connection, without an event
loop, the store, the key or SQLAlchemy; any other index goes through ``open_home``.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, AsyncIterator

from mirror.home import Home
from mirror.lock import WriteLock
from mirror.settings import Settings


if TYPE_CHECKING:             # each loads when an open needs it (the bare reader needs none)
    from indexer.index import Index
    from mirror.feed.identity import Identity
    from mirror.store import ContentStore


@dataclass(frozen=True)
class Services:
    """What an opened home offers: its settings, the node's key, the block store and the index."""

    home: Home
    settings: Settings
    loaded_identity: "Identity | None" = field(repr=False)
    store: "ContentStore"
    index: "Index"

    @property
    def identity(self) -> "Identity":
        """The node's key (``RuntimeError`` when the home was opened with ``identity=False``)."""
        if self.loaded_identity is None:
            raise RuntimeError("this home was opened without its identity (open_home(identity=False))")
        return self.loaded_identity


@asynccontextmanager
async def open_home(home: Home, *, read_only: bool = False, identity: bool = True,
                    alone: bool = False) -> AsyncIterator[Services]:
    """Open HOME's identity, store and index (see the module docstring); closes them on exit.
    IDENTITY=False (read-only opens only) leaves the key unread.

    A writable open holds the home's write lock shared (``mirror.lock.WriteLock``); ALONE holds it
    exclusively (``gc``), or raises ``HomeLocked`` while another process writes the home."""
    if not (identity or read_only):
        raise ValueError("a writable home signs its changes: it needs its identity")
    lock = None if read_only else await asyncio.to_thread(WriteLock.take, home, exclusive=alone)
    try:
        async with _opened(home, read_only, identity) as services:
            yield services
    finally:
        if lock is not None:
            await asyncio.to_thread(lock.release)


@asynccontextmanager
async def _opened(home: Home, read_only: bool, identity: bool) -> AsyncIterator[Services]:
    key = await asyncio.to_thread(_load_identity, home) if identity else None
    store = await asyncio.to_thread(_open_store, home)
    index = await (await asyncio.to_thread(_index_class)).open(home.db_path, read_only=read_only)
    try:
        if not read_only:
            assert key is not None
            _wire(index, key, store)
        yield Services(home, home.settings, key, store, index)
    finally:
        await index.close()


# The loaders below import their module in a worker thread, as they read files: loading a module
# is file work too, kept off the event loop.

def _index_class() -> "type[Index]":
    from indexer.index import Index

    return Index


def _open_store(home: Home) -> "ContentStore":
    from mirror.store import open_store

    return open_store(home)


def _load_identity(home: Home) -> "Identity":
    from mirror.feed.identity import Identity

    return Identity.load_or_create(home.key_file)


def _wire(index: "Index", identity: "Identity", store: "ContentStore") -> None:
    """Attach the hooks of a writable index, in the order the module docstring gives."""
    from mirror.binding import Claims
    from mirror.feed.local import LocalFeed
    from mirror.held import HeldContents
    from mirror.publication import Publication

    LocalFeed(identity).attach(index)
    Claims(identity).attach(index)
    HeldContents(store).attach(index)
    Publication(store).attach(index)

