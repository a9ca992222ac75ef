"""Where a bundle's files live: a folder, or one ``.tar`` file, read and written as streams.

    source = open_bundle(path)            # a folder or a tar file; UsageError if neither
    source.size("content.car")            # None when absent (or not a regular file)
    with source.open(record) as reader:   # a CheckedReader: hashes what it reads
        ...; reader.finish()              # IntegrityError unless size and sha256 match RECORD

    sink = open_sink(path, force=False)   # a folder, or a tar file when PATH ends in .tar
    record = sink.write("forks.omep", body)
    with sink.stream("content.car") as out: ...   # out.record once the block ends
    sink.finish(manifest_bytes)           # the manifest last: a bundle without one is incomplete

A tar is written without knowing a member's size in advance: its header is written with size 0,
the data streamed after it, and the header rewritten in place (GNU format: always 512 bytes, sizes
past 8 GiB in base-256), so the CAR never sits in memory or in a temporary file. A tar is read by
scanning its headers once (at most ``MAX_TAR_MEMBERS``); only regular members count, and a name
present twice makes the bundle damaged. Nothing is ever extracted to disk.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import time
import uuid
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from mirror.bundle.manifest import FORKS_NAME, MANIFEST_NAME, FileRecord
from mirror.durable import fsync_dir
from mirror.errors import IntegrityError, UsageError

MAX_TAR_MEMBERS = 1_000_000
_BLOCK = tarfile.BLOCKSIZE
_TAR_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE)
ByteCount = Callable[[int], None]
Progress = Callable[[str, int, "int | None"], None]   # (what, done, total): "entries", "content", …


# -- reading -------------------------------------------------------------------------------------

class CheckedReader:
    """A read stream that hashes and counts what passes and names the file in its errors."""

    def __init__(self, raw: BinaryIO, record: FileRecord, on_read: ByteCount | None = None) -> None:
        self._raw = raw
        self.record = record
        self._sha = hashlib.sha256()
        self.size = 0
        self._on_read = on_read

    def read(self, n: int = -1) -> bytes:
        remaining = self.record.size - self.size + 1    # one byte more reveals a longer file
        if n < 0 or n > remaining:
            n = remaining
        try:
            data = self._raw.read(n)
        except (OSError, tarfile.TarError) as exc:
            raise IntegrityError(f"cannot read {self.record.path} in the bundle: {exc}") from exc
        self._sha.update(data)
        self.size += len(data)
        if self._on_read is not None:
            self._on_read(len(data))
        return data

    def finish(self) -> None:
        """Read to the end and raise ``IntegrityError`` unless size and digest match the record."""
        while self.size <= self.record.size and self.read(1 << 20):
            pass
        if self.size != self.record.size or self._sha.hexdigest() != self.record.sha256:
            raise IntegrityError(f"bundle file {self.record.path} does not match its checksum in "
                                 "the manifest")

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> "CheckedReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BundleReader:
    """The files of a bundle to read; see the module docstring."""

    label: str

    def size(self, name: str) -> int | None:
        raise NotImplementedError

    def _open(self, name: str) -> BinaryIO:
        raise NotImplementedError

    def open(self, record: FileRecord, on_read: ByteCount | None = None) -> CheckedReader:
        if self.size(record.path) is None:
            raise IntegrityError(f"bundle file {record.path} is missing")
        return CheckedReader(self._open(record.path), record, on_read)

    def read_manifest(self, limit: int) -> bytes:
        size = self.size(MANIFEST_NAME)
        if size is None:
            raise UsageError(f"not an openmirror bundle: {self.label} has no {MANIFEST_NAME}")
        if size > limit:
            raise UsageError(f"not an openmirror bundle: {MANIFEST_NAME} is {size} bytes")
        with self._open(MANIFEST_NAME) as fh:
            return fh.read(limit + 1)

    def close(self) -> None:
        pass


class BundleFolder(BundleReader):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = str(root)

    def size(self, name: str) -> int | None:
        path = self.root / name
        return path.stat().st_size if path.is_file() else None

    def _open(self, name: str) -> BinaryIO:
        return open(self.root / name, "rb")


class TarSource(BundleReader):
    def __init__(self, path: Path) -> None:
        self.label = str(path)
        try:
            self._tar = tarfile.open(path, "r:")
            self._members = _regular_members(self._tar)
        except tarfile.TarError as exc:
            raise UsageError(f"not an openmirror bundle: {path} is not a readable tar file "
                             f"({exc})") from None

    def size(self, name: str) -> int | None:
        info = self._members.get(name)
        return None if info is None else info.size

    def _open(self, name: str) -> BinaryIO:
        stream = self._tar.extractfile(self._members[name])
        assert stream is not None   # regular members always have a stream
        return stream  # type: ignore[return-value]

    def close(self) -> None:
        self._tar.close()


def _regular_members(tar: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    found: dict[str, tarfile.TarInfo] = {}
    for count, info in enumerate(tar, 1):
        if count > MAX_TAR_MEMBERS:
            raise IntegrityError(f"bundle tar has more than {MAX_TAR_MEMBERS} members")
        if info.type not in _TAR_TYPES:
            continue
        if info.name in found:
            raise IntegrityError(f"bundle tar holds {info.name[:80]!r} twice")
        found[info.name] = info
    tar.members = []  # type: ignore[attr-defined]  # the index above is all we keep (a TarFile attribute)
    return found


def open_bundle(path: Path) -> BundleReader:
    """The bundle at PATH: a folder or a tar file; ``UsageError`` for anything else."""
    if path.is_dir():
        return BundleFolder(path)
    if not path.exists():
        raise UsageError(f"no bundle at {path}: no such file or folder")
    if path.is_file() and tarfile.is_tarfile(path):
        return TarSource(path)
    raise UsageError(f"not an openmirror bundle: {path} is neither a folder nor a tar file")


# -- writing -------------------------------------------------------------------------------------

class HashingWriter:
    """Writes to a file, hashing and counting; ``record`` describes what was written."""

    def __init__(self, raw: BinaryIO, path: str, on_write: ByteCount | None = None) -> None:
        self._raw = raw
        self.path = path
        self._sha = hashlib.sha256()
        self.size = 0
        self._on_write = on_write

    def write(self, data: bytes) -> int:
        self._raw.write(data)
        self._sha.update(data)
        self.size += len(data)
        if self._on_write is not None:
            self._on_write(len(data))
        return len(data)

    @property
    def record(self) -> FileRecord:
        return FileRecord(self.path, self._sha.hexdigest(), self.size)


class BundleSink:
    """Where an export writes; see the module docstring."""

    def write(self, name: str, data: bytes) -> FileRecord:
        with self.stream(name) as out:
            out.write(data)
        return out.record

    def stream(self, name: str,
               on_write: ByteCount | None = None) -> AbstractContextManager[HashingWriter]:
        raise NotImplementedError

    def finish(self, manifest: bytes) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class FolderSink(BundleSink):
    def __init__(self, root: Path, force: bool) -> None:
        self.root = root
        if root.exists() and not root.is_dir():
            raise UsageError(f"{root} exists and is not a folder")
        if root.is_dir() and any(root.iterdir()):
            if not force:
                raise UsageError(f"{root} is not empty", hint="choose a new folder, or pass --force "
                                 "to replace the bundle in it")
            _clear_bundle(root)
        (root / "entries").mkdir(parents=True, exist_ok=True)

    @contextmanager
    def stream(self, name: str, on_write: ByteCount | None = None) -> Iterator[HashingWriter]:
        with open(self.root / name, "wb") as fh:
            out = HashingWriter(fh, name, on_write)
            yield out
            fh.flush()
            os.fsync(fh.fileno())

    def finish(self, manifest: bytes) -> None:
        tmp = self.root / f".{MANIFEST_NAME}.part"
        with open(tmp, "wb") as fh:
            fh.write(manifest)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / MANIFEST_NAME)
        for folder in (self.root / "entries", self.root):
            fsync_dir(folder, strict=False)

    def abort(self) -> None:
        pass        # without a manifest the folder is no bundle; its files are left to inspect


def _clear_bundle(root: Path) -> None:
    """Remove a previous bundle's files (the manifest first), nothing else."""
    (root / MANIFEST_NAME).unlink(missing_ok=True)
    for path in [*root.glob("content*.car"), root / FORKS_NAME]:
        path.unlink(missing_ok=True)
    if (root / "entries").is_dir():
        shutil.rmtree(root / "entries")


class TarSink(BundleSink):
    def __init__(self, path: Path, force: bool) -> None:
        if path.exists() and not force:
            raise UsageError(f"{path} already exists", hint="choose another name, or pass --force")
        if path.is_dir():
            raise UsageError(f"{path} is a folder")
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
        self._fh = open(self._tmp, "wb")
        self._mtime = int(time.time())

    def _header(self, name: str, size: int) -> bytes:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime, info.type = size, 0o644, self._mtime, tarfile.REGTYPE
        header = info.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict")
        if len(header) != _BLOCK:
            raise UsageError(f"bundle member name too long for a tar header: {name}")
        return header

    @contextmanager
    def stream(self, name: str, on_write: ByteCount | None = None) -> Iterator[HashingWriter]:
        start = self._fh.tell()
        self._fh.write(self._header(name, 0))
        out = HashingWriter(self._fh, name, on_write)
        yield out
        self._fh.write(b"\0" * (-out.size % _BLOCK))
        end = self._fh.tell()
        self._fh.seek(start)
        self._fh.write(self._header(name, out.size))
        self._fh.seek(end)

    def finish(self, manifest: bytes) -> None:
        self.write(MANIFEST_NAME, manifest)
        self._fh.write(b"\0" * (2 * _BLOCK))
        self._fh.write(b"\0" * (-self._fh.tell() % tarfile.RECORDSIZE))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self._tmp, self.path)
        fsync_dir(self.path.parent, strict=False)

    def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)


def open_sink(path: Path, *, force: bool = False) -> BundleSink:
    """A tar file when PATH ends in ``.tar``, else a folder; ``UsageError`` if it is in the way."""
    try:
        return TarSink(path, force) if path.suffix == ".tar" else FolderSink(path, force)
    except OSError as exc:
        raise UsageError(f"cannot write the bundle to {path}: {exc.strerror or exc}") from exc
