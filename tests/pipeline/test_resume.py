"""`kill -9` in the middle of a harvest, then a rerun: no duplicate, no lost document, and at most
what was in flight is fetched again. The harvest runs as a real subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from mirror.pipeline import RECORDS_PER_REQUEST

N = 60
CONCURRENCY = 4


def _write_manifest(path: Path, origin) -> list[str]:
    urls = [origin.url(f"/slow?delay=0.15&size={1000 + i}") for i in range(N)]
    with path.open("w") as fh:
        for i, url in enumerate(urls):
            fh.write(json.dumps({"url": url, "license": "CC-BY-4.0", "title": f"Slow document {i}"}) + "\n")
    return urls


def _mirror_cmd(home: Path, manifest: Path) -> list[str]:
    return [sys.executable, "-m", "cli.main", "--home", str(home), "mirror", str(manifest),
            "--collection", "slow", "--concurrency", str(CONCURRENCY), "--per-host", str(CONCURRENCY),
            "--delay", "0", "--allow-private", "--json"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}


async def test_kill_9_then_rerun_finishes_without_duplicates(tmp_path: Path, origin):
    manifest = tmp_path / "slow.jsonl"
    urls = _write_manifest(manifest, origin)
    home = tmp_path / "home"
    proc = subprocess.Popen(_mirror_cmd(home, manifest), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(), cwd=Path(__file__).parents[2])
    deadline = time.monotonic() + 60
    while _finished(origin) < 15:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "harvest made no progress"
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    await asyncio.to_thread(proc.wait)

    rerun = await asyncio.create_subprocess_exec(*_mirror_cmd(home, manifest), stdout=asyncio.subprocess.PIPE,
                                                 stderr=asyncio.subprocess.PIPE, env=_env(),
                                                 cwd=Path(__file__).parents[2])
    out, err = await asyncio.wait_for(rerun.communicate(), 120)
    assert rerun.returncode == 0, err.decode()
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["failed"] == 0

    with sqlite3.connect(home / "index.sqlite") as db:
        rows = db.execute("SELECT d.source_id FROM documents d JOIN collections c ON c.id = d.collection_id "
                          "WHERE c.name = 'slow' AND NOT d.deleted").fetchall()
    ids = [r[0] for r in rows]
    assert len(ids) == N and len(set(ids)) == N          # nothing lost, nothing twice
    fetched = Counter(h.path for h in origin.recorder.hits if h.path.startswith("/slow"))
    refetched = [p for p, n in fetched.items() if n > 1]
    assert set(fetched) == {u.split(str(origin.port), 1)[1] for u in urls}
    assert len(refetched) <= CONCURRENCY * RECORDS_PER_REQUEST, refetched   # at most the records in flight


def _finished(origin) -> int:
    return sum(1 for h in origin.recorder.hits if h.path.startswith("/slow") and h.end is not None)
