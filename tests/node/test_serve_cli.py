"""``openmirror serve`` as a newcomer starts it (issue 16 items 5 and 8): ``--port`` like other
servers, and a ready line that names the search page, ``/oai``, ``/ipfs/`` and the JSON API, each
of which answers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import aiohttp

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    return env | {"PYTHONPATH": str(ROOT)}


@asynccontextmanager
async def serving(home: Path, *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """``openmirror serve ARGS`` as a process; killed at the end if it did not stop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "--home", str(home), "serve", *args, cwd=ROOT, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_serve_port_and_a_ready_line_naming_every_face(tmp_path: Path) -> None:
    port = free_port()
    async with serving(tmp_path / "home", "--port", str(port)) as proc:
        assert proc.stdout is not None
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 30)).decode().rstrip() for _ in range(5)]
        url = f"http://127.0.0.1:{port}"
        assert lines[0].startswith("openmirror node ") and lines[0].endswith(f" serving on {url}")
        assert lines[1:] == [f"  search page  {url}/", f"  OAI-PMH      {url}/oai",
                             f"  IPFS gateway {url}/ipfs/", f"  JSON API     {url}/api/v1/"]
        async with aiohttp.ClientSession() as http:
            for path, kind in (("/", "text/html"), ("/oai?verb=Identify", "text/xml"),
                               ("/api/v1/status", "application/json")):
                async with http.get(url + path) as resp:
                    assert resp.status == 200 and resp.content_type == kind, path
            async with http.get(url + "/ipfs/bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e") as resp:
                assert resp.status == 404                    # the gateway answers: not held here
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 15) == 0


async def test_serve_json_ready_line_and_port_with_listen_is_refused(tmp_path: Path) -> None:
    async with serving(tmp_path / "home", "--port", "0", "--json") as proc:
        assert proc.stdout is not None
        ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        base = ready["url"]
        assert base.startswith("http://127.0.0.1:") and not base.endswith(":0")
        assert (ready["search"], ready["oai"], ready["gateway"], ready["api"]) == (
            base + "/", base + "/oai", base + "/ipfs/", base + "/api/v1/")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    both = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "--home", str(tmp_path / "home"), "serve", "--port", "1",
        "--listen", "127.0.0.1:2", cwd=ROOT, env=_env(), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(both.communicate(), 30)
    assert both.returncode == 2
    assert err.decode() == "Error: give either --listen HOST:PORT or --port PORT, not both\n"
