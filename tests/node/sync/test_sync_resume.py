"""`kill -9` in the middle of a large sync, then a rerun: nothing applied is lost or applied twice,
the cursor only ever stood where a commit left it, and the rerun resumes from there. The syncing
node is a real subprocess (``openmirror join URL --once``) pulling through a slow relay."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.node.node_helpers import nodes  # noqa: F401  (fixture)
from tests.node.node_helpers import NodeFactory, document, wait_for
from tests.servers.local_app import FakeServer

ROOT = Path(__file__).parents[3]
N = 3000
PAGE = 100


class SlowRelay(FakeServer):
    """Forwards /api/v1 to UPSTREAM; entry pages of at most PAGE entries, each a little late, so a
    sync of N entries takes a few seconds and can be killed in the middle."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream
        self.app.router.add_route("GET", "/api/v1/{tail:.*}", self.forward)

    async def forward(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        if request.path.endswith("/entries"):
            query["limit"] = str(min(int(query.get("limit", PAGE)), PAGE))
            await asyncio.sleep(0.05)
        async with aiohttp.ClientSession() as session:
            async with session.get(self.upstream + request.path, params=query) as resp:
                headers = {k: v for k, v in resp.headers.items()
                           if k in ("Content-Type", "X-Openmirror-Feed-Seq", "X-Openmirror-Feed-Head")}
                return web.Response(body=await resp.read(), status=resp.status, headers=headers)


def _join(home: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", "--home", str(home), "join", url, "--once", "--json"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}


def _cursor_and_documents(db: Path) -> tuple[int, int, int]:
    """(cursor seq, entries stored, live documents) as committed in the index file."""
    if not db.exists():
        return 0, 0, 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            seq = conn.execute("SELECT coalesce(max(seq), 0) FROM feeds").fetchone()[0]
            stored = conn.execute("SELECT count(*) FROM feed_entries").fetchone()[0]
            docs = conn.execute("SELECT count(*) FROM documents WHERE NOT deleted").fetchone()[0]
        except sqlite3.OperationalError:          # not migrated yet
            return 0, 0, 0
    return seq, stored, docs


async def test_kill_9_mid_sync_then_rerun_resumes_and_loses_nothing(nodes: NodeFactory) -> None:
    a = await nodes.start("a")
    for lo in range(0, N, 1000):
        await a.index.upsert_documents([document(i) for i in range(lo, lo + 1000)])
    relay = await SlowRelay(a.url).start()
    home = nodes.home("b").path
    db = home / "index.sqlite"
    try:
        proc = await asyncio.create_subprocess_exec(*_join(home, relay.url), cwd=ROOT, env=_env(),
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            await wait_for(lambda: _cursor_and_documents(db)[0] >= 500, timeout=60,
                           what="the joining node to commit some entries")
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        seq, stored, docs = _cursor_and_documents(db)
        assert 500 <= seq < N, "killed after the end: slow the relay down"
        assert stored == seq and docs == seq       # the cursor moved only with what it commits

        rerun = await asyncio.create_subprocess_exec(*_join(home, relay.url), cwd=ROOT, env=_env(),
                                                     stdout=asyncio.subprocess.PIPE,
                                                     stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(rerun.communicate(), 120)
        assert rerun.returncode == 0, err.decode()
        summary = json.loads(out)
        assert summary["entries"] == N - seq and summary["documents"] == N and summary["errors"] == {}
        assert _cursor_and_documents(db) == (N, N, N)
        # the rerun's requests follow its look at the node (each join checks /api/v1/feeds?limit=1
        # first); the killed process's last prefetches can reach the relay after the kill
        first = max(i for i, r in enumerate(relay.requests)
                    if r.path == "/api/v1/feeds" and r.query.get("limit") == "1")
        afters = [int(r.query["after"]) for r in relay.requests[first:] if r.path.endswith("/entries")]
        assert afters and min(afters) == seq         # resumed at the committed cursor, nothing again
        with sqlite3.connect(db) as conn:               # the full-text index matches the documents
            conn.execute("INSERT INTO documents_fts(documents_fts, rank) VALUES ('integrity-check', 1)")
            hits = conn.execute("SELECT count(*) FROM documents_fts WHERE documents_fts MATCH 'river'")
            assert hits.fetchone()[0] == N
    finally:
        await relay.close()
