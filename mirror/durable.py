"""Making a change of a folder's entries durable: the one helper every writer of files here uses,
and ``write_atomically`` for a file that must appear whole or not at all."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import BinaryIO, Callable

from mirror.errors import UsageError


def write_atomically(path: str | Path, write: Callable[[BinaryIO], int]) -> int:
    """Call WRITE on a new temp file beside PATH, flush it to disk and rename it into place; the
    temp file is removed if anything fails. Returns what WRITE returns (the bytes written)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # the umask applies
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            written = write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written


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
