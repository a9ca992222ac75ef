"""Ctrl-C in the middle of a harvest (SIGINT to a real ``openmirror mirror`` process): it says how
much was stored, that it is kept, and that a rerun resumes; the rerun stores exactly the rest."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import sys
import time
from pathlib import Path

N = 40
ROOT = Path(__file__).resolve().parents[2]


def _command(home: Path, manifest: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", "--home", str(home), "mirror", str(manifest),
            "--collection", "slow", "--concurrency", "2", "--per-host", "2", "--delay", "0",
            "--allow-private", *extra]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}


def _documents(home: Path) -> int:
    with sqlite3.connect(home / "index.sqlite") as db:
        return db.execute("SELECT count(*) FROM documents WHERE NOT deleted").fetchone()[0]


async def test_ctrl_c_says_what_was_stored_and_a_rerun_resumes(tmp_path: Path, origin) -> None:
    manifest = tmp_path / "slow.jsonl"
    manifest.write_text("".join(json.dumps({"url": origin.url(f"/slow?delay=0.1&size={2000 + i}"),
                                            "license": "CC-BY-4.0", "title": f"Slow {i}"}) + "\n"
                                for i in range(N)))
    home = tmp_path / "home"
    proc = await asyncio.create_subprocess_exec(*_command(home, manifest), env=_env(), cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    deadline = time.monotonic() + 60
    while sum(1 for h in origin.recorder.hits if h.path.startswith("/slow") and h.end) < 8:
        assert proc.returncode is None and time.monotonic() < deadline
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 130, err
    lines = err.decode().strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err.decode(), lines
    said = re.fullmatch(r"Error: interrupted: (\d+) document\(s\) of this harvest are stored and kept "
                        r"\(0 unchanged, 0 failed so far\)", lines[0])
    assert said is not None, lines[0]
    assert lines[1] == "Hint: run the same command again to resume where it stopped"
    stored = int(said.group(1))
    assert 0 < stored < N and _documents(home) == stored        # what it says is what the index holds

    rerun = await asyncio.create_subprocess_exec(*_command(home, manifest, "--json"), env=_env(), cwd=ROOT,
                                                 stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(rerun.communicate(), 120)
    assert rerun.returncode == 0, err
    summary = json.loads(out)
    assert summary["stored"] == N - stored and summary["unchanged"] == stored
    assert _documents(home) == N
