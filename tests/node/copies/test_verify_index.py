"""``openmirror verify`` beyond the blocks: stored entries re-verified, held marks checked against the
blockstore, and the blocks a killed import left reclaimed (with ``--repair``, and at node start)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from copies_helpers import make_home

from indexer import copies as rows
from indexer.records import DocumentIn
from mirror.home import Home
from mirror.node.app import Node
from mirror.services import open_home
from mirror.store import open_store
from mirror.store.cid import CID
from mirror.store.exporter import walk_dag
from tests.node.node_helpers import wait_for

ROOT = Path(__file__).parents[3]


async def write_documents(home: Home, count: int) -> None:
    async with open_home(home) as services:
        await services.index.upsert_documents([
            DocumentIn(collection="c", source_id=f"d{i}", title=f"River survey {i}", license="CC0-1.0")
            for i in range(count)])


def test_a_stored_entry_changed_on_disk_is_found(home_dir: Path, cli_run) -> None:
    home = make_home(home_dir)
    asyncio.run(write_documents(home, 5))
    with sqlite3.connect(home.db_path) as conn:                         # one word changed on disk
        payload = conn.execute("SELECT payload FROM feed_entries WHERE seq = 3").fetchone()[0]
        conn.execute("UPDATE feed_entries SET payload = ? WHERE seq = 3",
                     (payload.replace(b"River", b"Rivet"),))
    result = cli_run("verify")
    assert result.exit_code == 4
    lines = [line for line in result.output.splitlines() if line.startswith("entry\t")]
    assert len(lines) == 1 and "\t3\t" in lines[0] and "bad signature" in lines[0]


def test_a_held_mark_the_blockstore_contradicts_is_corrected_by_repair(home_dir: Path, tmp_path: Path,
                                                                        cli_run) -> None:
    home = make_home(home_dir)
    (tmp_path / "paper.bin").write_bytes(os.urandom(2_500_000))        # three leaves and a root
    root = CID.decode(cli_run("add", str(tmp_path / "paper.bin")).output.split()[-1])
    store = open_store(home)
    leaf = [cid for cid, _ in walk_dag(store.blocks, root)][2]
    store.blocks.path_of(leaf).unlink()                                  # the disk lost a block
    assert cli_run("verify").exit_code == 4
    repaired = cli_run("verify", "--repair")                            # no peer has it
    assert repaired.exit_code == 4 and "unheld\t" in repaired.output
    assert asyncio.run(_held(home)) == []                                # no longer claimed


async def _held(home: Home) -> list[str]:
    async with open_home(home, read_only=True) as services, services.index.read() as conn:
        return await rows.held_sha256s(conn)


KILLED_IMPORT = """
import asyncio, os, signal, sys
from mirror.batch import GroupCommit
from mirror.home import Home
from mirror.ingest import Ingestor
from mirror.services import open_home
from mirror.sources.base import FileRef
from indexer.records import DocumentIn

async def main():
    home = Home.open(sys.argv[1])
    async with open_home(home) as services, GroupCommit(services.index) as writes:
        got = await Ingestor(home, services.index, services.store).collect([FileRef(url=sys.argv[2])], None)
        doc = DocumentIn(collection="c", source_id="big", title="Big", license="CC0-1.0",
                         contents=got.contents)
        async def die(tx):                 # inside the index transaction, after the blocks
            os.kill(os.getpid(), signal.SIGKILL)
        await asyncio.gather(writes.write(doc=doc, blocks=got.blocks), writes.run(die))

asyncio.run(main())
"""


def killed_import(home: Home, tmp_path: Path) -> int:
    """A real import killed between its blocks' commit and its index transaction; the number of
    blocks it left."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3_000_000))
    done = subprocess.run([sys.executable, "-c", KILLED_IMPORT, str(home.path), str(big)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    left = open_store(home).blocks.stats()[0]
    assert left > 0 and asyncio.run(_held(home)) == []
    return left


def test_blocks_a_killed_import_left_are_counted_then_reclaimed_by_repair(home_dir: Path, tmp_path: Path,
                                                                           cli_run) -> None:
    home = make_home(home_dir)
    left = killed_import(home, tmp_path)
    checked = cli_run("verify")
    assert checked.exit_code == 0 and f"{left} blocks" in checked.output and "--repair" in checked.output
    assert cli_run("verify", "--repair").exit_code == 0
    assert open_store(home).blocks.stats()[0] == 0


async def test_a_node_reclaims_them_when_it_starts(home_dir: Path, tmp_path: Path) -> None:
    home = make_home(home_dir)
    await asyncio.to_thread(killed_import, home, tmp_path)
    node = Node(home, listen="127.0.0.1:0", rate_limit=0)
    await node.start()
    try:
        await wait_for(lambda: node.store.blocks.stats()[0] == 0, what="the blocks to be reclaimed")
    finally:
        await node.stop()
