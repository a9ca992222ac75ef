"""Local pins, as Kubo's ``ipfs pin add``: a pinned root is kept by ``gc`` and served by the
gateway whatever documents say (``mirror.publication``); it must be wholly held here
(``openmirror get`` fetches it first).

    name, added = await pin(home, "bafy...")
    await unpin(home, "bafy...")
    await list_pins(home)
"""

from __future__ import annotations

import asyncio

from indexer import publication as rows
from indexer.clock import stamp_time
from indexer.index import Index
from mirror.errors import NotFound
from mirror.home import Home
from mirror.publication import cid_texts, record_unpublished
from mirror.services import open_home
from mirror.store.cid import CID


async def pin(home: Home, text: str) -> tuple[str, bool]:
    """Pin the root TEXT names (wholly held here); (its CID, whether it was new)."""
    cid = CID.decode(text)
    async with open_home(home) as services:
        if not await asyncio.to_thread(services.store.has_all, cid):
            raise NotFound(f"{cid} is not wholly held here", hint=f"fetch it first: openmirror get {cid}")
        name = await _stored_name(services.index, cid)
        async with services.index.transaction() as tx:
            conn = await tx.connection()
            added = await rows.add_pin(conn, name, cid.multihash, stamp_time())
            await rows.forget_roots(conn, cid_texts(cid))
    return name, added


async def unpin(home: Home, text: str) -> str:
    """Drop the local pin of TEXT (``NotFound`` when it is not pinned); the gateway stops serving
    it unless a published document lists it, and ``gc`` may reclaim it."""
    cid = CID.decode(text)
    async with open_home(home) as services:
        name = await _stored_name(services.index, cid)
        async with services.index.transaction() as tx:
            if not await rows.remove_pin(await tx.connection(), name):
                raise NotFound(f"{cid} is not pinned here", hint="list the pins with: openmirror pin ls")
            await record_unpublished(tx, services.store, [name])
    return name


async def list_pins(home: Home) -> list[dict[str, str]]:
    async with open_home(home, read_only=True) as services:
        async with services.index.read() as conn:
            return [{"cid": c, "pinned_at": t} for c, t in await rows.pin_rows(conn)]


async def _stored_name(index: Index, cid: CID) -> str:
    """How the index writes CID: as a content's root if one is (v0 or v1), else canonically."""
    for text in cid_texts(cid):
        if await index.get_content(text) is not None:
            return text
    return str(cid)
