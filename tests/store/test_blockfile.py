"""Block files: a full leaf goes straight to the disk (not left in the page cache), every other
block the ordinary way, and both read back as written, through the blockstore's commit."""

from __future__ import annotations

import ctypes
import mmap
import os
from pathlib import Path

import pytest

from mirror.store.blockfile import ALIGN, DIRECT_MIN, BlockFiles
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID, RAW

DISK_FILE_SYSTEMS = {"ext4", "xfs", "btrfs", "ext3", "f2fs"}


def file_system(path: Path) -> str:
    """The type of the file system holding PATH (the longest mount point above it)."""
    best, kind = "", ""
    with open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            _, point, fs_type = line.split()[:3]
            if str(path).startswith(point.rstrip("/") + "/") and len(point) > len(best):
                best, kind = point, fs_type
    return kind


def resident_pages(path: Path) -> int:
    """How many pages of PATH the page cache holds (mincore(2) over a private mapping of it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
    size = path.stat().st_size
    vector = (ctypes.c_ubyte * -(-size // mmap.PAGESIZE))()
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), size, access=mmap.ACCESS_COPY) as mapped:
        start = ctypes.c_char.from_buffer(mapped)
        try:
            done = libc.mincore(ctypes.addressof(start), size, vector)
        finally:
            del start
    assert done == 0, os.strerror(ctypes.get_errno())
    return sum(page & 1 for page in vector)


@pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="no O_DIRECT on this platform")
def test_a_full_leaf_skips_the_page_cache_and_a_partial_one_does_not(tmp_path: Path) -> None:
    if file_system(tmp_path) not in DISK_FILE_SYSTEMS:
        pytest.skip(f"{tmp_path} is not on a disk file system (its pages are memory)")
    files = BlockFiles()
    full, partial = os.urandom(1 << 20), os.urandom((1 << 20) - 100)
    files.write(str(tmp_path / "full"), full)
    files.write(str(tmp_path / "partial"), memoryview(partial))
    assert files.direct                                        # the file system took O_DIRECT
    assert resident_pages(tmp_path / "full") == 0
    assert resident_pages(tmp_path / "partial") > 0            # left in the cache, as before
    assert (tmp_path / "full").read_bytes() == full and (tmp_path / "partial").read_bytes() == partial


def test_blocks_of_every_size_read_back_after_commit(tmp_path: Path) -> None:
    store = BlockStore(tmp_path / "blocks")
    sizes = [1, ALIGN, DIRECT_MIN - ALIGN, DIRECT_MIN, DIRECT_MIN + 1, 1 << 20, (1 << 20) + ALIGN, 2 << 20]
    blocks = {CID.of(data, RAW): data for data in (os.urandom(n) for n in sizes)}
    with store.batch() as batch:
        for cid, data in blocks.items():
            assert batch.put_hashed(cid, memoryview(data))
    assert all(store.get(cid) == data for cid, data in blocks.items())
