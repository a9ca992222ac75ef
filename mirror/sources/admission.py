"""What a record may name: the line between a source and the pipeline, for local files.

Only a source the operator gave as a local path (a folder, a manifest file) may name local files;
every file of a record from any other source must be an http(s) URL with a host, or the record
fails with the reason (``refused: ...``) and nothing is read. Sources parse what they read into
records; the pipeline hands each record here before anything else, so no source kind, present or
future, can make the harvest open a local file.

A local source is the operator's own choice, like a shell script they run, and may name any
regular file they can read, with two exceptions that a mature tool keeps even for its own user:

- **nothing inside the node home** (``node.key``, the index, the blockstore, settings): mirroring
  publishes what it stores, and the node's private key must never become content. Files are
  judged by their real path (symlinks resolved). A folder that holds the home (where the walk
  would reach it) or lies inside it is refused as a whole (``UsageError``) rather than record by
  record;
- **no hidden files** (a name starting with ``.``, or a path through such a folder) beyond the
  folder of the manifest or the mirrored folder itself: ``~/.ssh``, ``~/.config``, ``.git``,
  ``.env``. The folder source already skips them; a manifest downloaded from elsewhere that names
  ``../../.ssh/id_ed25519`` gets the same answer. A manifest that itself sits in a hidden folder
  may name the files beside it.

Devices, FIFOs and other files that are not regular files are never read (``mirror.ingest`` counts
them as gone); the folder source follows no folder symlinks and no file symlink that leaves it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import urlsplit

from mirror.errors import UsageError
from mirror.sources.base import Record
from mirror.sources.files import local_path

LOCAL_KINDS = ("folder", "manifest")


def _is_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _hidden_beyond(real: str, base: str) -> bool:
    """True when a part of the real path ``real`` below what it shares with ``base`` is hidden."""
    shared = len(Path(os.path.commonpath([real, base])).parts)
    return any(part.startswith(".") for part in Path(real).parts[shared:])


class Admission:
    """Judge the files of records from one source (``location`` of kind ``kind``) for a home."""

    def __init__(self, location: str, kind: str, home: Path) -> None:
        path = local_path(location) if kind in LOCAL_KINDS else None
        self.local = path is not None
        self.kind = kind
        self.home = os.path.realpath(home)
        self.base = ""
        if path is not None:
            path = Path(os.path.abspath(path))
            self.base = str(path if kind == "folder" else path.parent)

    async def check_source(self) -> None:
        """Refuse, as a whole, a local folder that holds the node home or lies inside it."""
        if self.local and self.kind == "folder":
            await asyncio.to_thread(self._check_folder)

    def _check_folder(self) -> None:
        root = os.path.realpath(self.base)
        inside = os.path.commonpath([root, self.home]) == self.home
        holds = os.path.commonpath([root, self.home]) == root and not _hidden_beyond(self.home, root)
        if inside or holds:
            raise UsageError(f"{self.base} {'is inside' if inside else 'holds'} the node home {self.home}; "
                             "its key and index are never mirrored",
                             hint="mirror a folder that does not contain the home")

    async def refusal(self, record: Record) -> str | None:
        """Why the record may not be fetched (``refused: ...``), or None. A folder's files are not
        looked at again: its walk (``mirror.sources.folder.walk_files``) keeps to the folder and
        skips hidden names, and ``check_source`` kept the home out of it."""
        if self.local and self.kind == "folder":
            return None
        for ref in record.files:
            if ref.page is not None or _is_url(ref.url):
                continue
            if not self.local:
                return (f"refused: {ref.url!r} is not an http(s) URL; only a source given as a local "
                        "path may name local files")
            reason = await asyncio.to_thread(self._local_refusal, ref.url)
            if reason is not None:
                return reason
        return None

    def _local_refusal(self, url: str) -> str | None:  # runs in a worker thread
        path = local_path(url)
        if path is None or not path.is_absolute():
            return f"refused: {url!r} is neither an http(s) URL nor an absolute local path"
        real = os.path.realpath(path)
        if os.path.commonpath([real, self.home]) == self.home:
            return f"refused: {path} is inside the node home; its files are never mirrored"
        if _hidden_beyond(real, os.path.realpath(self.base)):
            return f"refused: {path} is a hidden file or lies in a hidden folder"
        return None
