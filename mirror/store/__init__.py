"""The content store of a node home: the facade the rest of openmirror calls.

``ContentStore`` bundles the home's ``BlockStore`` with the default import profile and offers the
operations the CLI, the harvest pipeline and the node need: import (``add_file``, ``add_path``),
compute a CID without storing (``cid_of``), read back (``cat``, ``stat``, ``ls``, ``list_dir``,
``resolve``, ``resolve_path``),
check completeness (``has_all``), CAR export and import, and pushing to Kubo (``add``).

Every method is synchronous (the importer hashes in the calling thread and a helper thread);
async callers run them with ``asyncio.to_thread``. ``add`` is the one coroutine: import in a worker
thread, then the optional Kubo push.

Nothing half-stored: an import writes its blocks into one blockstore batch (stage, then commit).
Blocks land in a staging folder inside the store and become visible only when the import has
finished, all at once, with one durability step; if the import fails (unreadable file, I/O error,
a bad name deep in a tree) the batch is dropped and the store is exactly as before. Staging was
preferred over "write, then delete on failure" because deleting could remove a block that a
concurrent import had just written and relies on, and because a crash mid-import leaves only a
staging folder, swept at the next open, rather than orphan blocks.
"""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mirror.errors import BlockNotFound, DiskFull, MirrorError, UsageError
from mirror.store.blockstore import BlockBatch, BlockStore
from mirror.store.car import import_car, write_car, write_car_file
from mirror.store.cid import CID
from mirror.store.directory import TreeEntry, import_path
from mirror.store.exporter import DirEntry, FileStat, Listed, Scope, has_dag, iter_file, ls, resolve, stat
from mirror.store.paths import ContentPath, parse_content_path
from mirror.store.profiles import DEFAULT_PROFILE, Profile, get_profile
from mirror.store.unixfs import ImportResult, import_file

if TYPE_CHECKING:
    from mirror.home import Home
    from mirror.store.kubo import KuboClient

__all__ = ["CID", "ContentPath", "ContentStore", "ImportResult", "FileStat", "DirEntry", "Listed", "cid_of",
           "open_store", "parse_content_path"]


class ContentStore:
    """A node's blocks plus its default profile; see the module docstring."""

    def __init__(self, blocks: BlockStore, profile: str | Profile = DEFAULT_PROFILE) -> None:
        self.blocks = blocks
        self.default_profile = self.profile(profile)

    def profile(self, name: str | Profile | None) -> Profile:
        """A Profile from a name (UnknownProfile if unknown), or the store's default for None."""
        if isinstance(name, Profile):
            return name
        if name is None:
            return self.default_profile
        return get_profile(name)

    # --- import -------------------------------------------------------------------------

    def add_file(self, source: Path | str | BinaryIO, profile: str | Profile | None = None, *,
                 batch: BlockBatch | None = None) -> ImportResult:
        """Store the bytes of one file (a path, symlinks followed, or a binary stream); all or none.

        With BATCH (``blocks.open_batch()``) the blocks are staged in it and the caller commits
        or aborts it (``commit_batches`` commits many with one durability step)."""
        chosen = self.profile(profile)
        if not isinstance(source, (str, Path)):
            return self._import_stream(source, chosen, "the input stream", batch)
        try:
            stream = open(source, "rb", buffering=0)
        except OSError as exc:
            raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from exc
        with stream:
            return self._import_stream(stream, chosen, str(source), batch)

    def _import_stream(self, stream: BinaryIO, profile: Profile, name: str,
                       batch: BlockBatch | None) -> ImportResult:
        with self.blocks.batch() if batch is None else nullcontext(batch) as into:
            try:
                return import_file(stream, profile, into)
            except DiskFull:
                raise                           # writing the blocks failed, not reading NAME
            except OSError as exc:
                raise MirrorError(f"reading {name} failed: {exc.strerror or exc}") from exc

    def add_path(self, path: Path | str, *, recursive: bool = False, hidden: bool = False,
                 profile: str | Profile | None = None,
                 listing: list[TreeEntry] | None = None) -> ImportResult:
        """Store a file, a symlink or (``recursive``) a directory tree; all blocks or none. LISTING
        receives every entry below a tree's root (``import_path``)."""
        chosen = self.profile(profile)
        with self.blocks.batch() as batch:
            return import_path(Path(path), chosen, batch, recursive=recursive, hidden=hidden,
                               listing=listing)

    def cid_of(self, source: Path | str | BinaryIO, *, recursive: bool = False, hidden: bool = False,
               profile: str | Profile | None = None) -> ImportResult:
        """The CID ``add`` would give, storing nothing (``ipfs add --only-hash``)."""
        return cid_of(source, self.profile(profile), recursive=recursive, hidden=hidden)

    async def add(self, path: Path | str, *, recursive: bool = False, hidden: bool = False,
                  profile: str | Profile | None = None, kubo: "KuboClient | None" = None,
                  listing: list[TreeEntry] | None = None) -> ImportResult:
        """``openmirror add`` for one path: store it, then (with ``kubo``) push and pin it there."""
        result = await asyncio.to_thread(self.add_path, path, recursive=recursive, hidden=hidden,
                                         profile=profile, listing=listing)
        if kubo is not None:
            await kubo.push(self.blocks, result.cid)
        return result

    # --- reading ------------------------------------------------------------------------

    def cat(self, cid: CID, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The bytes of a file, streamed; BlockNotFound when the root is not stored here."""
        return iter_file(self.blocks, cid, offset, length)

    def stat(self, cid: CID) -> FileStat:
        return stat(self.blocks, cid)

    def ls(self, cid: CID) -> list[DirEntry]:
        return list(ls(self.blocks, cid))

    def list_dir(self, cid: CID) -> list[Listed]:
        """The entries of a directory with their type and size (``openmirror ls``); an entry whose
        block is not stored here is ``unknown``."""
        listed = []
        for entry in ls(self.blocks, cid):
            try:
                info = stat(self.blocks, entry.cid)
            except BlockNotFound:
                listed.append(Listed(entry.name, entry.cid, "unknown", None))
                continue
            listed.append(Listed(entry.name, entry.cid, info.type,
                                 info.size if info.type in ("file", "symlink") else None))
        return listed

    def resolve(self, cid: CID, path: str) -> CID:
        return resolve(self.blocks, cid, path)

    def resolve_path(self, target: ContentPath) -> CID:
        """The CID a content path names (``CID/a/b``, ``/ipfs/CID/a/b``, ``ipfs://CID/a/b``);
        PathNotFound for a name the directory lacks, BlockNotFound for a block not stored here."""
        return resolve(self.blocks, target.cid, target.path) if target.path else target.cid

    def has(self, cid: CID) -> bool:
        return self.blocks.has(cid)

    def is_empty(self) -> bool:
        """True when no block is stored here."""
        return self.blocks.is_empty()

    def has_all(self, cid: CID) -> bool:
        """True when every block of the DAG under ``cid`` is stored here."""
        return has_dag(self.blocks, cid)

    def require(self, cid: CID) -> None:
        """Raise BlockNotFound (with a hint) unless the root block of ``cid`` is stored here."""
        if not self.blocks.has(cid):
            raise BlockNotFound(cid, f"{cid} is not in the local store",
                                hint="add it first, or import a CAR that holds it")

    # --- CAR ----------------------------------------------------------------------------

    def export_car(self, roots: Sequence[CID], out: BinaryIO | Path | str,
                   scope: Scope = "all") -> int:
        """Write a CARv1 of ``roots`` to a stream, or atomically to a file path; returns bytes."""
        if not roots:
            raise UsageError("a CAR export needs at least one root CID")
        for root in roots:
            self.require(root)
        if isinstance(out, (str, Path)):
            return write_car_file(self.blocks, roots, out, scope)
        return write_car(self.blocks, roots, out, scope)

    def import_car(self, source: BinaryIO | Path | str) -> list[CID]:
        """Verify and store every block of a CAR (v1 or v2); all or nothing. Returns its roots."""
        if isinstance(source, (str, Path)):
            try:
                with open(source, "rb") as fh:
                    return import_car(self.blocks, fh)
            except OSError as exc:
                raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from exc
        return import_car(self.blocks, source)


def cid_of(source: Path | str | BinaryIO, profile: str | Profile = DEFAULT_PROFILE, *, recursive: bool = False,
           hidden: bool = False) -> ImportResult:
    """The CID ``add`` would give SOURCE under PROFILE, storing nothing and needing no home."""
    chosen = profile if isinstance(profile, Profile) else get_profile(profile)
    if isinstance(source, (str, Path)):
        return import_path(Path(source), chosen, None, recursive=recursive, hidden=hidden)
    return import_file(source, chosen, None)


def open_store(home: "Home") -> ContentStore:
    """The content store of a node home, with the home's ``store.profile`` as default."""
    return ContentStore(BlockStore(home.blocks_dir), home.settings.store.profile)
