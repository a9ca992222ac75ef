"""A real, small filesystem for disk-full tests: a tmpfs mounted on a test's folder.

A full disk is tested for real: writes fail with ENOSPC exactly as on a full partition (SQLite
answers SQLITE_FULL, ``open``/``write`` raise OSError 28), and ``grow`` gives space back by
remounting with a larger size, as an operator freeing space would. A tmpfs needs the right to mount
(root, as in CI here); a loop-mounted ext4 image needs the same right, and RLIMIT_FSIZE fails
writes with EFBIG per file rather than a full disk, so where mounting is not allowed the tests are
skipped with that reason rather than faked.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

FILLER = ".filler"


class SmallDisk:
    def __init__(self, path: Path, size: int) -> None:
        self.path, self.size = path, size

    def free(self) -> int:
        return os.statvfs(self.path).f_bavail * os.statvfs(self.path).f_frsize

    def fill(self, leave: int = 0) -> None:
        """Take all but LEAVE bytes of the free space (a filler file, removed by ``grow``)."""
        with open(self.path / FILLER, "ab") as fh:
            chunk = b"\0" * (1 << 16)
            try:
                while self.free() > leave + len(chunk):
                    fh.write(chunk)
                    fh.flush()
                while self.free() > leave:
                    fh.write(b"\0" * 4096)
                    fh.flush()
            except OSError:
                pass

    def read_only(self) -> None:
        """Remount the disk read-only, as a home on write-protected media is."""
        subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True)

    def grow(self, size: int) -> None:
        """Space is back: remove the filler and remount with SIZE bytes."""
        (self.path / FILLER).unlink(missing_ok=True)
        subprocess.run(["mount", "-o", f"remount,size={size}", str(self.path)], check=True)
        self.size = size


def mount_small_disk(path: Path, size: int) -> Iterator[SmallDisk]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()[:100]}): a full disk "
                    "is tested on a real filesystem only")
    try:
        yield SmallDisk(path, size)
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """An 8 MiB tmpfs on tmp_path/disk."""
    yield from mount_small_disk(tmp_path / "disk", 8 << 20)
