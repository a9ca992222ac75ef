"""Attack: make a node explain a failure, and read where its files are (issue 12, item 9).

A peer or a client that can make a node fail (a damaged block it holds, a damaged index, a full
disk) must not learn local paths from the answer: every problem body the node sends for a damaged
root block is searched for its home folder (the damaged index and the full disk have their own
tests in tests/node/test_faults.py)."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp

from mirror.store.cid import CID
from tests.node.copies.copies_helpers import Swarm


async def test_a_damaged_block_is_reported_without_the_nodes_paths(swarm: Swarm, tmp_path: Path) -> None:
    holder = await swarm.start("holder")
    root = CID.decode((await holder.add(tmp_path, "paper.bin", os.urandom(40_000))).cid)
    path = holder.node.store.blocks.path_of(root)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    async with aiohttp.ClientSession() as session:
        for query in ("", "?format=raw", "?format=car&entity-bytes=0:100"):
            async with session.get(f"{holder.url}/ipfs/{root}{query}") as resp:
                body = (await resp.read()).decode("utf-8", "replace")
                assert resp.status >= 400 and "damaged" in body, (query, resp.status, body[:200])
                assert str(holder.node.home.path) not in body, (query, body[:300])
