"""``cli.process``: a command run as its own process leaves at once with its output whole; run
in-process (the tests' runner) it exits the ordinary way and leaves the collector alone."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

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
