"""Fixtures shared by every test: a fresh node home and a CLI runner bound to it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run tests marked slow (GiB-sized vectors)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def home_dir(tmp_path: Path) -> Path:
    """A fresh, empty node home (created on first use by the code under test)."""
    return tmp_path / "home"


@pytest.fixture
def cli_run(home_dir: Path):
    """Run ``openmirror --home HOME ARGS...`` in-process; returns click's Result."""
    from cli.main import cli

    def run(*args: str, input: bytes | str | None = None):
        runner = CliRunner()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
        return runner.invoke(cli, ["--home", str(home_dir), *args], input=input, env=env,
                             catch_exceptions=False)

    return run
