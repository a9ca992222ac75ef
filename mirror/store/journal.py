"""The block journal: blocks committed for work that is not finished yet, so that a process killed
in between leaves nothing behind for good.

    journal = Journal(store)                 # blocks/.journal/<pid>-<id>
    commit_batches(batches, journal)         # their new keys are written (and flushed) first
    ...                                      # the index transaction that refers to them
    journal.close()                          # done: the blocks are accounted for

A harvest commits a group's blocks, then the index transaction that makes them documents; a
replication fetch commits blocks as they arrive and the content counts as held only when its DAG
is whole; a bundle import commits every block before it applies the entries. A ``kill -9`` in
between leaves blocks nothing refers to. Each such piece of work keeps a journal: the keys of the
blocks it added (a block that was already stored is not listed), appended and flushed before the
blocks are moved into place, the file removed once the work is recorded. A journal whose process
is gone is *stale*: ``mirror.reclaim`` deletes the blocks it lists that no held content needs,
at the start of a node, of a harvest, and with ``verify --repair``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Iterable, Iterator

from mirror.store.blockstore import BlockStore, _multihash_of_key, _pid_alive

JOURNALS = ".journal"


class Journal:
    """One piece of work's list of the blocks it added (see the module docstring)."""

    def __init__(self, store: BlockStore) -> None:
        self.path = store.root / JOURNALS / f"{os.getpid()}-{uuid.uuid4().hex}"
        self._file: int | None = None
        self.written = False             # the file exists (nothing touches the disk before)

    def add(self, keys: Iterable[str]) -> None:
        """Record the block keys (file name stems) about to be committed; durable on return.
        Blocking: call it from a worker thread (``commit_batches`` does)."""
        text = "".join(f"{key}\n" for key in keys)
        if not text:
            return
        if self._file is None:
            self.path.parent.mkdir(exist_ok=True)
            self._file = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self.written = True
        os.write(self._file, text.encode("ascii"))
        os.fsync(self._file)

    def close(self) -> None:
        """The work is recorded: forget the journal (blocking when it was written)."""
        if self._file is not None:
            os.close(self._file)
            self._file = None
        if self.written:
            self.path.unlink(missing_ok=True)
            self.written = False

    async def aclose(self) -> None:
        """``close`` from a coroutine: off the event loop, and only when there is a file."""
        if self.written:
            await asyncio.to_thread(self.close)


def stale_journals(store: BlockStore) -> list[Path]:
    """Journals of processes that are gone."""
    folder = store.root / JOURNALS
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            found.append(entry)
    return found


def journaled(paths: Iterable[Path]) -> Iterator[bytes]:
    """The multihashes the journals at PATHS list (a torn last line is skipped)."""
    for path in paths:
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            continue
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                yield _multihash_of_key(line.strip())
            except ValueError:
                continue
