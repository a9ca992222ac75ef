"""Docs tests: every command is documented, every error class is in docs/errors.md, every command's
help has examples."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import click

import mirror.errors as mirror_errors
from cli.main import COMMAND_MODULES, load_command

ROOT = Path(__file__).parents[1]


def _docs_text() -> str:
    return "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def _leaf_commands():
    for name in COMMAND_MODULES:
        command = load_command(name)
        if command is None:
            continue
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                yield f"{name} {sub_name}", sub
        else:
            yield name, command


def test_every_command_appears_in_the_readme_or_docs():
    text = _docs_text()
    missing = [name for name, _ in _leaf_commands() if f"openmirror {name}" not in text]
    assert not missing, f"document these commands in README.md or docs/: {missing}"


def test_every_command_help_has_examples():
    missing = [name for name, cmd in _leaf_commands() if "Examples:" not in (cmd.help or "")]
    assert not missing, missing


def test_every_error_class_is_documented():
    text = (ROOT / "docs" / "errors.md").read_text()
    classes = [n for n, obj in inspect.getmembers(mirror_errors, inspect.isclass)
               if issubclass(obj, mirror_errors.MirrorError)]
    assert not [n for n in classes if f"`{n}`" not in text]


def _words(text: str) -> str:
    """Help text without layout: click versions differ in column widths and in bracketing optional
    subcommands, never in the words."""
    return re.sub(r"[\s\[\]]+", "", text)


def test_docs_commands_md_is_current():
    from cli.reference import reference
    assert _words((ROOT / "docs" / "commands.md").read_text()) == _words(reference()), \
        "regenerate: python -m cli.reference > docs/commands.md"


def test_stale_commands_md_is_noticed():
    from cli.reference import reference
    stale = reference().replace("Show this message and exit.", "Show this message.", 1)
    assert _words(stale) != _words(reference())
