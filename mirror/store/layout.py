"""File DAG layouts: Kubo's balanced (default) and trickle builders over a stream of leaves.

Both pull leaves from a ``LeafSource`` exactly as boxo's builders pull chunks from the splitter,
so the shape (and therefore every CID) is Kubo's:

* balanced (``importer/balanced``): the first leaf is the root; while chunks remain, a new root
  takes the old one as first child and is filled left to right to the next depth. All leaves sit
  at one depth; the right-most nodes may hold a single child.
* trickle (``importer/trickle``): each node first takes up to ``max_links`` leaves, then, for
  depth 1, 2, ... (below its own depth; unlimited at the root), up to 4 sub-trees of that depth.
  Even a single chunk gets a root node above its leaf.

Internal nodes are UnixFS File nodes with ``filesize`` and one ``blocksizes`` entry per child, no
Data, and links named ``""`` carrying the child's cumulative size (Tsize).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from mirror.store.cid import CID
from mirror.store.dagpb import PBLink, PBNode, encode_node
from mirror.store.unixfs_pb import FILE, UnixFSData, UnixTime, encode_unixfs

TRICKLE_DEPTH_REPEAT = 4


class Child(NamedTuple):
    """A finished sub-DAG: its CID, cumulative block size (Tsize) and the file bytes under it."""

    cid: CID
    tsize: int
    size: int


class FileMeta(NamedTuple):
    """Optional attributes Kubo writes on a file's root node only (``--mode``, ``--mtime``)."""

    mode: int | None = None
    mtime: UnixTime | None = None


class LeafSource(Protocol):
    """Where a layout pulls its leaves from (the streaming chunker plus leaf encoder).

    ``next_leaf(root=True)`` marks a leaf that becomes the root when the stream ends right after
    it; the source then writes ``meta`` on it, as it does on ``empty_root()``.
    """

    meta: FileMeta | None

    def done(self) -> bool: ...
    def next_leaf(self, *, root: bool = False) -> Child: ...
    def empty_root(self) -> Child: ...
    def put_node(self, block: bytes) -> CID: ...


def file_node(source: LeafSource, children: list[Child], meta: FileMeta | None = None) -> Child:
    """Encode and store an internal File node over ``children``."""
    sizes = [child.size for child in children]
    data = UnixFSData(FILE, filesize=sum(sizes), blocksizes=sizes,
                      mode=meta.mode if meta else None, mtime=meta.mtime if meta else None)
    links = [PBLink(bytes(child.cid), "", child.tsize) for child in children]
    block = encode_node(PBNode(links, encode_unixfs(data)))
    cid = source.put_node(block)
    return Child(cid, len(block) + sum(child.tsize for child in children), sum(sizes))


# --- balanced -----------------------------------------------------------------------------------

def build_balanced(source: LeafSource, max_links: int) -> Child:
    if source.done():
        return source.empty_root()
    root = source.next_leaf(root=True)
    depth = 1
    while not source.done():
        children = [root]
        _fill_balanced(source, children, depth, max_links)
        root = file_node(source, children, source.meta if source.done() else None)
        depth += 1
    return root


def _fill_balanced(source: LeafSource, children: list[Child], depth: int, max_links: int) -> None:
    while len(children) < max_links and not source.done():
        if depth == 1:
            children.append(source.next_leaf())
        else:
            grandchildren: list[Child] = []
            _fill_balanced(source, grandchildren, depth - 1, max_links)
            children.append(file_node(source, grandchildren))


# --- trickle ------------------------------------------------------------------------------------

def build_trickle(source: LeafSource, max_links: int) -> Child:
    return _fill_trickle(source, max_links, -1, source.meta)


def _fill_trickle(source: LeafSource, max_links: int, max_depth: int,
                  meta: FileMeta | None = None) -> Child:
    children: list[Child] = []
    while len(children) < max_links and not source.done():
        children.append(source.next_leaf())
    depth = 1
    while (max_depth == -1 or depth < max_depth) and not source.done():
        for _ in range(TRICKLE_DEPTH_REPEAT):
            if source.done():
                break
            children.append(_fill_trickle(source, max_links, depth))
        depth += 1
    return file_node(source, children, meta)
