"""The root command: lazy loading stays complete and cheap."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import cli
from cli.groups import WHOLE
from cli.main import COMMAND_MODULES, load_command


def test_every_command_module_is_registered_lazily():
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(cli.__path__):
        if info.name.endswith("_cmds"):
            module = importlib.import_module(f"cli.{info.name}")
            found.update({c.name: module.__name__ for c in module.COMMANDS})
    missing = {n: m for n, m in found.items() if COMMAND_MODULES.get(n, ("",))[0] != m}
    assert not missing, f"add these to cli.main.COMMAND_MODULES: {missing}"


def test_every_summary_in_the_table_is_the_commands_own():
    wrong = {}
    for name, (_, summary) in COMMAND_MODULES.items():
        command = load_command(name)
        assert command is not None, name
        if command.get_short_help_str(limit=WHOLE) != summary:
            wrong[name] = command.get_short_help_str(limit=WHOLE)
    assert not wrong, f"set these summaries in cli.main.COMMAND_MODULES: {wrong}"


def test_cid_does_not_load_the_index_the_crawler_or_the_node(tmp_path):
    probe = ("import sys; from cli.main import load_command; load_command('cid'); "
             "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('sqlalchemy', 'aiohttp', 'lxml') or m == 'indexer.index')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_help_lists_the_commands(cli_run):
    res = cli_run("--help")
    for name in ("cid", "add", "cat", "car", "mirror", "search", "config"):
        assert f"  {name} " in res.output
