"""Publication: what a node shows the world, and what stays private to its home.

A document is **published** when the open-licence gate allows its licence: the gate every peer
applies before it merges an entry (``mirror.licenses.open_licence``), so a node publishes exactly
what its peers would accept. A local document the gate refuses (``openmirror add`` without
``--license``; a harvest that widened the allow-list with ``--allow-license``) is **private**:
``openmirror search`` finds it (and says so), but it is never signed into the feed, never listed
by the search page, the JSON API or OAI-PMH, and the gateway does not serve its content.

**The gateway** serves content some published document references, or that the operator pinned
(``openmirror pin add``). ``refused(index, cid)`` is its test, one index read: a block of a DAG
recorded as unpublished (``unpublished_blocks``), or a content root that no live published
document lists and no pin names, is refused.

**Provenance** published to peers never names a local path: ``public_form`` replaces a local
``source_url``, ``landing_url`` or file ``url`` with the file's name and leaves out the raw
record (a local manifest's line) when it spells a path; the home's own index keeps them all
(``show`` prints them).

The ``Publication`` hook (attached by ``mirror.services.open_home`` to every writable index) keeps
``documents.private`` and ``unpublished_blocks`` in step with every change, in the change's own
transaction: a local document the gate refuses is marked private and the blocks of its contents
that nothing published lists are recorded; a published document (local, or merged from a peer)
clears both for its contents; a retraction records the blocks of the contents no published
document lists any more. ``unpublish`` does the same for roots stored outside any document
(``add --no-index``, ``add -r``, ``car import``, ``get``, an unpinned root).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from functools import partial
from typing import Iterable

from indexer import publication as rows
from indexer.index import Index, Transaction
from indexer.records import Change, DocumentIn
from mirror import licenses
from mirror.store import ContentStore
from mirror.store.cid import CID, DAG_PB
from mirror.store.exporter import dag_blocks

_LOCAL = re.compile(r"^(?:file:|/|~|[A-Za-z]:[\\/]|\\\\)", re.I)
_QUOTED_LOCAL = re.compile(r"[\"'](?:file:|/|~|[A-Za-z]:[\\/])", re.I)   # a path in a JSON or CSV line


def is_public(doc: DocumentIn) -> bool:
    """True when DOC may be published: its licence passes the open gate peers apply."""
    return licenses.open_licence(doc.license, doc.license_url, doc.license_statement)


def is_local(value: str | None) -> bool:
    """True for a local path or ``file:`` URI (what must never reach a peer)."""
    return bool(value) and _LOCAL.match(value or "") is not None


def file_name_of(value: str) -> str:
    """The file name of a local path or ``file:`` URI (its last segment)."""
    return re.split(r"[\\/]", value.rstrip("/\\"))[-1] or "file"


def public_form(doc: DocumentIn) -> DocumentIn:
    """DOC as peers may see it: no local path in its provenance (see the module docstring)."""
    scrubbed = [v for v in (doc.source_url, doc.landing_url, *(c.url for c in doc.contents)) if is_local(v)]
    if not scrubbed:
        return doc
    raw = None if doc.raw_record is None or _QUOTED_LOCAL.search(doc.raw_record) else doc.raw_record
    return replace(doc, source_url=_name_if_local(doc.source_url), landing_url=_name_if_local(doc.landing_url),
                   raw_record=raw, contents=[replace(c, url=_name_if_local(c.url)) for c in doc.contents])


def _name_if_local(value: str | None) -> str | None:
    return file_name_of(value) if value is not None and is_local(value) else value


def cid_texts(cid: CID) -> list[str]:
    """The ways the index may have written CID (v1 base32; v0 for a dag-pb sha2-256 one)."""
    texts = {str(cid), str(cid.to_v1())}
    if cid.codec == DAG_PB and cid.version == 1 and cid.multihash[:2] == b"\x12\x20":
        texts.add(str(CID(0, DAG_PB, cid.multihash)))
    return sorted(texts)


async def refused(index: Index, cid: CID) -> bool:
    """True when the gateway must not serve CID (see the module docstring)."""
    return await index.read_query(partial(rows.is_refused, multihash=cid.multihash, cid_texts=cid_texts(cid)))


class Publication:
    """The precommit hook that keeps private marks and unpublished blocks (module docstring)."""

    def __init__(self, store: ContentStore) -> None:
        self.store = store

    def attach(self, index: Index) -> None:
        index.add_precommit_hook(self.hook)

    async def hook(self, tx: Transaction, changes: list[Change]) -> None:
        if not changes:                 # peers, holdings, feeds: nothing published changed
            return
        kept = [c for c in changes if c.kind != "retracted"]
        private = [c for c in kept if c.origin is None and not is_public(c.document)]
        public = [c for c in kept if c.origin is not None or is_public(c.document)]
        conn = await tx.connection()
        await rows.mark_private(conn, [c.document_id for c in private], True)
        if public and await rows.any_private(conn):
            await rows.mark_private(conn, [c.document_id for c in public], False)
        shown = _roots(public)
        await rows.forget_roots(conn, shown)
        hidden = _roots(private + [c for c in changes if c.kind == "retracted"]) - shown
        await record_unpublished(tx, self.store, hidden)


def _roots(changes: list[Change]) -> set[str]:
    return {content.cid for change in changes for content in change.document.contents}


async def record_unpublished(tx: Transaction, store: ContentStore, roots: Iterable[str]) -> int:
    """Record the blocks held under those of ROOTS that nothing published lists and no pin names;
    returns how many roots that was."""
    conn = await tx.connection()
    candidates = set(roots)
    hidden = candidates - await rows.published_cids(conn, candidates)
    if not hidden:
        return 0
    found = await asyncio.to_thread(_blocks_under, store, sorted(hidden))
    await rows.add_unpublished(conn, found)
    return len(hidden)


def _blocks_under(store: ContentStore, roots: list[str]) -> list[tuple[bytes, str]]:
    return [(multihash, root) for root in roots for multihash in sorted(dag_blocks(store.blocks, [root]))]


async def unpublish(index: Index, store: ContentStore, roots: Iterable[str]) -> int:
    """Roots stored outside any published document (``add --no-index``, ``car import``...): the
    gateway refuses their blocks unless a published document lists them or they are pinned."""
    wanted = [str(r) for r in roots]
    if not wanted:
        return 0
    async with index.transaction() as tx:
        return await record_unpublished(tx, store, wanted)


async def publish_pinned(index: Index, root: str) -> None:
    """A pinned root's blocks may be served (``pin add``)."""
    async with index.transaction() as tx:
        await rows.forget_roots(await tx.connection(), [root])


async def reconcile_unpublished(index: Index, store: ContentStore) -> int:
    """Record the held contents that nothing published lists and no unpublished row names yet
    (what an older openmirror stored; retractions it applied); returns how many roots. Run at
    node start, after ``mirror.held.reconcile``."""
    async with index.read() as conn:
        roots = await rows.unrecorded_unlisted(conn)
    return await unpublish(index, store, roots)
