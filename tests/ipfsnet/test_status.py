"""The node's libp2p identity and provider address in ``status`` (the API and the command)."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from mirror.node.routing.multiaddr import url_to_multiaddr
from mirror.node.routing.peerid import peer_id
from tests.node.node_helpers import NodeFactory


async def test_status_shows_the_peer_id_and_provider_multiaddr(nodes: NodeFactory) -> None:
    node = await nodes.start("a")
    async with aiohttp.ClientSession() as session, session.get(node.url + "/api/v1/status") as resp:
        status = await resp.json()
    assert status["peer_id"] == peer_id(node.identity.public_key_bytes)
    assert status["peer_id"].startswith("12D3KooW")
    assert status["provider_addrs"] == [url_to_multiaddr(node.url)]
    assert status["provider_addrs"][0].startswith("/ip4/127.0.0.1/tcp/")


def test_the_status_command_shows_them_too(cli_run, home_dir: Path) -> None:
    assert cli_run("config", "path").exit_code == 0       # makes the home (status only reads one)
    status = json.loads(cli_run("status", "--json").output)
    assert status["peer_id"].startswith("12D3KooW") and len(status["peer_id"]) == 52
    assert status["provider_addrs"] == ["/ip4/127.0.0.1/tcp/8470/http"]
    (home_dir / "openmirror.toml").write_text('[node]\npublic_url = "https://mirror.example.org"\n')
    again = json.loads(cli_run("status", "--json").output)
    assert again["provider_addrs"] == ["/dns/mirror.example.org/tcp/443/https"]
    assert again["peer_id"] == status["peer_id"]
