"""Writing stored content to the local disk: a file, or a whole directory tree (``openmirror get -o``).

    save_file(store, cid, Path("paper.pdf"))     # bytes written; atomically (temp file, rename)
    save_tree(store, cid, Path("site"))          # SavedTree; the folder appears only when complete

Both read through the store, so every block is verified as it is read. A tree is written into a
temporary folder beside the target and renamed into place at the end; a failure removes it and
leaves nothing. The target of a tree must not exist, or be an empty folder. The names come from
the DAG (hostile input): ``mirror.store.exporter.ls`` already drops empty names, ``.``, ``..``
and names with ``/`` or NUL, so every path stays inside the target; symlinks are not created
(a link could point anywhere on this machine): they are counted in ``SavedTree.skipped``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mirror.durable import write_atomically
from mirror.errors import DagPBError, UsageError
from mirror.store.cid import CID
from mirror.store.exporter import MAX_DEPTH

if TYPE_CHECKING:
    from mirror.store import ContentStore


@dataclass
class SavedTree:
    files: int = 0
    folders: int = 1                      # the root counts
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)     # symlinks, relative paths


def save_file(store: "ContentStore", cid: CID, path: Path) -> int:
    """Write the file atomically: a temp file beside ``path``, renamed into place when complete."""
    def write(fh: BinaryIO) -> int:
        written = 0
        for part in store.cat(cid):
            fh.write(part)
            written += len(part)
        return written

    return write_atomically(path, write)


def save_tree(store: "ContentStore", cid: CID, path: Path) -> SavedTree:
    """Write the directory ``cid`` as the folder ``path`` (see the module docstring)."""
    target = Path(path)
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise UsageError(f"{target} already exists", hint="name a new folder (or an empty one) with -o")
    try:
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part"))
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from exc
    saved = SavedTree()
    try:
        _write_folder(store, cid, tmp, "", saved, 0)
        if target.exists():
            target.rmdir()
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return saved


def _write_folder(store: "ContentStore", cid: CID, folder: Path, below: str, saved: SavedTree,
                  depth: int) -> None:
    if depth > MAX_DEPTH:
        raise DagPBError(f"{cid}: directories nested deeper than {MAX_DEPTH} levels")
    for entry in store.ls(cid):
        where = f"{below}{entry.name}"
        info = store.stat(entry.cid)
        if info.type == "directory":
            (folder / entry.name).mkdir()
            saved.folders += 1
            _write_folder(store, entry.cid, folder / entry.name, where + "/", saved, depth + 1)
        elif info.type == "file":
            with open(folder / entry.name, "xb") as fh:
                for part in store.cat(entry.cid):
                    fh.write(part)
            saved.files += 1
            saved.bytes += info.size
        else:
            saved.skipped.append(where)
