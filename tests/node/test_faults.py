"""The node's own environment fails: its disk fills up during a sync (a real small tmpfs,
``tests.smalldisk``), or its index file is damaged. Real nodes on 127.0.0.1, real SQLite files."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from indexer.index import Index
from indexer.records import DocumentIn
from mirror.node.app import Node
from mirror.node.faults import fault_middleware
from mirror.node.http import SECURITY_HEADERS, add_renderer, json_problem, problem_middleware
from tests.node.node_helpers import NodeFactory, count, nodes, wait_for  # noqa: F401  (fixture)
from tests.smalldisk import SmallDisk, small_disk  # noqa: F401  (fixture)

DOCS = 1500


async def publish(node: Node, count_: int) -> None:
    """COUNT_ documents of ~1 KB each, signed by NODE."""
    await node.index.upsert_documents([
        DocumentIn(collection="surveys", source_id=f"s{i}", title=f"River survey {i}",
                   description="measured by boat " * 60, license="CC0-1.0") for i in range(count_)])


async def test_a_sync_that_fills_the_disk_is_retried_once_space_is_back(
        nodes: NodeFactory, small_disk: SmallDisk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    origin = await nodes.start("origin")
    await publish(origin, DOCS)
    victim = await NodeFactory(small_disk.path).start("victim", sync_interval=0.3)
    nodes.nodes.append(victim)
    small_disk.fill(leave=600 << 10)
    await victim.add_peer(origin.url)
    await wait_for(lambda: "the disk is full" in caplog.text, timeout=60, what="the sync to fail")
    assert await count(victim) < DOCS
    peer = await victim.book.get(origin.url)
    assert peer is not None and peer.failures == 0         # our disk is not the peer's fault
    assert not [r for r in caplog.records if r.exc_info]     # one line each, no traceback
    small_disk.grow(64 << 20)                                 # space is back
    await wait_for(lambda: _count_is(victim, DOCS), timeout=120, what="the sync to resume")
    assert victim.index.checkpoints >= 1                      # the write-ahead log was checkpointed
    assert "write-ahead log was checkpointed" in caplog.text


async def _count_is(node: Node, expected: int) -> bool:
    return await count(node) == expected


# -- a damaged index ---------------------------------------------------------------------------

async def damaged_home(nodes: NodeFactory, table: str = "documents") -> Node:
    """A home whose TABLE's root page is overwritten (the schema is intact)."""
    node = await nodes.start("damaged")
    await publish(node, 300)
    await nodes.stop(node)
    path = node.home.db_path
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xa5" * page_size)
    return node


async def run_cli(home: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "python", "-m", "cli.main", "--home", str(home), *args, cwd=Path(__file__).parents[2],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode() + err.decode()


@pytest.mark.parametrize("table", ["documents", "documents_fts_data"])
async def test_a_damaged_index_makes_status_check_and_verify_exit_4(nodes: NodeFactory, table: str) -> None:
    """``status --check`` reads every page of the file first (a plain ``status`` reads only what
    it reports: quick to start on a large index); ``verify`` checks everything."""
    node = await damaged_home(nodes, table)
    for args in (["status", "--check"], ["verify"]):
        code, output = await run_cli(node.home.path, *args)
        assert code == 4, (args, output)
        assert "damaged" in output and "Traceback" not in output


ROUTES = ["/api/v1/status", "/api/v1/feeds", "/", "/search?q=river", "/oai?verb=Identify",
          "/ipfs/bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba", "/nothing-here"]


async def test_a_damaged_index_makes_every_route_answer_503(nodes: NodeFactory) -> None:
    node = await damaged_home(nodes)
    restarted = Node(node.home, listen="127.0.0.1:0", rate_limit=0)
    nodes.nodes.append(restarted)
    await restarted.start()
    await wait_for(lambda: restarted.index.damage is not None, what="the check at start")
    async with aiohttp.ClientSession() as session:
        for route in ROUTES:
            async with session.get(restarted.url + route) as resp:
                body = await resp.text()
                assert resp.status == 503, (route, resp.status, body[:200])
                assert "damaged" in body and str(node.home.path) not in body, route
                if not route.startswith("/ipfs/"):
                    assert all(resp.headers.get(h) == v for h, v in SECURITY_HEADERS.items()), route


# -- a full disk under a request ---------------------------------------------------------------

async def test_a_request_that_meets_a_full_disk_gets_a_503_problem(tmp_path: Path) -> None:
    """A real server with the node's problem family and fault middleware; the handler's write
    fails as a full disk makes it fail (ENOSPC, naming a local file)."""
    async def write(request: web.Request) -> web.Response:
        raise OSError(28, "No space left on device", str(tmp_path / "secret-name.bin"))

    index = await Index.open(tmp_path / "index.sqlite")
    app = web.Application(middlewares=[problem_middleware, fault_middleware(index)])
    add_renderer(app, "/api/", json_problem)
    app.router.add_post("/api/v1/things", write)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{port}/api/v1/things") as resp:
                body = await resp.json()
                assert resp.status == 503 and resp.headers["Retry-After"] == "60"
                assert body["error"]["code"] == "disk_full" and str(tmp_path) not in str(body)
    finally:
        await runner.cleanup()
        await index.close()
