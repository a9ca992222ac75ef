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


async def test_the_manifest_examples_in_the_docs_read_as_documented(tmp_path: Path) -> None:
    from mirror.fetch.fetcher import Fetcher
    from mirror.settings import Settings
    from mirror.sources import SourceOptions
    from mirror.sources.manifest import ManifestSource
    from tests.sources.harvest import harvest

    blocks = re.findall(r"```(jsonl|csv)\n(.*?)```", (ROOT / "docs" / "manifest.md").read_text(), re.S)
    assert [kind for kind, _ in blocks] == ["jsonl", "csv"]
    for kind, body in blocks:
        manifest = tmp_path / kind / f"manifest.{kind}"
        manifest.parent.mkdir()
        manifest.write_text(body)
        async with Fetcher(Settings(env={}), tmp_path / "staging") as fetcher:
            run = await harvest(ManifestSource(str(manifest), SourceOptions()), fetcher)
        report, rain = run.records
        assert report.error is None and rain.error is None, (report.error, rain.error)
        assert report.files[0].url == str(manifest.parent / "files" / "report.pdf")   # relative to the manifest
        assert report.metadata.title == "Annual report 2025" and report.metadata.date == "2025-03-01"
        assert rain.files[0].url == "https://data.example.org/rain.csv"
        assert "open data" in rain.metadata.subjects
    assert report.metadata.creators == ("Lovelace, Ada", "Hopper, Grace")    # CSV: ';' separates


def test_the_top_level_help_shows_whole_one_line_descriptions() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")} | {"COLUMNS": "80"}
    out = subprocess.run([sys.executable, "-m", "cli.main", "--help"], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout
    listed = " ".join(out.split("Commands:")[1].split())
    assert "..." not in out.split("Commands:")[1]
    for name, command in ((n, load_command(n)) for n in COMMAND_MODULES):
        assert command is not None
        first = " ".join(command.get_short_help_str(limit=1000).split())
        assert f"{name} {first}" in listed, name
