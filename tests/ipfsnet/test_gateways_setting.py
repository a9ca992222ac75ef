"""node.gateways: content the IPFS network already has comes from a plain trustless gateway (here
a gateway over a blockstore, standing in for a public one), every block verified."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from mirror.errors import ContentUnavailable, NoHonestHolder
from mirror.home import Home
from mirror.node.copies.get import get_content
from mirror.store.cid import CID
from tests.node.holder_server import SMALL, HolderServer, corrupting, make_node


async def _gateway(tmp_path: Path, name: str, data: bytes, *middlewares) -> tuple[HolderServer, str]:
    node = await make_node(tmp_path / name)
    cid = node.add_bytes(tmp_path, f"{name}.bin", data, SMALL).cid
    return await HolderServer(node, *middlewares).start(), str(cid)


async def test_get_fetches_from_a_configured_gateway(tmp_path: Path) -> None:
    data = os.urandom(20_000)
    gateway, cid = await _gateway(tmp_path, "gateway", data)
    try:
        home = Home.open(tmp_path / "home")
        with pytest.raises(ContentUnavailable):               # no peer, no gateway: nobody has it
            await get_content(home, CID.decode(cid), out=tmp_path / "none.bin")
        home.settings.set("node.gateways", [gateway.url])
        result = await get_content(home, CID.decode(cid), out=tmp_path / "out.bin")
        assert hashlib.sha256((tmp_path / "out.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
        assert result.source == "peers" and gateway.blocks_served() >= 20
    finally:
        await gateway.close()


async def test_a_gateway_serving_wrong_bytes_gives_nothing(tmp_path: Path) -> None:
    liar, cid = await _gateway(tmp_path, "liar", os.urandom(5000), corrupting)
    try:
        home = Home.open(tmp_path / "home")
        home.settings.set("node.gateways", [liar.url])
        with pytest.raises(NoHonestHolder):
            await get_content(home, CID.decode(cid), out=tmp_path / "out.bin")
        assert not (tmp_path / "out.bin").exists()
    finally:
        await liar.close()
