"""Making a change of a folder's entries durable: the one helper every writer of files here uses,
``write_atomically`` for a file that must appear whole or not at all, and the home's private
files (the node key, the admin token), created and read with care."""

from __future__ import annotations

import os
import secrets
import stat
import uuid
from pathlib import Path
from typing import BinaryIO, Callable

from mirror.errors import ConfigError, UsageError


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


def create_private_file(path: Path, data: bytes) -> bool:
    """Create PATH holding DATA, readable by its owner only (mode 0600 from the first byte, never a
    wider window), published with a hard link so that of two processes creating it at once, both
    keep the winner's file; True when this call created it. ``OSError`` for anything else."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def read_private_file(path: Path, what: str, hint: str) -> bytes:
    """PATH's bytes; ``ConfigError`` (naming it WHAT) when group or others may read it (it may
    have leaked: the owner should know, as OpenSSH tells of a key) or it cannot be read."""
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{what} {path} is readable by others (mode {stat.S_IMODE(mode):04o})",
                              hint=hint)
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
