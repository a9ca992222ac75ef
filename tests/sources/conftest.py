"""Fixtures for the source tests: the fake servers and a real Fetcher with politeness lifted."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from mirror.fetch.fetcher import Fetcher
from mirror.settings import Settings
from tests.servers.archive import archive_server  # noqa: F401  (fixtures)
from tests.servers.ckan import ckan_server  # noqa: F401
from tests.servers.oai import oai_server  # noqa: F401
from tests.servers.site import site_server  # noqa: F401


def fast_settings() -> Settings:
    """Defaults (no environment, no file) with short backoff so failing fetches fail fast."""
    settings = Settings(env={})
    settings.set("fetch.backoff", 0.01)
    settings.set("fetch.retries", 1)
    return settings


@pytest.fixture
async def fetcher(tmp_path: Path) -> AsyncIterator[Fetcher]:
    """A real Fetcher with per-host limits and spacing lifted so tests run fast."""
    async with Fetcher(fast_settings(), tmp_path / "staging", per_host=8, delay=0.0, concurrency=16) as f:
        yield f
