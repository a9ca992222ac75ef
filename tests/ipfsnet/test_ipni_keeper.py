"""The IPNI keeper walks what is held and what is advertised side by side, a page at a time, and
leaves the chain saying exactly what the node holds, whatever the page and batch sizes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import pytest

from indexer import copies
from indexer.records import ContentIn, DocumentIn
from mirror.held import refresh
from mirror.home import Home
from mirror.node.ipni import keeper as keeper_module
from mirror.node.ipni.keeper import IpniKeeper
from mirror.services import Services, open_home
from mirror.store.cid import CID
from tests.node.holder_server import SMALL


async def _add(services: Services, tmp: Path, i: int) -> ContentIn:
    path = tmp / f"f{i}.bin"
    path.write_bytes(os.urandom(3000 + i))
    result = await asyncio.to_thread(services.store.add_file, path, SMALL)
    content = ContentIn(sha256=result.sha256, size=result.size, cid=str(result.cid), profile=result.profile)
    await services.index.upsert_document(DocumentIn(collection="c", source_id=f"d{i}", title=f"d{i}",
                                                    license="CC0-1.0", contents=[content]))
    return content


async def _held(services: Services) -> set[str]:
    async with services.index.read() as conn:
        return {sha for sha, _ in await copies.held_contents(conn)}


@pytest.mark.parametrize(("page", "batch"), [(5, 3), (1, 1), (5000, 1000)])
async def test_the_chain_follows_what_is_held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              page: int, batch: int) -> None:
    monkeypatch.setattr(keeper_module, "PAGE", page)
    monkeypatch.setattr(keeper_module, "BATCH", batch)
    async with open_home(Home.open(tmp_path / "home")) as services, aiohttp.ClientSession() as session:
        keeper = await IpniKeeper.open(tmp_path / "ipni", services.identity, services.index, services.store,
                                       session, indexers=[], url=lambda: "http://127.0.0.1:8470")
        contents = [await _add(services, tmp_path, i) for i in range(12)]
        assert await keeper.reconcile() == 12
        assert await keeper.publisher.chain_keys() == await _held(services) == {c.sha256 for c in contents}
        for content in contents[:4]:                       # four dropped ...
            await asyncio.to_thread(services.store.blocks.delete, CID.decode(content.cid))
        await refresh(services.index, services.store, [c.sha256 for c in contents[:4]])
        contents += [await _add(services, tmp_path, i) for i in (20, 21)]   # ... two new
        assert await keeper.reconcile() == 6
        assert await keeper.publisher.chain_keys() == await _held(services) == {c.sha256 for c in contents[4:]}
        assert await keeper.reconcile() == 0                                # nothing twice
        await keeper.close()
