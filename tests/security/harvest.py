"""Run ``openmirror mirror`` for the attack tests and read its JSON summary."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result


async def mirror(cli_run: Callable[..., Result], *args: str) -> tuple[int, dict[str, Any], str]:
    """``openmirror mirror ARGS --json --delay 0`` off the event loop: exit code, summary, stderr."""
    res = await asyncio.to_thread(cli_run, "mirror", *args, "--json", "--delay", "0")
    out = res.stdout.strip()
    assert out, res.stderr
    return res.exit_code, json.loads(out.splitlines()[-1]), res.stderr


def held_bytes(home: Path) -> list[bytes]:
    """Every block file in the home's blockstore (the bytes a node would publish)."""
    blocks = home / "blocks"
    return [p.read_bytes() for p in blocks.rglob("*") if p.is_file()] if blocks.exists() else []
