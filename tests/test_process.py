"""``cli.process``: a command run as its own process leaves at once with its output whole; run
in-process (the tests' runner) it exits the ordinary way and leaves the collector alone."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from mirror.home import Home
from mirror.services import open_home
from tests.node.node_helpers import document

ROOT = Path(__file__).parents[1]
RECORDS = 150


def refused_manifest(path: Path) -> Path:
    """RECORDS records that fail at once (admission refuses hidden files), with long ids: the
    summary fills several output buffers."""
    lines = [{"url": str(path.parent / f".hidden-{i}"), "license": "CC0-1.0",
              "id": f"record-{i:04d}-" + "x" * 200} for i in range(RECORDS)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_command_that_leaves_at_once_keeps_its_exit_code_and_all_its_output(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    done = subprocess.run([sys.executable, "-m", "cli.main", "--home", str(tmp_path / "home"), "mirror",
                           str(refused_manifest(tmp_path / "m.jsonl")), "--json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 1, done.stderr                   # records failed
    summary = json.loads(done.stdout)
    assert summary["failed"] == RECORDS and len(summary["failures"]) == 100     # about 35 KB


def test_a_command_run_in_process_leaves_the_collector_alone(cli_run, tmp_path: Path) -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    result = cli_run("mirror", str(refused_manifest(tmp_path / "m.jsonl")), "--json")
    assert result.exit_code == 1                               # an ordinary exit, seen by the runner
    assert json.loads(result.stdout)["failed"] == RECORDS
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


async def test_read_only_commands_leave_at_once_with_their_output_whole(tmp_path: Path) -> None:
    """Run as their own process, search, show, stats and status skip the interpreter's teardown
    (an atexit hook set before the command never runs) and keep every byte of their output."""
    home = Home.open(tmp_path / "home")
    async with open_home(home) as services:
        await services.index.upsert_documents([document(i, title=f"River survey {i} " + "x" * 2000)
                                               for i in range(40)])     # about 80 KB of results
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    probe = "import atexit; atexit.register(print, 'TORN DOWN'); from cli.main import main; main()"
    cid = document(7).contents[0].cid or ""
    for args, lines in ((["search", "river", "--json", "--limit", "40"], 40), (["show", cid, "--json"], 1),
                        (["stats", "--json"], 1), (["status", "--json"], 1)):
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", probe, "--home", str(home.path), *args],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "TORN DOWN" not in done.stdout, args
        assert len([json.loads(line) for line in done.stdout.splitlines()]) == lines, args
