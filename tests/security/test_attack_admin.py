"""Attack: reaching the control API by accident (issue 12, item 6).

Everything here comes from loopback, where a browser on the node's own machine lives: a page
posting to the node (``Origin``), a page on a name rebound to 127.0.0.1 (``Host``), a form, a
request without the token. All are refused and nothing is added; the CLI, which reads the home's
token, adds the peer through the running node.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from mirror.errors import ConfigError
from mirror.home import Home
from mirror.node.admin import API_FILE, TOKEN_FILE, admin_token
from mirror.node.app import Node
from tests import processes
from tests.node.node_helpers import NodeFactory, nodes, wait_for  # noqa: F401  (fixture)

PEER = {"url": "http://peer.example:8470"}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, node: Node, *, body: bytes | None = None,
               media_type: str = "application/json", **headers: str) -> tuple[int, str]:
    data = json.dumps(PEER).encode() if body is None else body
    async with http.post(node.url + "/api/v1/peers", data=data,
                         headers={"Content-Type": media_type, **headers}) as resp:
        return resp.status, (await resp.json())["error"]["code"] if resp.status >= 400 else ""


def bearer(node: Node) -> str:
    return f"Bearer {admin_token(node.home)}"


async def test_what_a_web_page_or_a_stranger_can_send_is_refused(nodes: NodeFactory,
                                                                 http: aiohttp.ClientSession) -> None:
    node = await nodes.start("node")
    port = node.url.rsplit(":", 1)[1]
    token = bearer(node)
    attempts = {
        "no token": await post(http, node),
        "a wrong token": await post(http, node, Authorization="Bearer " + "x" * 43),
        "a page's fetch": await post(http, node, Origin="http://evil.example"),
        "a page's fetch with the token": await post(http, node, Origin="http://evil.example",
                                                    Authorization=token),
        "an opaque origin": await post(http, node, Origin="null", Authorization=token),
        "DNS rebinding": await post(http, node, Host=f"evil.example:{port}", Authorization=token),
        "a form": await post(http, node, body=b"url=http%3A%2F%2Fpeer.example%3A8470",
                             media_type="application/x-www-form-urlencoded", Authorization=token),
        "JSON as text/plain": await post(http, node, media_type="text/plain", Authorization=token),
    }
    assert {k: v for k, v in attempts.items() if v[0] not in (403, 415)} == {}
    assert attempts["a form"] == (415, "unsupported_media_type")
    assert attempts["DNS rebinding"] == (403, "forbidden")
    assert await node.book.get(PEER["url"]) is None
    # the operator's own call: the token, the node's address as Host, JSON
    assert await post(http, node, Authorization=token) == (201, "")
    assert (await node.book.get(PEER["url"])).source == "configured"


async def test_the_setting_token_and_the_node_s_names_still_work(nodes: NodeFactory,
                                                                 http: aiohttp.ClientSession) -> None:
    node = await nodes.start("node", admin_token="s3cret-for-scripts",
                             public_url="https://mirror.example.org")
    port = node.api_url().rsplit(":", 1)[1]          # node.url is the public URL here
    url = f"http://127.0.0.1:{port}/api/v1/peers"
    for i, host in enumerate((f"localhost:{port}", "mirror.example.org", f"127.0.0.1:{port}")):
        async with http.post(url, json={"url": f"http://127.0.0.1:{9 + i}"},
                             headers={"Authorization": "Bearer s3cret-for-scripts", "Host": host}) as resp:
            assert resp.status == 201, host


def test_the_token_is_made_on_first_use_private_beside_the_key(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    token = admin_token(home)
    path = home.path / TOKEN_FILE
    assert len(token) >= 40 and admin_token(home) == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.parent == home.key_file.parent
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        admin_token(home)


async def test_the_cli_adds_a_peer_through_the_running_node(nodes: NodeFactory, home_dir: Path) -> None:
    """The command runs as its own process, as a user runs it: in-process, click's runner swaps
    the process-wide stderr, and the node's own warnings (about the unreachable peer) would land in
    the command's output."""
    node = await nodes.start(home_dir.name)
    assert node.home.path == home_dir
    assert (home_dir / API_FILE).read_text().strip() == node.api_url()
    out = await processes.ok(home_dir, "--json", "peers", "add", "peer.example:8470")
    assert json.loads(out) == {"url": "http://peer.example:8470", "added": True, "via": node.api_url()}
    assert (await node.book.get("http://peer.example:8470")).source == "configured"
    await nodes.stop(node)
    assert not (home_dir / API_FILE).exists()
    out = await processes.ok(home_dir, "--json", "peers", "add", "other.example:8470")
    assert json.loads(out)["via"] == "home"                   # no node: into the home's table
