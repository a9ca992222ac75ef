"""One-shot commands import only what they use (issue 15, "instant commands").

Each command runs in a fresh interpreter, as a user runs it, and reports the modules it loaded
when it exits; the heavy libraries a command does not need must not be among them. No timing: an
import that creeps back into a path every command takes fails here on any machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mirror.home import Home
from mirror.services import open_home
from tests.node.node_helpers import document

ROOT = Path(__file__).resolve().parents[1]
# Run the command, then (at exit, after click's SystemExit) print the top-level packages and our
# modules that were imported.
PROBE = """
import atexit, json, sys
def report():
    names = sorted({m.split('.')[0] for m in sys.modules} | {m for m in sys.modules
                   if m.split('.')[0] in ('cli', 'mirror', 'indexer')})
    sys.stderr.write('\\nMODULES ' + json.dumps(names) + '\\n')
atexit.register(report)
from cli.main import cli
cli(prog_name='openmirror')     # not main(): an armed command leaves without running atexit
"""
NETWORK_AND_FORMATS = {"aiohttp", "lxml", "pypdf", "protego", "alembic", "mako"}
TABLES = {"rich"}          # output piped, as here: tab-separated lines or JSON, no table


def loaded(home: Path, *args: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    done = subprocess.run([sys.executable, "-c", PROBE, "--home", str(home), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    line = done.stderr.rsplit("MODULES ", 1)[1]
    return set(json.loads(line))


@pytest.fixture
async def home(tmp_path: Path) -> Path:
    opened = Home.open(tmp_path / "home")
    async with open_home(opened) as services:
        await services.index.upsert_documents([document(i) for i in range(3)])
    return opened.path


def test_help_imports_no_command_module_and_no_library(home: Path) -> None:
    modules = loaded(home, "--help")
    commands = {m for m in modules if m.startswith("cli.") and m.endswith("_cmds")}
    assert not commands
    heavy = {"sqlalchemy", "cryptography", "rich", "multiformats", "indexer"} | NETWORK_AND_FORMATS
    assert not modules & heavy


def test_search_show_and_stats_read_with_bare_sqlite3(home: Path) -> None:
    for args in (("search", "river"), ("search", "", "--license", "CC-BY*", "--json"),
                 ("show", document(1).contents[0].cid or ""), ("stats",), ("stats", "--json")):
        modules = loaded(home, *args)
        assert not modules & {"sqlalchemy", "aiosqlite", "mirror.store", "indexer.index"}, args
        assert not modules & {"asyncio", "ssl", "mirror.services"}, args      # no event loop either


def test_search_and_show_load_neither_the_network_nor_the_key(home: Path) -> None:
    for args in (("search", "river"), ("show", document(1).contents[0].cid or ""),
                 ("search", "river", "--json"), ("stats",)):
        modules = loaded(home, *args)
        assert not modules & (NETWORK_AND_FORMATS | TABLES | {"cryptography", "mirror.node",
                                                              "mirror.pipeline"}), args


def test_status_loads_no_network_client_and_no_document_format(home: Path) -> None:
    modules = loaded(home, "status", "--json")
    assert not modules & (NETWORK_AND_FORMATS | TABLES | {"mirror.pipeline", "mirror.fetch"})
    assert "cryptography" in modules           # status names the node: its key is read


def test_status_reads_with_bare_sqlite3(home: Path) -> None:
    """``status`` reads its figures through the bare reader (``indexer.tallies``): no SQLAlchemy."""
    for args in (("status",), ("status", "--json"), ("status", "--check")):
        modules = loaded(home, *args)
        assert not modules & {"sqlalchemy", "aiosqlite", "indexer.index", "indexer.db"}, args
        assert "indexer.tallies" in modules, args
