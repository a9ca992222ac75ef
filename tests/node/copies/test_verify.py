"""``openmirror verify [--repair]`` on real homes, repaired from real holder nodes."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from copies_helpers import Swarm, Volunteer, document, make_home

from mirror.home import Home
from mirror import held
from mirror.node.copies.holdings import pull_holdings
from mirror.node.copies.repair import verify_home
from mirror.store import ContentStore, open_store
from mirror.store.cid import CID, DAG_PB
from mirror.store.exporter import walk_dag

DATA = os.urandom(2_500_000)               # three 1 MiB leaves under one root (default profile)


def blocks_of(store: ContentStore, cid: CID) -> list[CID]:
    return [c for c, _ in walk_dag(store.blocks, cid)]


def corrupt(store: ContentStore, cid: CID) -> Path:
    path = store.blocks.path_of(cid)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


async def run(cli_run, *args: str):  # type: ignore[no-untyped-def]
    """The CLI in a worker thread, so holder servers on this loop keep answering."""
    return await asyncio.to_thread(cli_run, *args)


async def holder_of(swarm: Swarm, tmp_path: Path, data: bytes) -> Volunteer:
    holder = await swarm.start("holder")
    (tmp_path / "copy.bin").write_bytes(data)
    holder.node.store.add_file(tmp_path / "copy.bin")
    return holder


async def test_a_corrupted_block_is_named_then_repaired_from_a_peer(swarm: Swarm, tmp_path: Path,
                                                                    home_dir: Path, cli_run) -> None:
    make_home(home_dir)
    (tmp_path / "paper.bin").write_bytes(DATA)
    added = await run(cli_run, "add", str(tmp_path / "paper.bin"))
    root = CID.decode(added.output.split()[-1])
    store = open_store(Home.open(home_dir))
    leaf = blocks_of(store, root)[2]
    path = corrupt(store, leaf)
    checked = await run(cli_run, "verify")
    assert checked.exit_code == 4
    assert f"corrupted\t{CID(1, 0x55, leaf.multihash)}\t{path}" in checked.output
    holder = await holder_of(swarm, tmp_path, DATA)
    repaired = await run(cli_run, "verify", "--repair", "--peer", holder.url, "--json")
    assert repaired.exit_code == 0, repaired.output
    report = json.loads(repaired.output)
    assert report["repaired"] == 1 and report["remaining"] == 0
    assert (await run(cli_run, "cat", str(root))).stdout_bytes == DATA
    assert not path.with_name(path.name + ".corrupt").exists()
    assert (await run(cli_run, "verify")).exit_code == 0


async def test_missing_blocks_of_held_content_come_from_known_holders(swarm: Swarm, tmp_path: Path) -> None:
    """No --peer: the holdings table says who holds the content. An internal node and a leaf
    under it are gone; the walk sees the node missing, the repair brings both back."""
    data = os.urandom(40_000)                                                # small chunks: deep DAG
    me, holder = await swarm.start("me"), await swarm.start("holder")
    content = await me.add(tmp_path, "data.bin", data)
    await holder.node.index.upsert_document(document(content), origin=me.node_id)
    holder.put_bytes(tmp_path, "data.bin", data)
    await held.refresh(holder.node.index, holder.node.store, [content.sha256])
    await holder.publish()
    await pull_holdings(me.node.session, holder.url, me.node.index)
    root = CID.decode(content.cid)
    inner = next(c for c in blocks_of(me.node.store, root)[1:] if c.codec == DAG_PB)
    leaf = blocks_of(me.node.store, inner)[-1]
    for cid in (inner, leaf):
        me.node.store.blocks.delete(cid)
    await me.stop()
    swarm.members.remove(me)
    report = await verify_home(me.node.home)
    assert [(d.kind, d.cid, d.contents) for d in report.remaining] == [("missing", str(inner), [content.sha256])]
    fixed = await verify_home(me.node.home, repair=True)
    assert fixed.remaining == [] and [d.repaired for d in fixed.damage] == [True]
    assert open_store(me.node.home).has_all(root)
    assert (await verify_home(me.node.home)).damage == []


async def test_without_a_good_copy_nothing_changes_and_the_exit_is_4(swarm: Swarm, tmp_path: Path,
                                                                     home_dir: Path, cli_run) -> None:
    make_home(home_dir)
    (tmp_path / "paper.bin").write_bytes(DATA)
    root = CID.decode((await run(cli_run, "add", str(tmp_path / "paper.bin"))).output.split()[-1])
    store = open_store(Home.open(home_dir))
    leaf = blocks_of(store, root)[1]
    path = corrupt(store, leaf)
    damaged = path.read_bytes()
    stranger = await swarm.start("stranger")                                 # holds nothing
    result = await run(cli_run, "verify", "--repair", "--peer", stranger.url)
    assert result.exit_code == 4 and "corrupted" in result.output
    assert path.read_bytes() == damaged
