"""Commands on a home that is not there or cannot be written (issue 16 item 4), as real processes:
a command that only reads never creates an empty node, and a read-only home is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.smalldisk import SmallDisk, small_disk  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
CID = "bafkreic3fwx4stdw2ytlwfhmcvwwuagollys6ygn733ff3a42wl6l5md5q"   # the notes' first document

READERS = [("search", "words"), ("show", CID), ("stats",), ("status",), ("peers",), ("ls", CID),
           ("cat", CID), ("car", "export", CID, "-o", "x.car"), ("verify",),
           ("export", "notes", "-o", "bundle")]


def openmirror(home: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")} | {"PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "cli.main", "--home", str(home), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("Error: ") and "Traceback" not in result.stderr, result.stderr
    assert len(lines) <= 2 and all(line.startswith("Hint: ") for line in lines[1:]), result.stderr
    return lines[0]


@pytest.mark.parametrize("args", READERS, ids=lambda a: " ".join(a[:2]))
def test_a_command_that_only_reads_refuses_a_missing_home(tmp_path: Path, args: tuple[str, ...]) -> None:
    home = tmp_path / "nowhere"
    result = openmirror(home, *args, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert one_error(result) == f"Error: no openmirror home at {home}"
    assert not home.exists()                      # nothing was created


def test_cid_and_db_current_need_no_home_and_make_none(tmp_path: Path) -> None:
    home = tmp_path / "nowhere"
    result = openmirror(home, "cid", str(ROOT / "examples" / "hello.txt"))
    assert result.returncode == 0 and result.stdout.startswith("bafk"), result.stderr
    result = openmirror(home, "db", "current")
    assert result.returncode == 0 and result.stdout.startswith("none (no index yet)"), result.stderr
    assert not home.exists()


def test_a_folder_that_is_no_home_is_refused_too(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = openmirror(empty, "status")
    assert result.returncode == 3 and one_error(result) == f"Error: no openmirror home at {empty}"
    assert list(empty.iterdir()) == []


def test_a_command_that_writes_still_creates_its_home(tmp_path: Path) -> None:
    home = tmp_path / "new"
    assert openmirror(home, "add", str(ROOT / "examples" / "hello.txt"), "--license", "CC0-1.0").returncode == 0
    assert openmirror(home, "stats").returncode == 0


def test_a_read_only_home_is_one_clear_line_for_every_command(small_disk: SmallDisk, tmp_path: Path) -> None:
    home = small_disk.path / "home"
    assert openmirror(home, "mirror", str(ROOT / "examples" / "notes" / "manifest.jsonl")).returncode == 0
    small_disk.read_only()
    for args in [("search", "content"), ("status",), ("stats",), ("show", CID), ("peers",),
                 ("add", str(ROOT / "README.md")), ("add", "--no-index", str(ROOT / "README.md")),
                 ("mirror", str(ROOT / "examples" / "notes" / "manifest.jsonl")), ("serve", "--port", "0")]:
        result = openmirror(home, *args, cwd=tmp_path)
        assert result.returncode == 3, (args, result.stderr)
        assert "read-only file system" in result.stderr.lower(), (args, result.stderr)
        one_error(result)
    new = openmirror(small_disk.path / "other", "add", str(ROOT / "README.md"))
    assert new.returncode == 2 and "cannot create home" in one_error(new)
    assert "read-only file system" in new.stderr
