"""Reading UnixFS back out of the blockstore: file bytes (with ranges), stat, listings, paths, DAG walks.

Reading rules enforced (UnixFS spec, ipfs-digest §2.5): a File node's ``blocksizes`` count equals its
link count; children of a File are File/Raw dag-pb nodes or raw blocks; each child holds exactly the
bytes its parent's ``blocksizes`` entry says; HAMT fanout is a power of two, a multiple of 8 and at
most 1024; in a directory the first of duplicate names wins and unsafe names (``""``, ``.``, ``..``,
names holding ``/`` or NUL) are skipped. Violations raise DagPBError (exit 4); a missing block raises
BlockNotFound (exit 1). Balanced and trickle files read the same way.

Byte ranges descend only into children whose ``blocksizes`` span overlaps the range, so reading a
range never touches blocks outside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from mirror.errors import DagPBError, InvalidCID, MirrorError, PathNotFound, UsageError
from mirror.store.blockstore import BlockReader
from mirror.store.cid import CID, DAG_PB, IDENTITY, RAW
from mirror.store.dagpb import PBNode, decode_node
from mirror.store.hamt import hamt_hash
from mirror.store.unixfs_pb import DIRECTORY, FILE, HAMT_SHARD, MURMUR3_X64_64, SYMLINK, UnixFSData, \
    decode_unixfs
from mirror.store.unixfs_pb import RAW as UNIXFS_RAW

Scope = Literal["all", "entity", "block"]
SCOPES: tuple[str, ...] = ("all", "entity", "block")

_UNSAFE_NAMES = ("", ".", "..")
MAX_DEPTH = 64     # real DAGs are a few levels deep; a hostile one must not exhaust the stack


@dataclass(frozen=True)
class FileStat:
    cid: CID
    type: str          # file | directory | symlink | block (not UnixFS)
    size: int          # file bytes; symlink target length; 0 for directories
    block_size: int    # bytes of the root block
    dag_size: int      # root block + the Tsize of every link (Kubo's CumulativeSize)
    links: int
    sharded: bool = False


@dataclass(frozen=True)
class DirEntry:
    name: str
    cid: CID
    tsize: int


@dataclass(frozen=True)
class Listed:
    """A directory entry as ``openmirror ls`` shows it: ``type`` file, directory, symlink, block or
    unknown (its block is not stored here); ``size`` the file bytes (None for a directory)."""

    name: str
    cid: CID
    type: str
    size: int | None


@dataclass
class _Node:
    cid: CID
    block: bytes
    pb: PBNode | None = None
    fs: UnixFSData | None = None

    @property
    def kind(self) -> int | None:
        return None if self.fs is None else self.fs.type


def _load(store: BlockReader, cid: CID, *, unixfs: bool = True) -> _Node:
    """Fetch a block and decode it when it is dag-pb; raw and other codecs stay opaque.

    With ``unixfs`` a dag-pb node must carry UnixFS Data; without, only its links are decoded.
    """
    block = store.get(cid)
    if cid.codec != DAG_PB:
        return _Node(cid, block)
    pb = decode_node(block)
    if not unixfs:
        return _Node(cid, block, pb)
    if pb.data is None:
        raise DagPBError(f"{cid}: dag-pb node without UnixFS Data")
    return _Node(cid, block, pb, decode_unixfs(pb.data))


def _link_cid(link_hash: bytes) -> CID:
    return CID.from_bytes(link_hash)


# --- stat ---------------------------------------------------------------------------------------

def stat(store: BlockReader, cid: CID) -> FileStat:
    node = _load(store, cid)
    if node.fs is None:
        kind = "file" if cid.codec == RAW else "block"
        return FileStat(cid, kind, len(node.block), len(node.block), len(node.block), 0)
    assert node.pb is not None
    links = node.pb.links
    dag_size = len(node.block) + sum(link.tsize for link in links)
    fs_type = node.fs.type
    if fs_type in (FILE, UNIXFS_RAW):
        return FileStat(cid, "file", _file_size(node), len(node.block), dag_size, len(links))
    if fs_type in (DIRECTORY, HAMT_SHARD):
        return FileStat(cid, "directory", 0, len(node.block), dag_size, len(links),
                        sharded=fs_type == HAMT_SHARD)
    if fs_type == SYMLINK:
        return FileStat(cid, "symlink", len(node.fs.data or b""), len(node.block), dag_size, 0)
    raise DagPBError(f"{cid}: unsupported UnixFS type {fs_type}")


def _file_size(node: _Node) -> int:
    """Bytes of a File/Raw node, checked against its blocksizes."""
    assert node.fs is not None and node.pb is not None
    fs = node.fs
    if len(fs.blocksizes) != len(node.pb.links):
        raise DagPBError(f"{node.cid}: {len(fs.blocksizes)} blocksizes for {len(node.pb.links)} links")
    total = len(fs.data or b"") + sum(fs.blocksizes)
    if fs.filesize is not None and fs.filesize != total:
        raise DagPBError(f"{node.cid}: filesize {fs.filesize} but the node holds {total} bytes")
    return total


# --- file bytes ---------------------------------------------------------------------------------

def iter_file(store: BlockReader, cid: CID, offset: int = 0,
              length: int | None = None) -> Iterator[bytes]:
    """Stream the bytes of a UnixFS file (or raw block) from ``offset``, at most ``length`` bytes."""
    for _cid, _block, part in walk_file_range(store, cid, offset, length):
        if part:
            yield part


def walk_file_range(store: BlockReader, cid: CID, offset: int = 0,
                    length: int | None = None) -> Iterator[tuple[CID, bytes, bytes]]:
    """The blocks needed for a byte range, in DFS order: (cid, block, the block's bytes in range)."""
    if offset < 0 or (length is not None and length < 0):
        raise UsageError(f"a byte range needs offset >= 0 and length >= 0 (got {offset}, {length})")
    node = _load(store, cid)
    if node.fs is not None and node.fs.type not in (FILE, UNIXFS_RAW):
        kind = "a directory" if node.fs.type in (DIRECTORY, HAMT_SHARD) else "not a file"
        raise UsageError(f"{cid} is {kind}, not a file")
    end = (1 << 63) if length is None else offset + length
    yield from _range(store, node, offset, end)


def _range(store: BlockReader, node: _Node, start: int, end: int,
           depth: int = 0) -> Iterator[tuple[CID, bytes, bytes]]:
    if depth > MAX_DEPTH:
        raise DagPBError(f"{node.cid}: file DAG deeper than {MAX_DEPTH} levels")
    if node.fs is None:
        yield node.cid, node.block, node.block[start:end]
        return
    assert node.pb is not None
    _file_size(node)
    data = node.fs.data or b""
    yield node.cid, node.block, data[start:end] if start < len(data) else b""
    pos = len(data)
    for link, size in zip(node.pb.links, node.fs.blocksizes):
        if pos >= end:
            break
        if pos + size > start:
            child = _load_file_child(store, node.cid, _link_cid(link.hash), size)
            yield from _range(store, child, max(start - pos, 0), min(end - pos, size), depth + 1)
        pos += size


def _load_file_child(store: BlockReader, parent: CID, cid: CID, size: int) -> _Node:
    if cid.codec not in (RAW, DAG_PB):
        raise DagPBError(f"{parent}: file child {cid} is neither raw nor dag-pb")
    child = _load(store, cid)
    if child.fs is None:
        actual = len(child.block)
    elif child.fs.type in (FILE, UNIXFS_RAW):
        actual = _file_size(child)
    else:
        raise DagPBError(f"{parent}: file child {cid} is UnixFS type {child.fs.type}, not File/Raw")
    if actual != size:
        raise DagPBError(f"{parent}: child {cid} holds {actual} bytes, blocksizes says {size}")
    return child


# --- directories --------------------------------------------------------------------------------

def ls(store: BlockReader, cid: CID) -> Iterator[DirEntry]:
    """The entries of a basic or HAMT-sharded directory (HAMT: in shard order)."""
    node = _load(store, cid)
    kind = node.kind
    if kind not in (DIRECTORY, HAMT_SHARD):
        raise UsageError(f"{cid} is not a directory")
    seen: set[str] = set()
    entries = _basic_entries(node) if kind == DIRECTORY else _hamt_entries(store, node)
    for entry in entries:
        if entry.name in seen or entry.name in _UNSAFE_NAMES or "/" in entry.name \
                or "\0" in entry.name:
            continue
        seen.add(entry.name)
        yield entry


def _basic_entries(node: _Node) -> Iterator[DirEntry]:
    assert node.pb is not None
    for link in node.pb.links:
        yield DirEntry(link.name, _link_cid(link.hash), link.tsize)


def _hamt_width(node: _Node) -> int:
    """Characters of the hex bucket prefix in this shard's link names (2 for fanout 256)."""
    assert node.fs is not None
    fanout = node.fs.fanout or 0
    if fanout < 8 or fanout > 1024 or fanout & (fanout - 1) or fanout % 8:
        raise DagPBError(f"{node.cid}: HAMT fanout {fanout} is not a power of two in 8..1024")
    if node.fs.hash_type != MURMUR3_X64_64:
        raise DagPBError(f"{node.cid}: HAMT hash function {node.fs.hash_type} is not murmur3-x64-64")
    return len(f"{fanout - 1:X}")


def _hamt_entries(store: BlockReader, node: _Node, depth: int = 0) -> Iterator[DirEntry]:
    if depth > MAX_DEPTH:
        raise DagPBError(f"{node.cid}: HAMT deeper than {MAX_DEPTH} levels")
    assert node.pb is not None
    width = _hamt_width(node)
    for link in node.pb.links:
        child = _link_cid(link.hash)
        if len(link.name) < width:
            raise DagPBError(f"{node.cid}: HAMT link name {link.name!r} lacks its bucket prefix")
        if len(link.name) > width:
            yield DirEntry(link.name[width:], child, link.tsize)
            continue
        shard = _load(store, child)
        if shard.kind != HAMT_SHARD:
            raise DagPBError(f"{node.cid}: HAMT bucket {link.name} points at a non-shard node")
        yield from _hamt_entries(store, shard, depth + 1)


def resolve(store: BlockReader, cid: CID, path: str) -> CID:
    """The CID at ``path`` (``a/b/c``) below the directory ``cid``; ``..`` may not leave the root."""
    trail = [cid]
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if len(trail) == 1:
                raise PathNotFound(f"path {path!r} escapes {cid}")
            trail.pop()
            continue
        trail.append(_lookup(store, trail[-1], part, path))
    return trail[-1]


def _lookup(store: BlockReader, directory: CID, name: str, path: str) -> CID:
    node = _load(store, directory)
    if node.kind == DIRECTORY:
        found = next((e.cid for e in ls(store, directory) if e.name == name), None)
    elif node.kind == HAMT_SHARD:
        found = _hamt_lookup(store, node, name)
    else:
        raise PathNotFound(f"{path!r}: {directory} is not a directory")
    if found is None:
        raise PathNotFound(f"no {name!r} in {directory} (resolving {path!r})")
    return found


def _hamt_lookup(store: BlockReader, node: _Node, name: str) -> CID | None:
    """Follow the name's murmur3 hash down the shards: one bucket per level (ipfs-digest §3.7)."""
    if name in _UNSAFE_NAMES or "/" in name or "\0" in name:
        return None
    key = hamt_hash(name)
    depth = 0
    while True:
        assert node.pb is not None and node.fs is not None
        width = _hamt_width(node)
        bits = (node.fs.fanout or 0).bit_length() - 1
        shift = 64 - (depth + 1) * bits
        if shift < 0:
            return None
        prefix = f"{(key >> shift) & ((1 << bits) - 1):0{width}X}"
        link = next((x for x in node.pb.links if x.name in (prefix, prefix + name)), None)
        if link is None:
            return None
        if len(link.name) > width:
            return _link_cid(link.hash)
        node = _load(store, _link_cid(link.hash))
        if node.kind != HAMT_SHARD:
            raise DagPBError(f"HAMT bucket {prefix} points at a non-shard node {node.cid}")
        depth += 1


# --- DAG walks (CAR export, gateway) ------------------------------------------------------------

_NONE, _ALL, _SHARDS = 0, 1, 2


def walk_dag(store: BlockReader, cid: CID, scope: Scope = "all", *,
             seen: set[bytes] | None = None) -> Iterator[tuple[CID, bytes]]:
    """Blocks under ``cid`` in depth-first pre-order, each CID once (first seen).

    ``scope``: ``block`` = the root block only; ``all`` = every block reachable through dag-pb links;
    ``entity`` = a whole file, a directory node alone, or a HAMT directory with its shard nodes (not
    the entries). Identity blocks are traversed but never yielded. Pass ``seen`` to share
    de-duplication across several roots.
    """
    if scope not in SCOPES:
        raise UsageError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    seen = set() if seen is None else seen
    stack: list[tuple[CID, int | None]] = [(cid, None)]
    while stack:
        current, mode = stack.pop()
        key = bytes(current)
        if key in seen:
            continue
        seen.add(key)
        needs_unixfs = mode == _SHARDS or (mode is None and scope == "entity")
        node = _load(store, current, unixfs=needs_unixfs)
        if current.hash_code != IDENTITY:
            yield current, node.block
        if mode is None:
            mode = _root_mode(node, scope)
        stack.extend(reversed(_children(node, mode)))


def _root_mode(node: _Node, scope: str) -> int:
    if scope == "all":
        return _ALL
    if scope == "block" or node.fs is None:
        return _NONE
    if node.fs.type in (FILE, UNIXFS_RAW):
        return _ALL
    return _SHARDS if node.fs.type == HAMT_SHARD else _NONE


def _children(node: _Node, mode: int) -> list[tuple[CID, int | None]]:
    if mode == _NONE or node.pb is None:
        return []
    if mode == _ALL:
        return [(_link_cid(link.hash), _ALL) for link in node.pb.links]
    width = _hamt_width(node)
    return [(_link_cid(link.hash), _SHARDS) for link in node.pb.links if len(link.name) == width]


def has_dag(store: BlockReader, cid: CID) -> bool:
    """True when every block reachable from ``cid`` is stored; reads only the dag-pb nodes."""
    stack, seen = [cid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if not store.has(current):
            return False
        if current.codec == DAG_PB:
            stack.extend(_link_cid(link.hash) for link in decode_node(store.get(current)).links)
    return True


def dag_blocks(blocks: BlockReader, roots: Iterable[str]) -> set[bytes]:
    """The multihashes of the stored blocks under ROOTS (reads only dag-pb nodes)."""
    found: set[bytes] = set()
    stack: list[CID] = []
    for text in roots:
        try:
            stack.append(CID.decode(text))
        except InvalidCID:
            continue
    while stack:
        cid = stack.pop()
        if cid.multihash in found or not blocks.has(cid):
            continue
        found.add(cid.multihash)
        if cid.codec == DAG_PB:
            try:
                stack.extend(CID.from_bytes(link.hash) for link in decode_node(blocks.get(cid)).links)
            except MirrorError:
                continue
    return found
