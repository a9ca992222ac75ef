"""Making a change of a folder's entries durable: the one helper every writer of files here uses."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(folder: str | Path, *, strict: bool = True) -> None:
    """Flush FOLDER's entries (names created, renamed or removed) to disk; a no-op off POSIX.

    With ``strict=False`` a folder that cannot be opened or flushed (some network and FUSE file
    systems refuse it) is left as it is instead of raising ``OSError``."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        if strict:
            raise
        return
    try:
        os.fsync(fd)
    except OSError:
        if strict:
            raise
    finally:
        os.close(fd)
