"""Debian's Caddy in front of a test node: the Caddyfile of docs/deploy.md, read from there, with
TLS from Caddy's internal CA. ``.ci/run`` installs it; the ``caddy_available`` fixture skips without it (fails
under CI)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
from pathlib import Path
from typing import Self

import pytest

from tests.node.node_helpers import wait_for

DEPLOY = Path(__file__).parents[2] / "docs" / "deploy.md"
GLOBAL = """{{
	admin off
	skip_install_trust
	auto_https disable_redirects
	http_port {http_port}
	storage file_system {data}
}}
"""
TEST_ONLY = """	tls internal
	log {{
		output file {log}
		format json
	}}
"""


def deploy_caddyfile() -> str:
    """The Caddyfile of docs/deploy.md, as written there."""
    text = DEPLOY.read_text()
    start = text.index("```caddy\n") + len("```caddy\n")
    return text[start:text.index("```", start)]


def caddyfile_for_test(port: int, upstream: str, log: Path, data: Path) -> str:
    """docs/deploy.md's Caddyfile for this machine: site https://localhost:PORT, proxying to
    UPSTREAM, with Caddy's internal CA, a JSON request log and a global block for a test."""
    site = deploy_caddyfile()
    assert site.startswith("mirror.example.org {\n") and "reverse_proxy 127.0.0.1:8470 {" in site
    site = site.replace("mirror.example.org {\n", f"https://localhost:{port} {{\n" +
                        TEST_ONLY.format(log=log), 1)
    site = site.replace("reverse_proxy 127.0.0.1:8470", f"reverse_proxy {upstream}", 1)
    return GLOBAL.format(http_port=free_port(), data=data) + "\n" + site


@pytest.fixture
def caddy_available() -> None:
    if shutil.which("caddy"):
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("caddy is not installed (CI must install it: apt-get install -y caddy)")
    pytest.skip("caddy is not installed (apt-get install -y caddy); CI runs this test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Caddy:
    """``async with Caddy(folder, upstream) as caddy``: serves https://localhost:PORT (``url``)."""

    def __init__(self, folder: Path, upstream: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"https://localhost:{self.port}"
        self.log = folder / "access.log"
        self.root_certificate = folder / "data" / "pki" / "authorities" / "local" / "root.crt"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "Caddyfile").write_text(caddyfile_for_test(
            self.port, upstream.removeprefix("http://"), self.log, folder / "data"))
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Self:
        env = {**os.environ, "HOME": str(self.folder), "XDG_DATA_HOME": str(self.folder / "xdg"),
               "XDG_CONFIG_HOME": str(self.folder / "xdg")}
        with (self.folder / "caddy.err").open("wb") as errors:
            self.proc = await asyncio.create_subprocess_exec(
                "caddy", "run", "--config", str(self.folder / "Caddyfile"), "--adapter",
                "caddyfile", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=errors)
        await wait_for(self._ready, timeout=30, interval=0.1, what="caddy serving TLS")
        return self

    async def _ready(self) -> bool:
        if self.proc is not None and self.proc.returncode is not None:
            raise AssertionError((self.folder / "caddy.err").read_text()[-3000:])
        if not self.root_certificate.exists():
            return False
        context = ssl.create_default_context(cafile=str(self.root_certificate))
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", self.port, ssl=context,
                                                            server_hostname="localhost")
        except (OSError, ssl.SSLError):
            return False
        writer.close()
        return True

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def protocols(self, prefix: str) -> set[str]:
        """The HTTP versions of the requests Caddy logged whose path starts with PREFIX."""
        found = set()
        for line in self.log.read_text().splitlines() if self.log.exists() else []:
            request = json.loads(line).get("request", {})
            if request.get("uri", "").startswith(prefix):
                found.add(request.get("proto"))
        return found
