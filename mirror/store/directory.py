"""Import a path the way ``ipfs add [-r]`` does: a file, a symlink, or a directory tree.

* Files go through the streaming importer; symlinks become UnixFS Symlink nodes holding their
  target (never followed); empty directories are kept; names starting with ``.`` are skipped
  below the given path unless ``hidden``.
* A directory is a dag-pb node with Data ``08 01`` and one link per entry (Name = the entry's
  name, Tsize = its cumulative size), sorted by name bytes.
* It becomes a HAMT (``mirror.store.hamt``) when the profile's size estimate is strictly greater
  than its threshold (Kubo >= 0.40): ``links`` sums name length + binary CID length per entry,
  ``block`` is the exact size of the plain directory node, ``disabled`` never shards.

Directory results carry ``sha256 = ""`` (a tree is not one byte stream) and ``size`` = the file
bytes below it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from mirror.errors import DiskFull, UsageError
from mirror.store.cid import CID, DAG_PB
from mirror.store.dagpb import PBLink, PBNode, encode_node
from mirror.store.hamt import build_hamt
from mirror.store.profiles import Profile
from mirror.store.unixfs import BlockSink, ImportResult, import_file
from mirror.store.unixfs_pb import DIRECTORY, SYMLINK, UnixFSData, encode_unixfs

_DIRECTORY_DATA = encode_unixfs(UnixFSData(DIRECTORY))      # 08 01


@dataclass
class _Tally:
    """Blocks made and file bytes seen, summed over a tree."""

    blocks: int = 0
    size: int = 0


class _NodeWriter:
    """Hashes and stores dag-pb nodes with the profile's CID version."""

    def __init__(self, profile: Profile, sink: BlockSink | None, tally: _Tally) -> None:
        self._version = profile.cid_version
        self._hash_code = profile.hash_code
        self._sink = sink
        self._tally = tally

    def put(self, block: bytes) -> CID:
        cid = CID.of(block, DAG_PB, self._version, self._hash_code)
        self._tally.blocks += 1
        if self._sink is not None:
            self._sink.put(cid, block)
        return cid


def build_directory(entries: list[PBLink], profile: Profile, sink: BlockSink | None = None,
                    ) -> tuple[CID, int, int]:
    """A directory over ready entries (plain or HAMT by the profile); (cid, tsize, blocks)."""
    tally = _Tally()
    cid, tsize = _directory_node(entries, profile, _NodeWriter(profile, sink, tally))
    return cid, tsize, tally.blocks


def _directory_node(entries: list[PBLink], profile: Profile, writer: _NodeWriter) -> tuple[CID, int]:
    block = encode_node(PBNode(entries, _DIRECTORY_DATA))
    if _should_shard(entries, len(block), profile):
        return build_hamt(entries, profile.hamt_fanout, writer.put)
    return writer.put(block), len(block) + sum(entry.tsize for entry in entries)


def _should_shard(entries: list[PBLink], block_size: int, profile: Profile) -> bool:
    if profile.hamt_estimate == "links":
        estimate = sum(len(entry.name.encode("utf-8")) + len(entry.hash) for entry in entries)
    elif profile.hamt_estimate == "block":
        estimate = block_size
    else:
        return False
    return estimate > profile.hamt_threshold


@dataclass(frozen=True)
class TreeEntry:
    """One file, symlink or directory below an imported directory: its path as scanned (the
    given path joined with the names below it) and its CID."""

    path: str
    cid: CID
    kind: str               # file | directory | symlink


def import_path(path: Path, profile: Profile, sink: BlockSink | None = None, *,
                recursive: bool = False, hidden: bool = False,
                listing: list[TreeEntry] | None = None) -> ImportResult:
    """Import a file, a symlink or (with ``recursive``) a directory tree; raises UsageError
    for a path that cannot be read or added. LISTING, when given, receives every entry below
    the tree's root, each after its contents (as ``ipfs add -r`` prints them)."""
    path = Path(path)
    tally = _Tally()
    importer = _TreeImporter(profile, sink, hidden, tally, listing)
    mode = _lstat(path).st_mode
    if stat.S_ISREG(mode):
        return importer.file_result(path)
    if stat.S_ISDIR(mode) and not recursive:
        raise UsageError(f"{path} is a directory", hint="add directories with -r")
    cid, tsize = importer.entry(str(path), mode)
    return ImportResult(cid, "", tally.size, tsize, tally.blocks, profile.name)


class _TreeImporter:
    def __init__(self, profile: Profile, sink: BlockSink | None, hidden: bool, tally: _Tally,
                 listing: list[TreeEntry] | None = None) -> None:
        self._profile = profile
        self._sink = sink
        self._hidden = hidden
        self._tally = tally
        self._writer = _NodeWriter(profile, sink, tally)
        self._listing = listing

    def entry(self, path: str, mode: int) -> tuple[CID, int]:
        if stat.S_ISREG(mode):
            result = self.file_result(path)
            return result.cid, result.dag_size
        if stat.S_ISDIR(mode):
            return self._directory(path)
        if stat.S_ISLNK(mode):
            return self._symlink(path)
        raise UsageError(f"cannot add {path}: not a regular file, directory or symlink")

    def file_result(self, path: str | Path) -> ImportResult:
        try:
            with open(path, "rb", buffering=0) as stream:
                result = import_file(stream, self._profile, self._sink)
        except DiskFull:
            raise                                # writing the blocks failed, not reading PATH
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
        self._tally.blocks += result.blocks
        self._tally.size += result.size
        return result

    def _directory(self, path: str) -> tuple[CID, int]:
        try:
            with os.scandir(path) as listing:
                children = sorted((item.name, item.path, _entry_mode(item)) for item in listing
                                  if self._hidden or not item.name.startswith("."))
        except OSError as exc:
            raise UsageError(f"cannot read directory {path}: {exc.strerror or exc}") from exc
        entries = []
        for name, child, mode in children:
            cid, tsize = self.entry(child, mode)
            entries.append(PBLink(bytes(cid), _utf8_name(name, child), tsize))
            if self._listing is not None:
                kind = "directory" if stat.S_ISDIR(mode) else "symlink" if stat.S_ISLNK(mode) else "file"
                self._listing.append(TreeEntry(child, cid, kind))
        return _directory_node(entries, self._profile, self._writer)

    def _symlink(self, path: str) -> tuple[CID, int]:
        try:
            target = os.fsencode(os.readlink(path))
        except OSError as exc:
            raise UsageError(f"cannot read symlink {path}: {exc.strerror or exc}") from exc
        block = encode_node(PBNode([], encode_unixfs(UnixFSData(SYMLINK, data=target))))
        return self._writer.put(block), len(block)


def _entry_mode(item: os.DirEntry) -> int:
    """The file type bits from the directory listing itself (no stat call on Linux)."""
    if item.is_symlink():
        return stat.S_IFLNK
    if item.is_dir(follow_symlinks=False):
        return stat.S_IFDIR
    if item.is_file(follow_symlinks=False):
        return stat.S_IFREG
    return item.stat(follow_symlinks=False).st_mode


def _lstat(path: Path) -> os.stat_result:
    try:
        return os.lstat(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _utf8_name(name: str, path: str) -> str:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"cannot add {path!r}: its name is not valid UTF-8") from None
    return name
