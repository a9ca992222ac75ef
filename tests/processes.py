"""openmirror as real processes, for tests that use the CLI as a user does (no OPENMIRROR_*
variables of the caller leak in)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

ROOT = Path(__file__).resolve().parents[1]


def env() -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    return kept | {"PYTHONPATH": str(ROOT)}


async def run(home: Path, *args: str, cwd: Path = ROOT) -> tuple[int, str, str]:
    """``openmirror --home HOME ARGS``: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "--home", str(home), *args, cwd=cwd, env=env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def ok(home: Path, *args: str, cwd: Path = ROOT) -> str:
    """Its stdout; the command must succeed."""
    code, out, err = await run(home, *args, cwd=cwd)
    assert code == 0, (args, err)
    return out


@asynccontextmanager
async def serve(home: Path, *args: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, Any]]]:
    """``openmirror --home HOME serve --json ARGS`` as a process: yields it and its ready line
    (its stderr in the failure when it exits first); killed on exit if it still runs."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "--home", str(home), "serve", "--json", *args, cwd=ROOT,
        env=env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line:
            raise AssertionError((await proc.stderr.read()).decode())
        yield proc, json.loads(line)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@asynccontextmanager
async def serving(home: Path) -> AsyncIterator[str]:
    """``openmirror serve --port 0`` on HOME; yields its URL, kills it on exit."""
    async with serve(home, "--port", "0") as (_proc, ready):
        yield ready["url"]


def open_files(under: Path) -> list[str]:
    """Paths under UNDER this process holds open (an index, its WAL, block files)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(under)):
            found.append(target)
    return found
