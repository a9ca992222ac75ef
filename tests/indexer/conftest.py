"""Fixtures for the index tests: an index open on a real SQLite file in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from indexer.index import Index


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "index.sqlite"


@pytest.fixture
async def index(db_path: Path) -> AsyncIterator[Index]:
    idx = await Index.open(db_path)
    try:
        yield idx
    finally:
        await idx.close()
