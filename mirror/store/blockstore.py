"""The blockstore: one file per block on disk, keyed by multihash, verified on every write and read.

Layout (like Kubo's flatfs ``next-to-last/2``)::

    blocks/
      SHARDING                     the sharding scheme, for humans and tools
      2Q/CIQ...2QA.data            key = base32 (upper, unpadded) of the multihash; dir = key[-3:-1]
      .staging/<pid>-<id>/         a process's staged blocks (<batch>.<key>), not yet visible

Keying by multihash means a CIDv0 and the equivalent CIDv1 (and a raw and a dag-pb CID of the same
bytes) name one file. Identity CIDs are never stored: their bytes are the digest.

Durability without one fsync per block (STYLE.md: that caps near 1,600 blocks/s): a ``BlockBatch``
writes blocks into its own staging folder (large ones straight to the disk, ``blockfile``);
``commit`` flushes them to disk once (``syncfs`` on Linux, one fsync per file elsewhere), renames
each into place, then fsyncs each touched folder once.
``commit_batches`` does the same for many batches at once (a harvest's documents).
``abort`` removes the staging folder, so a failed import leaves nothing of itself behind, and a
crash leaves only a staging folder that the next ``BlockStore`` open sweeps. A lone ``put`` is a
batch of one block.

Thread-safe: batches and the store may be used from several threads at once (renames are atomic and
two writers of one block write the same bytes).
"""

from __future__ import annotations

import base64
import ctypes
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mirror.durable import fsync_dir
from mirror.errors import BlockCorrupted, BlockMismatch, BlockNotFound, BlockTooLarge, InvalidCID, disk_full
from mirror.store.blockfile import BlockFiles
from mirror.store.cid import CID, IDENTITY, RAW

if TYPE_CHECKING:
    from mirror.store.journal import Journal

MAX_BLOCK_SIZE = 2 * 1024 * 1024      # the IPFS-wide block limit (2 MiB)
MIN_DIGEST = 20                       # refuse CIDs whose (truncated) digest is too short to mean anything
_SUFFIX = ".data"
_STAGING = ".staging"
_SHARDING = "/repo/flatfs/shard/v1/next-to-last/2\n"
_SYNCFS_MIN_FILES = 4                 # below this, fsync each file instead of the whole filesystem


def block_key(multihash: bytes) -> str:
    """The file name stem of a block: base32 (upper, no padding) of its multihash, like Kubo."""
    return base64.b32encode(multihash).decode("ascii").rstrip("=")


def _multihash_of_key(key: str) -> bytes:
    return base64.b32decode(key + "=" * (-len(key) % 8))


def check_block(cid: CID, data: bytes | memoryview) -> None:
    """Raise unless ``data`` is a storable block for ``cid`` (size limit, hash)."""
    if len(data) > MAX_BLOCK_SIZE:
        raise BlockTooLarge(f"block {cid} has {len(data)} bytes; the limit is {MAX_BLOCK_SIZE}")
    if cid.hash_code != IDENTITY and len(cid.digest) < MIN_DIGEST:
        raise InvalidCID(f"{cid}: a {len(cid.digest)}-byte digest is too short to verify a block")
    if not cid.verify(data):
        raise BlockMismatch(f"the bytes offered for {cid} do not hash to it")


class BlockReader(Protocol):
    """What reading a DAG needs of a block store (``BlockStore``, or a view of one)."""

    def get(self, cid: CID) -> bytes: ...

    def has(self, cid: CID) -> bool: ...


class BlockStore:
    """Blocks on disk under ``root``; see the module docstring for layout and durability."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._root = str(self.root)
        self._staging = self.root / _STAGING
        self._staging.mkdir(parents=True, exist_ok=True)
        self.files = BlockFiles()                           # how block files are written
        self._session: tuple[int, Path] | None = None      # (pid, this process's staging folder)
        self._session_lock = threading.Lock()
        sharding = self.root / "SHARDING"
        if not sharding.exists():
            sharding.write_text(_SHARDING, encoding="ascii")
        self._sweep_stale_staging()

    # --- reading ----------------------------------------------------------------------------

    def path_of(self, cid: CID) -> Path:
        """Where the block of ``cid`` lives (it may not exist). Not for identity CIDs."""
        key = block_key(cid.multihash)
        return self.root / key[-3:-1] / (key + _SUFFIX)

    def has(self, cid: CID) -> bool:
        return cid.hash_code == IDENTITY or self.path_of(cid).is_file()

    def is_empty(self) -> bool:
        """True when no block is stored (a fresh node: nothing to look up, block by block)."""
        with os.scandir(self._root) as shards:
            for shard in shards:
                if shard.name.startswith(".") or not shard.is_dir(follow_symlinks=False):
                    continue
                with os.scandir(shard.path) as blocks:
                    if any(block.name.endswith(_SUFFIX) for block in blocks):
                        return False
        return True

    def get(self, cid: CID) -> bytes:
        """The verified bytes of one block; BlockNotFound if absent, BlockCorrupted if damaged."""
        if cid.hash_code == IDENTITY:
            return cid.digest
        path = self.path_of(cid)
        try:
            with open(path, "rb", buffering=0) as fh:
                size = os.fstat(fh.fileno()).st_size
                data = fh.read(min(size, MAX_BLOCK_SIZE + 1) + 1)
        except FileNotFoundError:
            raise BlockNotFound(cid) from None
        if len(data) > MAX_BLOCK_SIZE or not cid.verify(data):
            raise BlockCorrupted(f"block {cid} is corrupted on disk",      # no path: messages
                                 hint=f"delete {path} and add or fetch the content again "  # reach
                                      "(openmirror verify --repair)")                     # peers
        return data

    def size(self, cid: CID) -> int:
        if cid.hash_code == IDENTITY:
            return len(cid.digest)
        try:
            return self.path_of(cid).stat().st_size
        except FileNotFoundError:
            raise BlockNotFound(cid) from None

    def iter_multihashes(self) -> Iterator[bytes]:
        """The multihash of every stored block, in no particular order."""
        for _shard, entry in self._iter_files():
            yield _multihash_of_key(entry.name[: -len(_SUFFIX)])

    def stats(self) -> tuple[int, int]:
        """(number of blocks, bytes of block data)."""
        blocks = size = 0
        for _shard, entry in self._iter_files():
            blocks += 1
            size += entry.stat().st_size
        return blocks, size

    def _iter_files(self) -> Iterator[tuple[str, os.DirEntry[str]]]:
        with os.scandir(self.root) as shards:
            for shard in shards:
                if not shard.is_dir() or shard.name.startswith("."):
                    continue
                with os.scandir(shard.path) as files:
                    for entry in files:
                        if entry.name.endswith(_SUFFIX):
                            yield shard.name, entry

    # --- writing ----------------------------------------------------------------------------

    def put(self, cid: CID, data: bytes | memoryview) -> None:
        """Store one block durably (a batch of one). Verifies it first (BlockMismatch)."""
        with self.batch() as batch:
            batch.put(cid, data)

    def put_many(self, blocks: "Iterator[tuple[CID, bytes]] | list[tuple[CID, bytes]]") -> None:
        """Store several blocks with one durability step; all or nothing."""
        with self.batch() as batch:
            for cid, data in blocks:
                batch.put(cid, data)

    def open_batch(self) -> "BlockBatch":
        """A staging batch the caller commits (``commit``, ``commit_batches``) or aborts."""
        return BlockBatch(self)

    @contextmanager
    def batch(self) -> Iterator["BlockBatch"]:
        """A staging batch: committed when the block exits cleanly, discarded on any error."""
        batch = BlockBatch(self)
        try:
            yield batch
        except BaseException:
            batch.abort()
            raise
        batch.commit()

    def delete(self, cid: CID) -> bool:
        """Remove a block; False when it was not there (identity blocks are never stored)."""
        if cid.hash_code == IDENTITY:
            return False
        try:
            self.path_of(cid).unlink()
        except FileNotFoundError:
            return False
        return True

    def _staging_dir(self) -> Path:
        """This process's staging folder, made on first use; batches name their files apart in it
        (a folder per batch cost a mkdir and an rmdir per document)."""
        pid = os.getpid()
        with self._session_lock:
            if self._session is None or self._session[0] != pid:
                path = self._staging / f"{pid}-{uuid.uuid4().hex}"
                path.mkdir(parents=True)
                self._session = (pid, path)
            return self._session[1]

    def _sweep_stale_staging(self) -> None:
        """Remove staging folders left by processes that are gone (a crash mid-batch)."""
        for entry in self._staging.iterdir():
            pid = entry.name.split("-", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(entry, ignore_errors=True)


class BlockBatch:
    """Blocks staged for one atomic, durable commit (implements the importer's BlockSink)."""

    def __init__(self, store: BlockStore) -> None:
        self.store = store
        self._dir = store._staging_dir()
        self._tag = uuid.uuid4().hex[:16]
        self._prefix = os.path.join(self._dir, f"{self._tag}.")
        self._pending: dict[str, str] = {}       # key -> final path (plain strings: pathlib costs
        #                                          more than the write of a small block)
        self._lock = threading.Lock()
        self._closed = False
        self._aborted = False

    def _staged(self, key: str) -> str:
        return f"{self._prefix}{key}"

    def put(self, cid: CID, data: bytes | memoryview) -> None:
        check_block(cid, data)
        self.put_hashed(cid, data)

    def put_hashed(self, cid: CID, data: bytes | memoryview) -> bool:
        """``put`` for a block whose CID the caller has just computed from these very bytes (the
        importer): hashing them a second time could not disagree, so only the size is checked.
        True when the block was staged here by this call (not already staged or stored)."""
        if len(data) > MAX_BLOCK_SIZE:
            raise BlockTooLarge(f"block {cid} has {len(data)} bytes; the limit is {MAX_BLOCK_SIZE}")
        if cid.hash_code == IDENTITY:
            return False
        key = block_key(cid.multihash)
        final = os.path.join(self.store._root, key[-3:-1], key + _SUFFIX)
        with self._lock:
            if self._closed:
                raise RuntimeError("this batch is already committed or aborted")
            if key in self._pending or os.path.exists(final):
                return False
            self._pending[key] = final
        staged = self._staged(key)
        try:
            self.store.files.write(staged, data)
        except OSError as exc:
            _unlink(staged)
            full = disk_full(exc, self.store.root)
            if full is not None:
                raise full from exc
            raise
        with self._lock:
            if self._aborted or key not in self._pending:   # aborted or discarded meanwhile
                _unlink(staged)
                return False
        return True

    def discard(self, cids: "list[CID]") -> None:
        """Unstage blocks this batch staged (``put_hashed`` said True): the work that made them
        failed and is tried again or dropped, while the rest of the batch goes on. Blocking."""
        with self._lock:
            if self._closed:
                return
            keys = [key for key in map(block_key, (c.multihash for c in cids)) if key in self._pending]
            for key in keys:
                del self._pending[key]
        for key in keys:
            _unlink(self._staged(key))

    def has(self, cid: CID) -> bool:
        return block_key(cid.multihash) in self._pending or self.store.has(cid)

    def __len__(self) -> int:
        return len(self._pending)

    def cids(self) -> list[CID]:
        """The blocks staged here (raw CIDs: the store keys blocks by multihash alone)."""
        with self._lock:
            return [CID(1, RAW, _multihash_of_key(key)) for key in self._pending]

    def commit(self) -> None:
        """Flush every staged block, move it into place, then make the renames durable."""
        commit_batches([self])

    def abort(self) -> None:
        """Drop the staged blocks; a no-op once committed (or being committed)."""
        with self._lock:
            if self._closed:
                return
            self._closed = self._aborted = True
            keys, self._pending = list(self._pending), {}
        for key in keys:
            _unlink(self._staged(key))

    def _close(self) -> list[tuple[str, str]]:
        """Close for commit: (staged file, final path) of every pending block."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this batch is already committed or aborted")
            self._closed = True
            return [(self._staged(key), final) for key, final in self._pending.items()]


def commit_batches(batches: list[BlockBatch], journal: "Journal | None" = None) -> None:
    """Commit BATCHES with one durability step for all of them: flush every staged block (one
    ``syncfs`` when there are several), rename each into place, make the renames durable (one
    ``syncfs``, or one fsync per touched folder when there are few), remove the staging folders.
    With JOURNAL (``mirror.store.journal``) the keys of the new blocks are recorded there first.

    A harvest commits the blocks of many documents this way just before the index transaction
    that refers to them, instead of two flushes per document. On an error every batch not yet
    moved into place is aborted and the error raised."""
    moves: list[tuple[str, str]] = []
    moved = 0
    try:
        for batch in batches:
            moves += batch._close()
        if not moves:
            return
        if journal is not None:
            journal.add(os.path.basename(final)[: -len(_SUFFIX)] for _, final in moves)
        store = batches[0].store
        _sync_files([staged for staged, _ in moves], store._staging)
        touched: set[str] = set()
        for staged, final in moves:
            folder = os.path.dirname(final)
            if folder not in touched and not os.path.isdir(folder):
                os.makedirs(folder, exist_ok=True)
                touched.add(store._root)
            os.replace(staged, final)
            moved += 1
            touched.add(folder)
        if not (len(touched) >= _SYNCFS_MIN_FILES and _syncfs(store.root)):
            for folder in touched:
                fsync_dir(folder)
    except BaseException as exc:
        for staged, _ in moves[moved:]:
            _unlink(staged)
        for batch in batches:
            batch.abort()                       # those not reached yet (a no-op for the others)
        full = disk_full(exc, batches[0].store.root)
        if full is not None and full is not exc:
            raise full from exc
        raise


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _sync_files(paths: list[str], folder: Path) -> None:
    """Make the bytes of ``paths`` durable with as few disk flushes as the platform allows."""
    if not paths:
        return
    if len(paths) >= _SYNCFS_MIN_FILES and _syncfs(folder):
        return
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _load_syncfs():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


_SYNCFS = _load_syncfs()


def _syncfs(folder: Path) -> bool:
    """Flush the whole filesystem holding ``folder`` in one call (Linux); False if unavailable."""
    if _SYNCFS is None:
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        return _SYNCFS(fd) == 0
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
