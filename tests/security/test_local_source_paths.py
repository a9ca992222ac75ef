"""What a local source may name: any regular file of the operator's, except the node home and hidden
files beyond the manifest's own folder; and what a remote manifest may name: only URLs."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from mirror.sources.manifest import remote_reference
from tests.security.harvest import held_bytes, mirror

BASE = "http://example.org/data/manifest.jsonl"


@pytest.mark.parametrize("ref,resolved", [
    ("files/a.pdf", "http://example.org/data/files/a.pdf"), ("a.pdf?x=1", "http://example.org/data/a.pdf?x=1"),
    ("./a.pdf", "http://example.org/data/a.pdf"), ("//cdn.example.org/a.pdf", "http://cdn.example.org/a.pdf"),
])
def test_a_remote_manifest_may_name_paths_below_it(ref: str, resolved: str):
    assert remote_reference(BASE, ref) == (resolved, None)


@pytest.mark.parametrize("ref,what", [
    ("file:///etc/passwd", "a file: URL"), ("FILE:///etc/passwd", "a file: URL"), ("file:/etc/passwd", "a file: URL"),
    ("ftp://example.org/a", "a ftp: URL"), ("gopher://127.0.0.1:6379/_x", "a gopher: URL"),
    ("C:/Windows/win.ini", "a c: URL"), ("/etc/passwd", "an absolute path"), ("../secret", "a path with '..'"),
    ("a/../../b", "a path with '..'"), ("a/%2e%2e/b", "a path with '..'"), ("..\\..\\node.key", "a path with a backslash"),
])
def test_a_remote_manifest_may_not_name_anything_else(ref: str, what: str):
    _, refused = remote_reference(BASE, ref)
    assert refused is not None and what in refused


async def test_a_local_manifest_may_not_name_the_home_or_hidden_files(cli_run, home_dir: Path, tmp_path: Path):
    data = tmp_path / "work" / "data"
    data.mkdir(parents=True)
    (data / "ok.txt").write_text("an open report")
    outside = tmp_path / "elsewhere" / "also-ok.txt"
    outside.parent.mkdir()
    outside.write_text("another open report")
    secrets = tmp_path / ".ssh"
    secrets.mkdir()
    (secrets / "id_ed25519").write_text("PRIVATE KEY")
    (data / "key-link.txt").symlink_to(home_dir / "node.key")
    (data / ".env").write_text("TOKEN=1")
    lines = {"ok": "data/ok.txt", "outside": str(outside), "up": "../elsewhere/also-ok.txt",
             "key": str(home_dir / "node.key"), "key-url": (home_dir / "node.key").as_uri(),
             "key-link": "data/key-link.txt", "index": str(home_dir / "index.sqlite"),
             "ssh": "../.ssh/id_ed25519", "dotenv": "data/.env", "remote-file-host": "file://server/share/x.txt"}
    manifest = tmp_path / "work" / "manifest.jsonl"
    manifest.write_text("".join(json.dumps({"id": k, "url": v, "license": "CC0-1.0"}) + "\n" for k, v in lines.items()))
    _, summary, _ = await mirror(cli_run, str(manifest))
    failed = {f["source_id"]: f["error"] for f in summary["failures"]}
    assert summary["stored"] == 3, summary                        # ok, outside, up
    assert set(failed) == set(lines) - {"ok", "outside", "up"}, failed
    assert all("refused" in why for why in failed.values()), failed
    assert "inside the node home" in failed["key-link"] and "hidden" in failed["ssh"]
    key = (home_dir / "node.key").read_bytes()               # created by the run, before the lines
    assert not any(key in b or b"PRIVATE KEY" in b or b"TOKEN=1" in b for b in held_bytes(home_dir))


async def test_a_manifest_in_a_hidden_folder_may_name_its_neighbours(cli_run, home_dir: Path, tmp_path: Path):
    folder = tmp_path / ".cache" / "collection"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("beside the manifest")
    (folder / "manifest.jsonl").write_text(json.dumps({"url": "a.txt", "license": "CC0-1.0"}) + "\n")
    code, summary, err = await mirror(cli_run, str(folder / "manifest.jsonl"))
    assert code == 0 and summary["stored"] == 1, (summary, err)


async def test_a_folder_holding_the_home_is_refused_whole(cli_run, tmp_path: Path):
    home = tmp_path / "mirror-home"
    (tmp_path / "report.txt").write_text("a report")
    for folder in (tmp_path, home, home / "blocks"):
        res = await asyncio.to_thread(cli_run_at, home, "mirror", str(folder), "--license", "CC0-1.0")
        assert res.exit_code == 2 and "node home" in res.stderr and "Traceback" not in res.output, res.output

async def test_a_home_the_walk_skips_does_not_stop_a_harvest(tmp_path: Path):
    (tmp_path / "report.txt").write_text("a report")
    res = await asyncio.to_thread(cli_run_at, tmp_path / ".openmirror", "mirror", str(tmp_path),
                                  "--license", "CC0-1.0", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["stored"] == 1, res.output


def cli_run_at(home: Path, *args: str) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    return CliRunner().invoke(cli, ["--home", str(home), *args], env=env, catch_exceptions=False)
