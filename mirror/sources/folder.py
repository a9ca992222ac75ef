"""A local folder: every regular file under it is a document, under the licence given with
``--assume-license`` (or the older ``--license``).

Walked in sorted order; names starting with ``.`` (files and folders) are skipped, folder symlinks
are not followed, and a file symlink counts only when it resolves to a file inside the folder. The
source id is the path relative to the folder (``/``-separated), the title the file name without
its extension (``_`` and ``-`` read as spaces), the datestamp the file's mtime and size.

State key: ``count``, files already yielded; a checkpoint every ``CHECKPOINT_FILES`` files.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Iterator

from mirror.errors import NotACollection, UsageError
from mirror.sources.base import Checkpoint, FileRef, Metadata, Record, Source, slug
from mirror.sources.files import file_type, local_path
from indexer.clock import stamp_time

mimetypes.init()   # the system's type tables are read at import, never on the event loop

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher

CHECKPOINT_FILES = 500
READ_BATCH = 500


def walk_files(root: Path) -> Iterator[Path]:
    """Regular files under ``root`` in sorted order, skipping dotfiles and escaping symlinks."""
    real_root = root.resolve()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not os.path.islink(os.path.join(folder, d)))
        for name in sorted(files):
            path = Path(folder, name)
            if name.startswith(".") or not _inside(path, real_root):
                continue
            yield path


def _inside(path: Path, real_root: Path) -> bool:
    if not path.is_symlink():
        return path.is_file()
    target = path.resolve()
    return target.is_file() and target.is_relative_to(real_root)


def _stat_batch(files: Iterator[Path]) -> list[tuple[Path, os.stat_result]]:
    out = []
    for path in islice(files, READ_BATCH):
        try:
            out.append((path, path.stat()))
        except OSError:   # removed while we walk: not a file of the folder any more
            continue
    return out


class FolderSource(Source):
    kind = "folder"

    def __init__(self, location, options) -> None:
        super().__init__(location, options)
        path = local_path(location)
        if path is None:
            raise NotACollection(f"{location} is not a local folder")
        self.root = Path(os.path.abspath(path))   # no file system call on the event loop
        if not options.license:
            raise UsageError(f"mirroring the folder {path} needs the licence of its files",
                             hint="declare it with --assume-license SPDX-ID (e.g. --assume-license CC-BY-4.0)")

    @classmethod
    async def detect(cls, location: str, fetcher: "Fetcher | None") -> bool:
        path = local_path(location)
        if path is None:
            return False
        return await asyncio.to_thread(lambda: path.is_dir() and next(walk_files(path), None) is not None)

    def default_collection(self) -> str:
        return slug(self.root.name)

    async def harvest(self, fetcher: "Fetcher", state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        if not await asyncio.to_thread(self.root.is_dir):
            raise NotACollection(f"{self.root}: not a folder")
        done = int(state.get("count") or 0)
        files = walk_files(self.root)
        count = 0
        async with self.counting(lambda: sum(1 for _ in walk_files(self.root)), done):
            while batch := await asyncio.to_thread(_stat_batch, files):
                for path, stat in batch:
                    count += 1
                    if count <= done:
                        continue
                    yield self._record(path, stat)
                    if count % CHECKPOINT_FILES == 0:
                        yield Checkpoint({"count": str(count)})
        yield Checkpoint({})

    def _record(self, path: Path, stat: os.stat_result) -> Record:
        rel = path.relative_to(self.root).as_posix()
        mtime = stamp_time(datetime.fromtimestamp(stat.st_mtime, timezone.utc))
        media = file_type(path.name) or mimetypes.guess_type(path.name)[0]
        metadata = Metadata(title=" ".join(path.stem.replace("_", " ").replace("-", " ").split()),
                            source_url=str(path))
        ref = FileRef(str(path), name=path.name, media_type=media, size=stat.st_size)
        return Record(rel, metadata, (ref,), tuple(self.options.license or ()),
                      datestamp=f"{mtime}/{stat.st_size}")
