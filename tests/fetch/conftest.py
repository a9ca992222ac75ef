"""Fixtures for the fetcher tests: the origin server, quick settings and a staging folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirror.settings import Settings
from tests.servers.origin import origin  # noqa: F401  (fixture)


@pytest.fixture
def settings() -> Settings:
    """Defaults (no environment, no file) with short backoff and two retries."""
    s = Settings(env={})
    s.set("fetch.backoff", 0.02)
    s.set("fetch.retries", 2)
    return s


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    return tmp_path / "staging"


def staged_files(staging: Path) -> list[Path]:
    return sorted(staging.iterdir()) if staging.exists() else []
