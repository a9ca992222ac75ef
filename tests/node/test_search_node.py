"""``openmirror search`` as sqlite-utils and datasette users expect it (issue 16 item 5): ``--offset``,
``--format table|json|csv``, and ``--node URL`` asking a remote node's ``/api/v1/search``, whose
answer is hostile input (bounded, checked field by field, never followed elsewhere). The commands
run as real processes; the remote nodes are a real node and an attacker's server on loopback."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from indexer.records import SearchQuery
from mirror.errors import PeerError
from mirror.node.search_client import MAX_RESPONSE, parse_hits
from tests.node.node_helpers import NodeFactory, document, nodes  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]


async def run(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "cli.main", *args, cwd=ROOT,
                                                env=env | {"PYTHONPATH": str(ROOT)},
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def hit(i: int, **fields: Any) -> dict[str, Any]:
    return {"cid": None, "sha256": None, "title": f"t{i}", "creators": ["Ada"], "license": "CC0-1.0",
            "license_url": None, "source_url": None, "collection": "c", "media_type": None, "size": 1,
            "date": None, "score": 1.0, "snippet": "", **fields}


async def test_offset_format_and_a_remote_node_agree(nodes: NodeFactory, tmp_path: Path) -> None:  # noqa: F811
    node = await nodes.start("a", rate_limit=0)
    await node.index.upsert_documents([document(i, title=f"River survey {i}") for i in range(130)])
    home = nodes.home("local").path
    await node.index.search(SearchQuery("river"))
    code, out, err = await run("--home", str(node.home.path), "search", "river", "--limit", "130", "--json")
    assert code == 0, err
    local = [json.loads(line) for line in out.splitlines()]
    assert len(local) == 130
    code, out, err = await run("--home", str(home), "search", "river", "--node", node.url, "--limit", "130",
                               "--format", "json")
    assert code == 0, err
    remote = [json.loads(line) for line in out.splitlines()]            # two pages: 100 + 30
    assert [h["sha256"] for h in remote] == [h["sha256"] for h in local]
    code, out, err = await run("--home", str(home), "search", "river", "--node", node.url, "--offset", "120",
                               "--json")
    assert [json.loads(line)["sha256"] for line in out.splitlines()] == [h["sha256"] for h in local[120:]]
    code, out, err = await run("--home", str(node.home.path), "search", "river", "--offset", "10", "--limit",
                               "5", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["sha256"] for r in rows] == [h["sha256"] for h in local[10:15]]
    assert rows[0]["creators"] == "Ada" and "score" in rows[0] and "snippet" in rows[0]
    code, out, err = await run("--home", str(node.home.path), "search", "river", "--limit", "2", "--format",
                               "table")
    lines = out.splitlines()
    assert code == 0 and "title" in lines[1] and "River survey" in out and len(lines) > 4   # a table, piped


async def serve(routes: dict[str, Any]) -> tuple[web.AppRunner, str]:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_a_hostile_node_answer_is_bounded_checked_and_printed_harmlessly(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    mode: dict[str, str] = {}
    followed: list[str] = []

    async def search(request: web.Request) -> web.StreamResponse:
        kind = mode["kind"]
        if kind == "endless":
            resp = web.StreamResponse()
            await resp.prepare(request)
            try:
                for _ in range(10_000):                  # 640 MB if nobody stopped reading
                    await resp.write(b"[" + b" " * 65535)
            except ConnectionResetError:
                pass                                     # the client stopped reading: as it should
            return resp
        if kind == "redirect":
            raise web.HTTPFound("/elsewhere")
        if kind == "refused":
            return web.json_response({"error": {"code": "bad", "message": "no \x1b[31mred\x1b[0m here"}},
                                     status=400)
        bodies = {"not-json": b"<html>", "too-many": json.dumps([hit(i) for i in range(30)]).encode(),
                  "bad-size": json.dumps([hit(0, size="12")]).encode(),
                  "evil-text": json.dumps([hit(0, title="x\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\\nFAKE",
                                               collection="[link=http://evil]c[/link]")]).encode()}
        return web.Response(body=bodies[kind], content_type="application/json")

    async def elsewhere(request: web.Request) -> web.Response:
        followed.append(request.path)
        return web.json_response([])

    runner, url = await serve({"/api/v1/search": search, "/elsewhere": elsewhere})
    try:
        expected = {"endless": f"the answer passed the {MAX_RESPONSE} byte limit",
                    "redirect": "redirects elsewhere (302)", "refused": "refused the search: no \ufffd[31mred",
                    "not-json": "the search answer is not JSON",
                    "too-many": "not a list of at most 20 results", "bad-size": "a malformed 'size'"}
        for kind, words in expected.items():
            mode["kind"] = kind
            began = time.monotonic()
            code, out, err = await run("--home", home, "search", "x", "--node", url)
            assert code == 1 and out == "", (kind, out, err)
            assert err.startswith("Error: ") and words in err and "Traceback" not in err, (kind, err)
            assert "\x1b" not in err and time.monotonic() - began < 20
        assert followed == []
        mode["kind"] = "evil-text"
        for fmt in ("table", "csv"):
            code, out, err = await run("--home", home, "search", "x", "--node", url, "--format", fmt)
            assert code == 0 and "\x1b" not in out and "FAKE" in out and "\nFAKE" not in out, (fmt, out)
        code, out, err = await run("--home", home, "search", "x", "--node", url)
        assert code == 0 and out.count("\n") == 1 and "[link=http://evil]c[/link]" in out   # shown as text
    finally:
        await runner.cleanup()


def test_malformed_answers_are_refused_field_by_field() -> None:
    base = "http://node.example"
    assert parse_hits(base, json.dumps([hit(1)]).encode(), 20)[0].title == "t1"
    for bad in ([hit(0, creators="Ada")], [hit(0, score=float("inf"))], [hit(0, title=["x"])],
                [hit(0, title="x" * 20_000)], [hit(0, size=-1)], [hit(0, size=True)], ["not an object"],
                {"hits": []}):
        with pytest.raises(PeerError):
            parse_hits(base, json.dumps(bad).encode(), 20)


async def test_an_unreachable_node_is_named_plainly(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = await run("--home", str(tmp_path / "h"), "search", "x", "--node", f"http://127.0.0.1:{port}")
    lines = err.splitlines()
    assert code == 1 and len(lines) == 4, err
    assert lines[0].startswith(f"WARNING mirror.node.search_client: cannot reach 127.0.0.1:{port}: "
                               "connection refused; trying again in ")
    assert lines[2:] == [f"Error: cannot reach 127.0.0.1:{port}: connection refused",
                         "Hint: check the URL, and that the node is running"]
    code, _, err = await run("--home", str(tmp_path / "h"), "search", "x", "--node", "http://nowhere.invalid")
    assert code == 1 and err.splitlines()[0] == ("Error: cannot reach nowhere.invalid: no such host (the "
                                                 "name does not resolve)")
