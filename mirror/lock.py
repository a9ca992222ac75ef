"""The home's locks: one node serves on a home at a time, as Kubo's ``repo.lock``; and ``gc``
runs alone.

    lock = HomeLock.take(home)          # HomeLocked, naming the running node, when one serves here
    lock.record(url)                    # where it serves, for `status` and the refusal message
    lock.release()

    writing = WriteLock.take(home)                  # every writable open (mirror.services.open_home)
    alone = WriteLock.take(home, exclusive=True)    # gc: HomeLocked while anything else writes

``HOME/node.lock`` is locked with ``flock`` for as long as the node runs and holds a JSON line
``{"pid", "url", "since"}``. The kernel drops a lock when the process ends, however it ends, so a
lock left by a killed process never blocks the next one (the file stays, unlocked). Other commands
(``mirror`` beside ``serve``, ``status``, ``search``) do not take the node's lock; ``running(home)``
tells them whether a node serves and where.

``HOME/write.lock`` is held shared by every process that has the home open for writing (a node, a
harvest, ``add``...), and exclusively by ``gc``: a block another process has just stored, or
found already stored and is about to refer to, is never swept from under it.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.clock import stamp_time
from mirror.errors import HomeLocked
from mirror.home import Home

LOCK_FILE = "node.lock"
WRITE_LOCK_FILE = "write.lock"
MAX_LOCK_BYTES = 4096


@dataclass(frozen=True)
class LockHolder:
    """The node that holds a home's lock: its process and, once it serves, its URL."""

    pid: int | None
    url: str | None
    since: str | None

    def describe(self) -> str:
        pid = f"process {self.pid}" if self.pid else "another process"
        return f"{pid}, serving on {self.url}" if self.url else f"{pid}, starting"


class HomeLock:
    """The lock a serving node holds on its home (see the module docstring)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self._fd = path, fd

    @classmethod
    def take(cls, home: Home) -> "HomeLock":
        """Lock HOME for this process; ``HomeLocked`` (naming the holder) when a node serves there."""
        path = home.path / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = read_holder(path) or LockHolder(None, None, None)
            raise HomeLocked(f"another openmirror node serves on the home {home.path} ({holder.describe()})",
                             hint=_hint(holder)) from None
        except BaseException:
            os.close(fd)
            raise
        lock = cls(path, fd)
        lock._write({"pid": os.getpid(), "url": None, "since": stamp_time()})
        return lock

    def record(self, url: str) -> None:
        """Say where the node serves (``status`` reads it)."""
        self._write({"pid": os.getpid(), "url": url, "since": stamp_time()})

    def release(self) -> None:
        """Empty the file and let go (the next node may start); idempotent."""
        if self._fd < 0:
            return
        try:
            os.ftruncate(self._fd, 0)
        finally:
            os.close(self._fd)            # closing the descriptor releases the flock
            self._fd = -1

    def _write(self, holder: dict[str, Any]) -> None:
        data = (json.dumps(holder) + "\n").encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)


def running(home: Home) -> LockHolder | None:
    """The node serving on HOME now, or None (no lock file, or nobody holds its lock)."""
    path = home.path / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_holder(path) or LockHolder(None, None, None)
    except OSError:
        return None
    finally:
        os.close(fd)                      # a shared lock we got is dropped with the descriptor
    return None


def read_holder(path: Path) -> LockHolder | None:
    """What a lock file says (None when it is empty or not ours)."""
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read(MAX_LOCK_BYTES) or b"null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid, url, since = data.get("pid"), data.get("url"), data.get("since")
    return LockHolder(pid if isinstance(pid, int) else None, url if isinstance(url, str) else None,
                  since if isinstance(since, str) else None)


def _hint(holder: LockHolder) -> str:
    stop = f"stop it first (Ctrl-C where it runs, or kill {holder.pid})" if holder.pid else "stop it first"
    return f"{stop}, or serve another home (--home DIR)"


class WriteLock:
    """A shared (writers) or exclusive (``gc``) lock on ``HOME/write.lock``."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def take(cls, home: Home, *, exclusive: bool = False) -> "WriteLock":
        """Wait for a shared lock; with EXCLUSIVE, take it at once or raise ``HomeLocked``."""
        fd = os.open(home.path / WRITE_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
        except BlockingIOError:
            os.close(fd)
            node = running(home)
            who = f"a node ({node.describe()})" if node else "another openmirror command"
            raise HomeLocked(f"{who} is using the home {home.path}; this needs it alone",
                             hint=_hint(node) if node else "run it again once the other command ends") from None
        except BaseException:
            os.close(fd)
            raise
        return cls(fd)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
