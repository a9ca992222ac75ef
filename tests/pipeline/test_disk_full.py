"""A disk that fills up during a harvest or an import, for real (a small tmpfs, ``tests.smalldisk``):
one line naming the disk, exit 3, nothing stored lost, and the same command resumes once space is
back. The commands run as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.smalldisk import SmallDisk, small_disk  # noqa: F401  (fixture)

ROOT = Path(__file__).parents[2]
FILES = 40


def openmirror(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    return subprocess.run([sys.executable, "-m", "cli.main", "--home", str(home), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def papers(folder: Path) -> Path:
    folder.mkdir()
    for i in range(FILES):
        (folder / f"paper-{i:02d}.bin").write_bytes(os.urandom(250_000))     # 10 MB in all
    return folder


def one_error_about_the_disk(result: subprocess.CompletedProcess[str], source: Path) -> str:
    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "no space left on the disk holding" in errors[0]
    assert str(source) not in result.stderr and "Traceback" not in result.stderr
    return errors[0]


def test_a_harvest_that_fills_the_disk_stops_with_one_line_and_resumes(small_disk: SmallDisk,
                                                                       tmp_path: Path) -> None:
    source = papers(tmp_path / "papers")
    home = small_disk.path / "home"
    one_error_about_the_disk(openmirror(home, "mirror", str(source), "--license", "CC0-1.0"), source)
    small_disk.grow(64 << 20)                                       # space is back
    again = openmirror(home, "--json", "mirror", str(source), "--license", "CC0-1.0")
    assert again.returncode == 0, again.stderr
    stats = json.loads(openmirror(home, "--json", "stats").stdout)
    assert stats["documents"] == FILES
    assert openmirror(home, "verify").returncode == 0              # nothing stored was damaged


def test_an_add_on_a_full_disk_names_the_disk_not_the_file(small_disk: SmallDisk,
                                                           tmp_path: Path) -> None:
    home = small_disk.path / "home"
    assert openmirror(home, "config", "path").returncode == 0       # makes the home
    big = tmp_path / "report.bin"
    big.write_bytes(os.urandom(3 << 20))
    small_disk.fill(leave=256 << 10)
    one_error_about_the_disk(openmirror(home, "add", str(big), "--license", "CC0-1.0"), big)
    small_disk.grow(64 << 20)
    assert openmirror(home, "add", str(big), "--license", "CC0-1.0").returncode == 0
    assert openmirror(home, "verify").returncode == 0
