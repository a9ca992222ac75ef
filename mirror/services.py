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
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator

from indexer.index import Index
from mirror.binding import Claims
from mirror.feed.identity import Identity
from mirror.feed.local import LocalFeed
from mirror.held import HeldContents
from mirror.home import Home
from mirror.lock import WriteLock
from mirror.publication import Publication
from mirror.settings import Settings
from mirror.store import ContentStore, open_store


@dataclass(frozen=True)
class Services:
    """What an opened home offers: its settings, the node's key, the block store and the index."""

    home: Home
    settings: Settings
    identity: Identity
    store: ContentStore
    index: Index


@asynccontextmanager
async def open_home(home: Home, *, read_only: bool = False, alone: bool = False) -> AsyncIterator[Services]:
    """Open HOME's identity, store and index (see the module docstring); closes them on exit.

    A writable open holds the home's write lock shared (``mirror.lock.WriteLock``); ALONE holds it
    exclusively (``gc``), or raises ``HomeLocked`` while another process writes the home."""
    lock = None if read_only else await asyncio.to_thread(WriteLock.take, home, exclusive=alone)
    try:
        async with _opened(home, read_only) as services:
            yield services
    finally:
        if lock is not None:
            await asyncio.to_thread(lock.release)


@asynccontextmanager
async def _opened(home: Home, read_only: bool) -> AsyncIterator[Services]:
    identity = await asyncio.to_thread(Identity.load_or_create, home.key_file)
    store = await asyncio.to_thread(open_store, home)
    index = await Index.open(home.db_path, read_only=read_only)
    try:
        if not read_only:
            LocalFeed(identity).attach(index)
            Claims(identity).attach(index)
            HeldContents(store).attach(index)
            Publication(store).attach(index)
        yield Services(home, home.settings, identity, store, index)
    finally:
        await index.close()
