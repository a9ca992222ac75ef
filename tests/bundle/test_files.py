"""Bundles of several files, tar files read as hostile input, and the commands in real processes."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from mirror.bundle import Sizes, export_bundle, import_bundle
from mirror.errors import IntegrityError, UsageError
from mirror.home import Home
from tests.bundle.bundle_helpers import Source, block_files, fresh_home, manifest, om, reseal, rows

SMALL = Sizes(page_entries=3, roots_per_car=2)


async def test_a_long_feed_and_many_contents_make_several_files(source: Source, tmp_path: Path):
    home = Home.open(source.home)
    report = await export_bundle(home, "notes", tmp_path / "bundle", sizes=SMALL)
    data = manifest(tmp_path / "bundle")
    author = data["feeds"][0]["author"]
    assert [(f["path"], f["first"], f["last"]) for f in data["feeds"][0]["files"]] == [
        (f"entries/{author}.omep", 1, 3), (f"entries/{author}.2.omep", 4, 4)]
    assert [(c["path"], c["roots"]) for c in data["content"]] == [("content.car", 2), ("content-2.car", 1)]
    assert report.car_bytes == sum(c["size"] for c in data["content"])
    imported = await import_bundle(Home.open(fresh_home(tmp_path / "B")), tmp_path / "bundle")
    assert imported.entries_stored == 4 and imported.contents == 3 and imported.contents_kept == 3
    assert imported.collections == {"notes": 3, "other": 1}


async def test_entries_files_in_the_wrong_order_are_refused(source: Source, tmp_path: Path):
    bundle = tmp_path / "bundle"
    await export_bundle(Home.open(source.home), "notes", bundle, sizes=SMALL)
    first, second = sorted((bundle / "entries").iterdir(), key=lambda p: len(p.name))
    swap = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(swap)
    for path in (first, second):
        reseal(bundle, f"entries/{path.name}")
    home = fresh_home(tmp_path / "B")
    with pytest.raises(IntegrityError, match="does not hold entries 1…3"):
        await import_bundle(Home.open(home), bundle)
    assert rows(home, "SELECT count(*) FROM feed_entries") == [(0,)] and block_files(home) == []


def test_sizes_outside_the_protocol_limits_are_refused():
    with pytest.raises(UsageError):
        Sizes(page_entries=5001)


def _tar(path: Path, members: list[tuple[str, bytes, bytes]]) -> Path:
    """A tar of (name, type, data) members."""
    with tarfile.open(path, "w") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            info.type, info.size = kind, len(data) if kind == tarfile.REGTYPE else 0
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return path


@pytest.mark.parametrize("members, code, message", [
    ([("manifest.json", tarfile.REGTYPE, b"{}"), ("manifest.json", tarfile.REGTYPE, b"{}")], 4, "twice"),
    ([("manifest.json", tarfile.SYMTYPE, b"")], 2, "has no manifest.json"),
    ([("notes.txt", tarfile.REGTYPE, b"hello")], 2, "has no manifest.json"),
])
def test_hostile_tar_files_are_refused(members, code: int, message: str, tmp_path: Path):
    result = om(fresh_home(tmp_path / "B"), "import", str(_tar(tmp_path / "x.tar", members)))
    assert result.exit_code == code and message in result.stderr, result.output


def test_a_truncated_tar_bundle_is_refused(source: Source, tmp_path: Path):
    tar = tmp_path / "notes.tar"
    assert om(source.home, "export", "notes", "-o", str(tar)).exit_code == 0
    tar.write_bytes(tar.read_bytes()[:2048])
    home = fresh_home(tmp_path / "B")
    result = om(home, "import", str(tar))
    assert result.exit_code in (2, 4) and result.stderr.startswith("Error: "), result.output
    assert rows(home, "SELECT count(*) FROM documents") == [(0,)]


def test_two_machines_in_real_processes(source: Source, tmp_path: Path):
    """`openmirror export` on one home, `openmirror import` of the tar on a fresh other one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    home_a = shutil.copytree(source.home, tmp_path / "A")

    def run(home: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cli.main", "--home", str(home), *args],
                              capture_output=True, text=True, env=env, timeout=60,
                              cwd=Path(__file__).parents[2])

    exported = run(home_a, "export", "notes", "-o", str(tmp_path / "disk" / "notes.tar"))
    assert exported.returncode == 0, exported.stderr
    assert "3 documents, 3 contents" in exported.stdout
    imported = run(tmp_path / "B", "import", str(tmp_path / "disk" / "notes.tar"), "--json")
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert report["collections"] == {"notes": 3, "other": 1} and report["texts"] == 3
