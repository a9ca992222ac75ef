"""Fixtures shared by every test: a fresh node home and a CLI runner bound to it."""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from blockbuster import BlockBuster
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


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """Each test starts with the logging set-up it found: a command run in-process installs its
    stderr handler (bound to the runner's stream of that moment) and levels, which must not
    outlive the command into the next test."""
    import logging

    root = logging.getLogger()
    handlers, levels = list(root.handlers), {n: logging.getLogger(n).level for n in ("", "mirror", "indexer", "cli")}
    yield
    if (logs := sys.modules.get("cli.logs")) is not None:
        logs.reset()
    root.handlers[:] = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


# -- the event-loop guard ---------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
_PRODUCT = tuple(str(ROOT / package) + os.sep for package in ("mirror", "indexer", "cli"))
_ASYNC_CODE = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
# Blocking on the loop on purpose, measured faster than a thread hop (allowed by function name):
_ALLOWED = {
    "mirror/ingest.py": {"_import_inline"},          # a small body hashed and written inline
    "mirror/store/blockstore.py": {"has",            # one stat of a block file (the gateway's 404s)
                                   "_staging_dir"},  # one mkdir per process
    "asyncio/selector_events.py": {"_write_to_self"},  # the loop's own wake-up (non-blocking)
}


def _called_by_test_code(*_args: Any, **_kwargs: Any) -> bool:
    """Whether the coroutine that is blocking the loop is a test's own (setting up data with a
    synchronous API, as a test may), not one of ours: the first coroutine frame out decides."""
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if code.co_flags & _ASYNC_CODE:
            return not code.co_filename.startswith(_PRODUCT)
        if code is _RUN_ONCE:          # a loop callback, no coroutine: the frames below are the runner's
            return True
        frame = frame.f_back
    return True


_RUN_ONCE = asyncio.BaseEventLoop._run_once.__code__     # type: ignore[attr-defined]


def _console_or_test(stream: Any = None, *args: Any, **kwargs: Any) -> bool:
    """A command printing its output (or a test writing) is not a node blocking its loop."""
    return stream in (sys.stdout, sys.stderr, sys.stdout.buffer, sys.stderr.buffer) or \
        _called_by_test_code()


@pytest.fixture(autouse=True)
def blocking_guard() -> Iterator[BlockBuster]:
    """Fail a test when a coroutine of ``mirror``, ``indexer`` or ``cli`` blocks the event loop (a
    blocking file, socket or sleep call on the loop's thread), as aiohttp's own suite guards itself
    with the same library. Tests may block their own coroutines (their set-up is synchronous)."""
    guard = BlockBuster(scanned_modules=["mirror", "indexer", "cli"])
    for function in guard.functions.values():
        function.can_block_predicate = _called_by_test_code
        for filename, names in _ALLOWED.items():
            function.can_block_in(filename, names)
    guard.functions["os.path.abspath"].can_block_predicate = lambda *_a, **_k: True   # getcwd
    for name in ("io.TextIOWrapper.write", "io.BufferedWriter.write"):          # a command's output
        guard.functions[name].can_block_predicate = _console_or_test
    guard.activate()
    try:
        yield guard
    finally:
        guard.deactivate()
