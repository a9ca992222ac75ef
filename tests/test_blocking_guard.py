"""The event-loop guard of conftest.py: a coroutine of ours that blocks the loop fails its test,
while a test's own coroutine may call synchronous APIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from blockbuster import BlockingError

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "async def read(path):\n    with open(path, 'rb') as fh:\n        return fh.read()\n"


def _coroutine_function(filename: Path) -> Any:
    """``read(path)`` compiled as if it lived in FILENAME (the guard judges code by its file)."""
    namespace: dict[str, Any] = {}
    exec(compile(SOURCE, str(filename), "exec"), namespace)
    return namespace["read"]


async def test_a_coroutine_of_ours_that_blocks_fails(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"x")
    read = _coroutine_function(ROOT / "mirror" / "probe.py")
    with pytest.raises(BlockingError):
        await read(target)


async def test_a_tests_own_coroutine_may_block(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"x")
    read = _coroutine_function(ROOT / "tests" / "probe.py")
    assert await read(target) == b"x"
