"""The streaming UnixFS file importer: bytes in, Kubo-identical CID (and blocks) out.

``import_file`` reads fixed-size chunks into a small ring of preallocated buffers (``readinto``,
no copies), turns each chunk into a leaf (a raw block, or a dag-pb File leaf hashed in three
pieces so the chunk is never copied) and lets the profile's layout (``mirror.store.layout``)
build the tree above the leaves. Memory stays at a few chunks whatever the size.

Two digests are needed: the block hashes and the sha256 of the whole byte stream (the index keys
content on it). A stream of one chunk with raw sha2-256 leaves is hashed once: its leaf's digest
is the stream's. hashlib releases the GIL, so once a stream spans more than one chunk a worker
thread folds each buffer into the whole-stream sha256 while the calling thread hashes the
leaves; on two cores that costs about one hashing pass.

``StreamImport`` is the same importer fed from outside (``write`` the bytes as they arrive, then
``finish``): a fetched body is imported while it downloads, with no file in between. Its leaves
are made as each chunk fills; the tree above them is built at the end from the list of leaves
(a few dozen bytes per MiB of file).

Blocks go to a ``BlockSink`` as they are finished (leaves first, each parent after its children);
without a sink nothing is kept, like ``ipfs add --only-hash``. The UnixFS Data codec lives in
``mirror.store.unixfs_pb`` and is re-exported here.
"""

from __future__ import annotations

import hashlib
import io
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from mirror.store.cid import CID, DAG_PB, RAW, SHA2_256, encode_varint, new_hasher
from mirror.store.layout import Child, FileMeta, build_balanced, build_trickle
from mirror.store.profiles import Profile
from mirror.store.unixfs_pb import (DIRECTORY, FILE, HAMT_SHARD, MURMUR3_X64_64, SYMLINK,  # noqa: F401
                                    TYPE_NAMES, UnixFSData, UnixTime, decode_unixfs, encode_unixfs)
from mirror.store.unixfs_pb import RAW as UNIXFS_RAW

_SHA256_PREFIX = b"\x12\x20"
_RING_SLOTS = 3     # one chunk held by the layout, one being read, one being folded by the worker


class BlockSink(Protocol):
    """Receives every block the importer makes (the blockstore implements this). A sink that also
    has ``put_hashed(cid, data)`` gets the blocks through it: the importer computed each CID from
    those very bytes, so the sink need not hash them again; ``data`` may then be a view of the
    importer's buffer, valid during the call only (the sink writes it, it does not keep it)."""

    def put(self, cid: CID, data: bytes) -> None: ...


@dataclass
class ImportResult:
    """What one import produced.

    ``sha256`` is the hex digest of the whole byte stream for a file, and ``""`` for a
    directory or a symlink (they are not one byte stream). ``size`` counts file bytes (0 for
    directories), ``dag_size`` is the root's cumulative size (the Tsize a parent link would
    carry), ``blocks`` counts the blocks made, repeats included.
    """

    cid: CID
    sha256: str
    size: int
    dag_size: int
    blocks: int
    profile: str


class _ChunkReader:
    """Fixed-size chunks of a stream, plus the sha256 and length of the whole stream."""

    def __init__(self, stream: BinaryIO, chunk_size: int) -> None:
        self._read = stream.read
        self._readinto = getattr(stream, "readinto", None) or _ReadIntoAdapter(stream).readinto
        self._chunk_size = chunk_size
        self._hash = hashlib.sha256()
        self.single: bytes | None = None    # a stream of one chunk: not hashed here (see hexdigest)
        self.size = 0

    def hexdigest(self, single_digest: bytes | None = None) -> str:
        """The stream's sha256; for a stream of one chunk, SINGLE_DIGEST when the caller already
        has that chunk's sha256 (its raw leaf's), else it is hashed now."""
        if self.single is not None:
            return single_digest.hex() if single_digest else hashlib.sha256(self.single).hexdigest()
        return self._hash.hexdigest()

    def chunks(self) -> Generator[memoryview, None, None]:
        """Yield chunk views; a view stays valid until the next-but-one chunk is requested. A
        stream of one chunk is not hashed here (``single``: its leaf may carry its sha256)."""
        first = self._read_first()
        self.size = len(first)
        if len(first) == self._chunk_size:          # more may follow: read on to know
            yield memoryview(first)
            buf = memoryview(bytearray(self._chunk_size))
            second = buf[:self._read_full(buf)]
            if second:
                self.size += len(second)
                yield from self._chunks_with_worker(memoryview(first), buf, second)
                return
        self.single = first
        if 0 < len(first) < self._chunk_size:
            yield memoryview(first)

    def _read_first(self) -> bytes:
        """The first chunk through ``read`` (no chunk-sized buffer for the many small files)."""
        parts, got = [], 0
        while got < self._chunk_size:
            part = self._read(self._chunk_size - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _chunks_with_worker(self, first: memoryview, buf: memoryview,
                            second: memoryview) -> Iterator[memoryview]:
        """The chunks after FIRST (already yielded), from SECOND (read into BUF) on, while a
        worker thread folds every chunk into the stream's sha256."""
        ring: list[memoryview | None] = [None, buf, None]     # chunk i lives in slot i % 3
        work: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
        folded: queue.SimpleQueue[int] = queue.SimpleQueue()
        worker = threading.Thread(target=self._fold, args=(work, folded), daemon=True,
                                  name="unixfs-sha256")
        worker.start()
        try:
            work.put(first)
            view, index, done_count = second, 1, 0
            while True:
                work.put(view)
                yield view
                if len(view) < self._chunk_size:
                    return
                index += 1
                while done_count <= index - _RING_SLOTS:    # slot still being folded
                    done_count += folded.get()
                slot = ring[index % _RING_SLOTS]
                if slot is None:
                    slot = ring[index % _RING_SLOTS] = memoryview(bytearray(self._chunk_size))
                view = slot[:self._read_full(slot)]
                self.size += len(view)
                if not view:
                    return
        finally:
            work.put(None)
            worker.join()

    def _fold(self, work: queue.SimpleQueue, folded: queue.SimpleQueue) -> None:
        update = self._hash.update
        while (view := work.get()) is not None:
            update(view)
            folded.put(1)

    def _read_full(self, buf: memoryview) -> int:
        got, want = 0, len(buf)
        while got < want:
            n = self._readinto(buf[got:])
            if not n:
                break
            got += n
        return got


class _ReadIntoAdapter:
    """``readinto`` for streams that only offer ``read``."""

    def __init__(self, stream: BinaryIO) -> None:
        self._read = stream.read

    def readinto(self, buf: memoryview) -> int:
        data = self._read(len(buf))
        buf[:len(data)] = data
        return len(data)


class _Leaves:
    """The LeafSource the layouts pull from: chunks -> raw or dag-pb leaves -> the sink."""

    def __init__(self, chunks: Iterator[memoryview], profile: Profile, sink: BlockSink | None,
                 meta: FileMeta | None) -> None:
        self._chunks = chunks
        self._next: memoryview | None = None
        self._sink = sink
        hashed = getattr(sink, "put_hashed", None)
        self._store: Callable[[CID, Any], object] | None = hashed or (None if sink is None else sink.put)
        self._copy = hashed is None          # put() may keep the bytes: never hand it a view
        self._version = profile.cid_version
        self._raw = profile.raw_leaves and meta is None    # Kubo: mode/mtime need a dag-pb root
        self._leaf_type = UNIXFS_RAW if profile.trickle else FILE
        self._hash_code = profile.hash_code
        digest_size = new_hasher(profile.hash_code).digest_size
        self._mh_prefix = encode_varint(profile.hash_code) + encode_varint(digest_size)
        self.meta = meta
        self.blocks = 0

    def done(self) -> bool:
        if self._next is None:
            self._next = next(self._chunks, None)
        return self._next is None

    def next_leaf(self, *, root: bool = False) -> Child:
        if self.done():
            raise RuntimeError("no chunk left")
        chunk, self._next = self._next, None
        assert chunk is not None                  # done() read it
        return self.leaf(chunk, self.meta if root and self.done() else None)

    def leaf(self, chunk: memoryview, meta: FileMeta | None = None) -> Child:
        """The leaf of one chunk (stored in the sink); META only on a leaf that is the root."""
        if self._raw:
            return self._raw_leaf(chunk)
        return self._pb_leaf(chunk, meta)

    def single_digest(self, root: Child, size: int) -> bytes | None:
        """The sha256 of a one-chunk stream of SIZE bytes when ROOT, its raw sha2-256 leaf,
        already carries it; else None."""
        if self._raw and self._hash_code == SHA2_256 and root.cid.codec == RAW and root.size == size:
            return root.cid.digest
        return None

    def empty_root(self) -> Child:
        empty = memoryview(b"")
        return self._raw_leaf(empty) if self._raw else self._pb_leaf(empty, self.meta)

    def _raw_leaf(self, chunk: memoryview) -> Child:
        if self._hash_code == SHA2_256:
            cid = CID(1, RAW, _SHA256_PREFIX + hashlib.sha256(chunk).digest())
        else:
            cid = CID.of(chunk, RAW, 1, self._hash_code)
        self._put(cid, chunk)
        return Child(cid, len(chunk), len(chunk))

    def _pb_leaf(self, chunk: memoryview, meta: FileMeta | None) -> Child:
        """A dag-pb leaf ``0a L [08 t (12 n chunk) 18 n ...]`` hashed without copying the chunk."""
        n = len(chunk)
        head = b"\x08" + bytes((self._leaf_type,)) + (b"\x12" + encode_varint(n) if n else b"")
        tail = encode_unixfs(UnixFSData(self._leaf_type, filesize=n,
                                        mode=meta.mode if meta else None,
                                        mtime=meta.mtime if meta else None))[2:]
        head = b"\x0a" + encode_varint(len(head) + n + len(tail)) + head
        digest = new_hasher(self._hash_code, head)
        digest.update(chunk)
        digest.update(tail)
        cid = CID(self._version, DAG_PB, self._mh_prefix + digest.digest())
        self.blocks += 1
        if self._store is not None:     # join only when the block is kept
            self._store(cid, b"".join((head, chunk, tail)))
        return Child(cid, len(head) + n + len(tail), n)

    def put_node(self, block: bytes) -> CID:
        cid = CID.of(block, DAG_PB, self._version, self._hash_code)
        self._put(cid, block)
        return cid

    def _put(self, cid: CID, block: bytes | memoryview) -> None:
        self.blocks += 1
        if self._store is not None:
            self._store(cid, bytes(block) if self._copy else block)


class StreamImport:
    """``import_file`` fed from outside: ``write`` the bytes as they arrive, then ``finish``.

    Each chunk becomes a leaf (stored in the sink) as soon as it is full; the tree above the
    leaves is built by ``finish``, so the CID is ``import_file``'s. The whole-stream sha256 is
    folded chunk by chunk, one chunk behind, so that a stream that turns out to be a single raw
    sha2-256 leaf is hashed once. Synchronous: call it from one thread at a time (a worker
    thread: hashing and writing the blocks block). No mode or mtime (those need a dag-pb root).
    """

    def __init__(self, profile: Profile, sink: BlockSink | None = None) -> None:
        self._profile = profile
        self._leaves = _Leaves(iter(()), profile, sink, None)
        self._made: list[Child] = []
        self._chunk = bytearray(0)       # the chunk being filled (allocated on first use)
        self._fill = 0
        self._held: memoryview | None = None   # the first chunk, not yet folded into the sha256
        self._whole = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        """Take the next bytes of the stream."""
        view, size = memoryview(data), self._profile.chunk_size
        self.size += len(view)
        while view:
            if self._fill == 0 and len(view) >= size:       # a whole chunk in hand: no copy
                self._leaf(view[:size], borrowed=False)
                view = view[size:]
                continue
            if not self._chunk:
                self._chunk = bytearray(size)
            take = min(size - self._fill, len(view))
            self._chunk[self._fill:self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
            if self._fill == size:
                self._leaf(memoryview(self._chunk), borrowed=True)
                self._fill = 0

    def finish(self) -> ImportResult:
        """The result once every byte was written (the root and inner nodes are stored now)."""
        if self._fill:
            self._leaf(memoryview(self._chunk)[:self._fill], borrowed=True)
            self._fill = 0
        leaves = _Ready(self._leaves, self._made)
        build = build_trickle if self._profile.trickle else build_balanced
        root = build(leaves, self._profile.max_links)
        if len(self._made) == 1 and self._held is not None:
            single = self._leaves.single_digest(root, self.size)
            if single is not None:
                return self._result(root, single.hex())
        if self._held is not None:
            self._whole.update(self._held)
        return self._result(root, self._whole.hexdigest())

    def _result(self, root: Child, sha256: str) -> ImportResult:
        return ImportResult(root.cid, sha256, self.size, root.tsize, self._leaves.blocks,
                            self._profile.name)

    def _leaf(self, chunk: memoryview, *, borrowed: bool) -> None:
        """CHUNK becomes a leaf; BORROWED: it lives in ``_chunk``, which is reused after."""
        self._made.append(self._leaves.leaf(chunk))
        if not self._made[1:]:                   # the first chunk: folded once a second comes
            if borrowed:
                self._chunk = bytearray(0)       # keep its buffer; the next chunk takes a new one
            elif not chunk.readonly:
                chunk = memoryview(bytes(chunk))   # the caller may reuse a mutable buffer
            self._held = chunk
            return
        if self._held is not None:
            self._whole.update(self._held)
            self._held = None
        self._whole.update(chunk)


class _Ready:
    """A ``LeafSource`` over leaves already made (``StreamImport``'s), for the layouts."""

    meta: FileMeta | None = None

    def __init__(self, leaves: _Leaves, made: list[Child]) -> None:
        self._leaves, self._made, self._next = leaves, made, 0

    def done(self) -> bool:
        return self._next >= len(self._made)

    def next_leaf(self, *, root: bool = False) -> Child:
        child = self._made[self._next]
        self._next += 1
        return child

    def empty_root(self) -> Child:
        return self._leaves.empty_root()

    def put_node(self, block: bytes) -> CID:
        return self._leaves.put_node(block)


def import_file(stream: BinaryIO, profile: Profile, sink: BlockSink | None = None, *,
                mode: int | None = None, mtime: UnixTime | None = None) -> ImportResult:
    """Import one byte stream as a UnixFS file; streaming, constant memory, synchronous.

    ``mode``/``mtime`` are written on the root node as Kubo's ``--mode``/``--mtime`` do (which
    also turns raw leaves off). With ``sink=None`` only the CID is computed.
    """
    reader = _ChunkReader(stream, profile.chunk_size)
    meta = FileMeta(mode, mtime) if mode is not None or mtime is not None else None
    chunks = reader.chunks()
    try:
        leaves = _Leaves(chunks, profile, sink, meta)
        build = build_trickle if profile.trickle else build_balanced
        root = build(leaves, profile.max_links)
    finally:
        chunks.close()
    single = leaves.single_digest(root, reader.size) if reader.single is not None else None
    return ImportResult(root.cid, reader.hexdigest(single), reader.size, root.tsize, leaves.blocks,
                        profile.name)


def import_bytes(data: bytes, profile: Profile, sink: BlockSink | None = None, **kwargs) -> ImportResult:
    """``import_file`` over bytes already in memory."""
    return import_file(io.BytesIO(data), profile, sink, **kwargs)
