"""What a home publishes and what it keeps: private documents, pins, and unpublished blocks.

``mirror.publication`` decides (the licence gate is not the index's business); these are the
statements it runs, each on a connection of the caller's transaction or read snapshot.

* ``documents.private`` marks a local document whose licence the open gate refuses;
  ``PRIVATE_IDS`` is the subquery public faces leave out (served by a partial index).
* ``pins`` are content roots the operator pinned; ``unpublished_blocks`` the blocks of DAGs held
  here that no published document references and no pin names (the gateway refuses them).
"""

from __future__ import annotations

import json
from typing import Iterable

from sqlalchemy import delete, exists, select, true, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer.models import table_of, Content, Document, DocumentContent
from indexer.node_models import HeldContent
from indexer.publication_models import LocalPin, UnpublishedBlock
from indexer.read import Query
from indexer.write import in_json

documents = table_of(Document)
contents = table_of(Content)
links = table_of(DocumentContent)
pins = table_of(LocalPin)
unpublished = table_of(UnpublishedBlock)
held = table_of(HeldContent)

# ``private = 1``, the partial index's own condition (``private IS 1`` read every document)
IS_PRIVATE = documents.c.private == true()
PRIVATE_IDS = select(documents.c.id).where(IS_PRIVATE).scalar_subquery()
BATCH = 500


async def mark_private(conn: AsyncConnection, ids: list[int], private: bool) -> None:
    """Set the private flag of the documents IDS (only rows that differ are written)."""
    if ids:
        await conn.execute(update(documents).where(in_json(documents.c.id, ids),
                                                   documents.c.private.is_not(private))
                           .values(private=private))


async def any_private(conn: AsyncConnection) -> bool:
    return bool(await conn.scalar(select(exists().where(IS_PRIVATE))))


async def published_cids(conn: AsyncConnection, cids: Iterable[str]) -> set[str]:
    """Those of CIDS that a live, published document lists, or that are pinned."""
    wanted = list(set(cids))
    if not wanted:
        return set()
    listed = await conn.scalars(
        select(contents.c.cid).distinct()
        .join(links, links.c.content_id == contents.c.id)
        .join(documents, documents.c.id == links.c.document_id)
        .where(in_json(contents.c.cid, wanted), documents.c.deleted.is_(False),
               documents.c.private.is_(False)))
    pinned = await conn.scalars(select(pins.c.cid).where(in_json(pins.c.cid, wanted)))
    return set(listed) | set(pinned)


async def add_unpublished(conn: AsyncConnection, rows: list[tuple[bytes, str]]) -> None:
    """Record (multihash, root) pairs: blocks the gateway must not serve."""
    for start in range(0, len(rows), BATCH):
        part = rows[start:start + BATCH]
        await conn.execute(sqlite_insert(unpublished).on_conflict_do_nothing(),
                           [{"multihash": m, "root": r} for m, r in part])


async def forget_roots(conn: AsyncConnection, roots: Iterable[str]) -> None:
    """The DAGs under ROOTS are published (or pinned, or gone): their blocks may be served."""
    wanted = list(set(roots))
    if wanted and await any_unpublished(conn):
        await conn.execute(delete(unpublished).where(in_json(unpublished.c.root, wanted)))


async def forget_blocks(conn: AsyncConnection, multihashes: list[bytes]) -> None:
    """These blocks were removed from the store."""
    for start in range(0, len(multihashes), BATCH):
        part = multihashes[start:start + BATCH]
        await conn.execute(delete(unpublished).where(unpublished.c.multihash.in_(part)))


async def any_unpublished(conn: AsyncConnection) -> bool:
    return bool(await conn.scalar(select(exists().where(unpublished.c.multihash.is_not(None)))))


async def is_unpublished(conn: AsyncConnection, multihash: bytes) -> bool:
    """True when the block is part of a DAG nothing published references."""
    return bool(await conn.scalar(select(exists().where(unpublished.c.multihash == multihash))))


async def unpublished_roots(conn: AsyncConnection) -> set[str]:
    return set(await conn.scalars(select(unpublished.c.root).distinct()))


# -- pins -----------------------------------------------------------------------------------------

async def add_pin(conn: AsyncConnection, cid: str, multihash: bytes, now: str) -> bool:
    """Pin CID; False when it was pinned already."""
    done = await conn.execute(sqlite_insert(pins).values(cid=cid, multihash=multihash, created_at=now)
                              .on_conflict_do_nothing())
    return bool(done.rowcount)


async def remove_pin(conn: AsyncConnection, cid: str) -> bool:
    done = await conn.execute(delete(pins).where(pins.c.cid == cid))
    return bool(done.rowcount)


async def pin_rows(conn: AsyncConnection) -> list[tuple[str, str]]:
    """(cid, created_at) of every pin, oldest first."""
    rows = await conn.execute(select(pins.c.cid, pins.c.created_at).order_by(pins.c.created_at, pins.c.cid))
    return [(c, t) for c, t in rows]


async def live_roots(conn: AsyncConnection) -> list[str]:
    """The root CID of every content a live document lists, and every pin: what ``gc`` keeps."""
    listed = select(contents.c.cid).where(exists().where(
        links.c.content_id == contents.c.id, documents.c.id == links.c.document_id,
        documents.c.deleted.is_(False)))
    return list(set(await conn.scalars(listed)) | set(await conn.scalars(select(pins.c.cid))))


_REFUSED = ("SELECT EXISTS (SELECT 1 FROM unpublished_blocks WHERE multihash = ?) "
            "OR (EXISTS (SELECT 1 FROM contents WHERE cid IN (SELECT value FROM json_each(?))) "
            "AND NOT EXISTS (SELECT 1 FROM document_contents dc JOIN documents d ON d.id = dc.document_id "
            "WHERE dc.content_id IN (SELECT id FROM contents WHERE cid IN (SELECT value FROM json_each(?))) "
            "AND d.deleted IS 0 AND d.private IS 0) "
            "AND NOT EXISTS (SELECT 1 FROM pins WHERE multihash = ?))")


def is_refused(query: Query, multihash: bytes, cid_texts: list[str]) -> bool:
    """True when the gateway must not serve the block MULTIHASH (whose CID may be written as any
    of CID_TEXTS): it belongs to an unpublished DAG, or it is the root of a content that no live
    published document lists and no pin names. One statement: the gateway asks for every block
    it serves."""
    texts = json.dumps(cid_texts)
    return bool(query(_REFUSED, [multihash, texts, texts, multihash])[0][0])


async def unrecorded_unlisted(conn: AsyncConnection) -> list[str]:
    """Roots of contents held here that no live published document lists, no pin names, and no
    unpublished block records yet (``mirror.publication.reconcile``)."""
    listed = exists().where(links.c.content_id == contents.c.id, documents.c.id == links.c.document_id,
                            documents.c.deleted.is_(False), documents.c.private.is_(False))
    pinned = exists().where(pins.c.cid == contents.c.cid)
    recorded = exists().where(unpublished.c.root == contents.c.cid)
    return list(await conn.scalars(select(contents.c.cid).join(held, held.c.content_id == contents.c.id)
                                   .where(~listed, ~pinned, ~recorded)))
