"""A node that is what it says (issue 16 item 4), as real processes: one node per home (a lock
naming the running one, never blocked by a killed one), never an advertised 0.0.0.0, a status
that shows where the node really serves, and ``join`` refusing what is not an openmirror node."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.processes import run
from tests.processes import serve as serving
from tests.servers.local_app import FakeServer, running


async def status(home: Path) -> dict:
    code, out, err = await run(home, "status", "--json")
    assert code == 0, err
    return json.loads(out)


async def test_a_second_node_on_a_home_is_refused_naming_the_first(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serving(home, "--port", "0") as (first, ready):
        code, out, err = await run(home, "serve", "--port", "0")
        assert code == 3, err
        assert err.splitlines()[0] == (f"Error: another openmirror node serves on the home {home} "
                                       f"(process {first.pid}, serving on {ready['url']})")
        assert err.splitlines()[1].startswith(f"Hint: stop it first (Ctrl-C where it runs, or kill {first.pid})")
        assert "Traceback" not in err and out == ""
        code, _, err = await run(home, "join", "http://127.0.0.1:9", "--port", "0")
        assert code in (1, 3) and "Traceback" not in err          # refused either way, nothing served
        async with aiohttp.ClientSession() as http:              # the first one goes on serving
            async with http.get(ready["url"] + "/api/v1/status") as resp:
                assert resp.status == 200
        first.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(first.wait(), 15) == 0
    async with serving(home, "--port", "0") as (again, _):         # a clean stop let go of the lock
        again.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(again.wait(), 15) == 0


async def test_a_killed_node_leaves_no_lock_that_blocks(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serving(home, "--port", "0") as (first, _):
        first.kill()                                              # kill -9: no clean-up ran
        await first.wait()
    assert (home / "node.lock").exists()
    assert (await status(home))["serving"] is False
    async with serving(home, "--port", "0") as (second, ready):
        assert ready["url"].startswith("http://127.0.0.1:")
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 15) == 0


async def test_status_shows_where_the_running_node_really_serves(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with serving(home, "--port", "0") as (proc, ready):
        assert not ready["url"].endswith(":0")
        shown = await status(home)
        assert (shown["url"], shown["serving"], shown["pid"]) == (ready["url"], True, proc.pid)
        assert shown["provider_addrs"] == [f"/ip4/127.0.0.1/tcp/{ready['url'].rsplit(':', 1)[1]}/http"]
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    stopped = await status(home)
    assert stopped["serving"] is False and stopped["url"] == "http://127.0.0.1:8470"   # node.listen


async def test_a_wildcard_listen_address_is_never_advertised(tmp_path: Path) -> None:
    async with serving(tmp_path / "a", "--listen", "0.0.0.0:0") as (proc, ready):
        assert "0.0.0.0" not in json.dumps(ready) and ready["url"].startswith("http://")
        port = ready["url"].rsplit(":", 1)[1]
        shown = await status(tmp_path / "a")
        assert shown["url"] == ready["url"] and "0.0.0.0" not in json.dumps(shown["provider_addrs"])
        async with aiohttp.ClientSession() as http:             # it listens on every interface
            async with http.get(f"http://127.0.0.1:{port}/api/v1/status") as resp:
                served = await resp.json()
        assert served["url"] == ready["url"] and "0.0.0.0" not in json.dumps(served)
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 15)
        assert b"advertising " + ready["url"].encode() in await proc.stderr.read()   # said so


async def test_public_url_is_what_a_wildcard_node_advertises(tmp_path: Path) -> None:
    public = "https://mirror.example.org"
    async with serving(tmp_path / "b", "--listen", "0.0.0.0:0", "--public-url", public + "/") as (proc, ready):
        assert ready["url"] == public and ready["gateway"] == public + "/ipfs/"
        shown = await status(tmp_path / "b")
        assert shown["url"] == public and shown["provider_addrs"] == ["/dns/mirror.example.org/tcp/443/https"]
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 15)
    code, _, err = await run(tmp_path / "c", "serve", "--port", "0", "--public-url", "ftp://x")
    assert code == 2 and err.startswith("Error: not a peer URL") and "Traceback" not in err


class NotANode(FakeServer):
    """A web server that is no openmirror node: HTML at every path."""

    def __init__(self) -> None:
        super().__init__()
        self.app.router.add_get("/{tail:.*}", self.page)

    async def page(self, _request: web.Request) -> web.Response:
        return web.Response(text="<html><body>my blog</body></html>", content_type="text/html")


async def test_join_refuses_what_is_not_an_openmirror_node_and_keeps_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with running(NotANode()) as blog:
        url = blog.url
        for args in (("--once",), ("--port", "0")):
            code, out, err = await run(home, "join", url, *args)
            assert code == 1, err
            assert err.startswith(f"Error: {url} is not an openmirror node"), err
            assert "Traceback" not in err and "serving on" not in out
    code, _, err = await run(home, "join", "http://127.0.0.1:9", "--once")   # nothing listens there
    assert code == 1 and err.startswith("Error: cannot join http://127.0.0.1:9"), err
    code, out, err = await run(home, "peers", "--json")
    assert code == 0 and out == "", out                           # no peer was kept
