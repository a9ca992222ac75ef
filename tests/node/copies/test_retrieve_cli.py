"""``openmirror get`` against real holder servers: local hits, remote fetches, errors, liars."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from tests.node.holder_server import HolderServer, corrupting, make_node

from indexer.index import Index
from indexer.peers import CONFIGURED, add_peer
from mirror.home import Home
from mirror.store import open_store
from mirror.store.cid import CID, RAW
from mirror.store.exporter import walk_dag

DATA = os.urandom(30_000)


async def holder(tmp: Path, name: str, *middlewares, holds: bool = True) -> tuple[HolderServer, CID]:
    node = await make_node(tmp / name)
    cid = node.add_bytes(tmp, "data.bin", DATA).cid if holds else CID.of(DATA, RAW)
    return await HolderServer(node, *middlewares).start(), cid


async def run(cli_run, *args: str):
    """The CLI runs its own event loop, so it runs in a thread while the servers serve here."""
    return await asyncio.to_thread(cli_run, *args)


async def test_a_local_hit_needs_no_peer(cli_run, home_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "f.bin").write_bytes(DATA)
    cid = open_store(Home.open(home_dir)).add_file(tmp_path / "f.bin").cid
    result = await run(cli_run, "get", str(cid), "-o", str(tmp_path / "out.bin"), "--json")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.bin").read_bytes() == DATA
    assert json.loads(result.stdout)["source"] == "local"


async def test_remote_fetch_verifies_stores_and_writes(cli_run, home_dir: Path, tmp_path: Path) -> None:
    server, cid = await holder(tmp_path, "peer")
    try:
        out = tmp_path / "got.bin"
        result = await run(cli_run, "get", str(cid), "-o", str(out), "--peer", server.url, "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["source"] == "peers" and report["holders"] == [server.url]
        dag = list(walk_dag(server.node.store.blocks, cid))
        assert report["retrieval"]["blocks"] == len(dag) > 1
        assert out.read_bytes() == DATA and not list(tmp_path.glob(".got.bin.*"))
        assert open_store(Home.open(home_dir)).has_all(cid)
        again = await run(cli_run, "get", str(cid))             # now local, to stdout
        assert again.exit_code == 0 and again.stdout_bytes == DATA
    finally:
        await server.close()


async def test_peers_table_is_asked(cli_run, home_dir: Path, tmp_path: Path) -> None:
    server, cid = await holder(tmp_path, "peer")
    async with await Index.open(Home.open(home_dir).db_path) as index:
        async with index.transaction() as tx:
            await add_peer(await tx.connection(), server.url, CONFIGURED, "2026-01-01T00:00:00Z")
    try:
        result = await run(cli_run, "get", str(cid))
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes == DATA
    finally:
        await server.close()


async def test_nobody_has_it(cli_run, tmp_path: Path) -> None:
    server, cid = await holder(tmp_path, "empty", holds=False)
    try:
        result = await run(cli_run, "get", str(cid), "--peer", server.url)
        assert result.exit_code == 1
        assert f"Error: no peer holds {cid}" in result.stderr and "Traceback" not in result.output
        result = await run(cli_run, "get", str(cid))
        assert result.exit_code == 1 and "no peers are known" in result.stderr
    finally:
        await server.close()


@pytest.mark.parametrize("args", [("get", "not-a-cid"), ("get", "bafkqaaa", "--json")])
async def test_usage_errors_exit_2(cli_run, args: tuple[str, ...]) -> None:
    result = await run(cli_run, *args)
    assert result.exit_code == 2 and result.stderr.startswith("Error: ")


async def test_lying_peers_never_give_wrong_bytes(cli_run, home_dir: Path, tmp_path: Path) -> None:
    liar, cid = await holder(tmp_path, "liar", corrupting)
    honest, _ = await holder(tmp_path, "honest")
    try:
        out = tmp_path / "out.bin"
        result = await run(cli_run, "get", str(cid), "-o", str(out), "--peer", liar.url)
        assert result.exit_code == 4 and "wrong bytes" in result.stderr
        assert not out.exists() and open_store(Home.open(home_dir)).blocks.stats() == (0, 0)
        result = await run(cli_run, "get", str(cid), "-o", str(out), "--peer", liar.url,
                           "--peer", honest.url)
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == DATA and liar.url in result.stderr
    finally:
        await liar.close()
        await honest.close()


async def test_a_terminal_sees_a_bar_with_the_total_and_the_rate(tmp_path: Path) -> None:
    """``get`` from a peer as a process whose stderr is a (pseudo-)terminal: the bar counts bytes
    of a known total (the DAG's size, read from its root block first) and shows bytes/s."""
    import pty
    import re
    import sys

    root = Path(__file__).resolve().parents[3]
    node = await make_node(tmp_path / "peer")
    cid = node.add_bytes(tmp_path, "big.bin", os.urandom(3 << 20)).cid
    server = await HolderServer(node).start()
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli.main", "--home", str(tmp_path / "fresh"), "get", str(cid), "-o",
            str(tmp_path / "big.out"), "--peer", server.url, cwd=root, stderr=follower,
            env=env | {"PYTHONPATH": str(root), "COLUMNS": "160", "TERM": "xterm"})
        os.close(follower)
        screen = await asyncio.to_thread(_read_all, leader)
        assert await asyncio.wait_for(proc.wait(), 60) == 0, screen
    finally:
        os.close(leader)
        await server.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode(errors="replace"))
    frames = re.findall(r"get \S+ ([\d.]+ (?:B|KiB|MiB)) / ([\d.]+ MiB) +[\d.]+ (?:B|KiB|MiB|GiB)/s", text)
    assert len(frames) > 1 and {total for _, total in frames} == {"3.2 MiB"}, text   # 3 MiB in 1 KiB chunks
    assert (tmp_path / "big.out").stat().st_size == 3 << 20


def _read_all(fd: int) -> bytes:
    screen = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:                       # the terminal closed: the process is done with it
            return screen
        if not chunk:
            return screen
        screen += chunk
