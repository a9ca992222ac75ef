"""Reading documents, contents and statistics back out of the index as records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer.models import table_of, Collection, Content, Document, DocumentContent
from indexer.node_models import RETRACTED
from indexer.records import CollectionStats, ContentOut, DocumentOut, IndexStats
from indexer.write import in_json

collections = table_of(Collection)
documents = table_of(Document)
contents = table_of(Content)
links = table_of(DocumentContent)

_DOC_COLUMNS = [c for c in documents.columns if c.name not in ("collection_id", "fingerprint")]
_CONTENT_COLUMNS = [contents.c.sha256, contents.c.size, contents.c.cid, contents.c.profile,
                    contents.c.media_type, contents.c.verified_at.is_not(None).label("verified")]


def _documents() -> Select[Any]:
    return (select(*_DOC_COLUMNS, collections.c.name.label("collection"))
            .join_from(documents, collections, documents.c.collection_id == collections.c.id))


async def load(conn: AsyncConnection, ids: list[int]) -> list[DocumentOut]:
    """The documents with these ids, in the order given (missing ids are left out)."""
    if not ids:
        return []
    rows = (await conn.execute(_documents().where(in_json(documents.c.id, ids)))).all()
    files = await _files(conn, ids)
    by_id = {row.id: _document(row, files.get(row.id, [])) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


async def _files(conn: AsyncConnection, ids: list[int]) -> dict[int, list[ContentOut]]:
    rows = await conn.execute(
        select(links.c.document_id, *_CONTENT_COLUMNS, links.c.name, links.c.url)
        .join_from(links, contents, links.c.content_id == contents.c.id)
        .where(in_json(links.c.document_id, ids))
        .order_by(links.c.document_id, links.c.position))
    files: dict[int, list[ContentOut]] = {}
    for row in rows:
        values = dict(row._mapping)
        values["verified"] = bool(values["verified"])
        files.setdefault(values.pop("document_id"), []).append(ContentOut(**values))
    return files


def _document(row: Row[Any], files: list[ContentOut]) -> DocumentOut:
    values = row._asdict()
    values["deleted"], values["private"] = bool(values["deleted"]), bool(values["private"])
    return DocumentOut(**values, contents=files)


async def document_id(conn: AsyncConnection, collection: str, source_id: str) -> int | None:
    return await conn.scalar(
        select(documents.c.id)
        .join_from(documents, collections, documents.c.collection_id == collections.c.id)
        .where(collections.c.name == collection, documents.c.source_id == source_id))


async def by_cid(conn: AsyncConnection, cid: str, *, include_deleted: bool = False,
                 include_private: bool = False) -> list[DocumentOut]:
    """Documents with a file whose CID (or sha256) is ``cid``, oldest first (published ones
    only unless ``include_private``)."""
    query = (select(links.c.document_id).distinct()
             .join_from(links, contents, links.c.content_id == contents.c.id)
             .join(documents, documents.c.id == links.c.document_id)
             .where(or_(contents.c.cid == cid, contents.c.sha256 == cid.lower()))
             .order_by(links.c.document_id))
    if not include_deleted:
        query = query.where(documents.c.deleted.is_(False))
    if not include_private:
        query = query.where(documents.c.private.is_(False))
    return await load(conn, list(await conn.scalars(query)))


async def content(conn: AsyncConnection, key: str) -> ContentOut | None:
    """The content with this sha256 (hex) or CID."""
    row = (await conn.execute(select(*_CONTENT_COLUMNS).where(
        or_(contents.c.sha256 == key.lower(), contents.c.cid == key)).limit(1))).first()
    return ContentOut(**(row._asdict() | {"verified": bool(row.verified)})) if row else None


async def page_of_documents(conn: AsyncConnection, *, collection: str | None, after_id: int, limit: int,
               include_deleted: bool) -> list[DocumentOut]:
    """The next ``limit`` documents with an id above ``after_id`` (keyset pagination)."""
    query = select(documents.c.id).where(documents.c.id > after_id)
    if collection is not None:
        query = query.join(collections, documents.c.collection_id == collections.c.id).where(
            collections.c.name == collection)
    if not include_deleted:
        query = query.where(documents.c.deleted.is_(False))
    ids = list(await conn.scalars(query.order_by(documents.c.id).limit(limit)))
    return await load(conn, ids)


async def stats(conn: AsyncConnection, *, include_private: bool = False) -> IndexStats:
    """Live documents, bytes and licences per collection, and the totals (of published documents,
    and collections having one, unless ``include_private``)."""
    live: ColumnElement[bool] = documents.c.deleted.is_(False)
    if not include_private:
        live = and_(live, documents.c.private.is_(False))
    per = {row.id: CollectionStats(row.name, row.kind, row.source_url, 0, 0, {})
           for row in await conn.execute(select(collections).order_by(collections.c.name))}
    for coll_id, license_, count in await conn.execute(
            select(documents.c.collection_id, documents.c.license, func.count())
            .where(live).group_by(documents.c.collection_id, documents.c.license)):
        per[coll_id].licenses[license_ or ""] = count
        per[coll_id].documents += count
    held = (select(documents.c.collection_id, links.c.content_id).distinct()
            .join_from(documents, links, links.c.document_id == documents.c.id).where(live)
            .subquery())
    for coll_id, size in await conn.execute(
            select(held.c.collection_id, func.sum(contents.c.size))
            .join_from(held, contents, contents.c.id == held.c.content_id)
            .group_by(held.c.collection_id)):
        per[coll_id].bytes = size or 0
    totals = (await conn.execute(
        select(func.count(), func.coalesce(func.sum(contents.c.size), 0)).where(contents.c.id.in_(
            select(links.c.content_id).join_from(links, documents,
                                                 links.c.document_id == documents.c.id)
            .where(live))))).one()
    retracted = await conn.scalar(select(func.count()).select_from(documents).where(RETRACTED))
    shown = [c for c in per.values() if include_private or c.documents]
    return IndexStats(documents=sum(c.documents for c in per.values()), retracted=retracted or 0,
                      contents=totals[0], bytes=totals[1], collections=shown)
