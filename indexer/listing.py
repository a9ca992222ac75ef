"""Listing documents for the node's public face: by update time for OAI-PMH harvesters, one
collection's summary for its web page, and the collections themselves.

Update-time listing is keyset pagination over ``(updated_at, id)``, served by the indexes
``ix_documents_updated_at_id`` and ``ix_documents_collection_id_updated_at_id`` (migration 0003),
so every page costs the same whatever the size of the index. Retracted documents are listed too
(``deleted`` is True): a harvester must learn about deletions.

Every function takes a read connection (``Index.read()`` style snapshot) and returns records.
Private documents (not published, ``documents.private``) are never listed, counted or named here,
and a collection is named only when it has a published document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer import read
from indexer.db import on_query
from indexer.models import table_of, Collection, Content, Document, DocumentContent
from indexer.records import CollectionStats, DocumentOut
from indexer.write import in_json

collections = table_of(Collection)
documents = table_of(Document)
contents = table_of(Content)
links = table_of(DocumentContent)


@dataclass(frozen=True)
class DateRange:
    """Documents updated in ``[since, until)`` (ISO 8601 UTC strings; None for open ends),
    in collection ``collection`` (None for all), after the keyset position ``after``."""

    since: str | None = None
    until: str | None = None
    collection: str | None = None
    after: tuple[str, int] | None = None     # (updated_at, id) of the last document already listed


PUBLISHED = documents.c.private.is_(False)


def _filters(where: DateRange, *, keyset: bool) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = [PUBLISHED]
    if where.since is not None:
        out.append(documents.c.updated_at >= where.since)
    if where.until is not None:
        out.append(documents.c.updated_at < where.until)
    if where.collection is not None:
        out.append(documents.c.collection_id == select(collections.c.id).where(
            collections.c.name == where.collection).scalar_subquery())
    if keyset and where.after is not None:
        out.append(tuple_(documents.c.updated_at, documents.c.id) > tuple_(*where.after))
    return out


def _ranged(where: DateRange, *columns: Any, keyset: bool) -> Select[Any]:
    query = select(*columns)
    filters = _filters(where, keyset=keyset)
    return query.where(and_(*filters)) if filters else query


async def by_update_time(conn: AsyncConnection, where: DateRange, limit: int) -> list[DocumentOut]:
    """The next ``limit`` documents (live and retracted) of ``where``, oldest update first."""
    query = (_ranged(where, documents.c.id, keyset=True)
             .order_by(documents.c.updated_at, documents.c.id).limit(limit))
    ids = list(await conn.scalars(query))
    return await on_query(conn, lambda c: read.load(c, ids))


async def count_by_update_time(conn: AsyncConnection, where: DateRange) -> int:
    """How many documents (live and retracted) ``where`` lists in all (its keyset ignored)."""
    return await conn.scalar(_ranged(where, func.count(), keyset=False).select_from(documents)) or 0


async def earliest_update(conn: AsyncConnection) -> str | None:
    """The oldest ``updated_at`` of any document; None for an empty index."""
    return await conn.scalar(select(func.min(documents.c.updated_at)).where(PUBLISHED))


_HAS_PUBLISHED = exists().where(documents.c.collection_id == collections.c.id, PUBLISHED)


async def collection_names(conn: AsyncConnection) -> list[str]:
    return list(await conn.scalars(select(collections.c.name).where(_HAS_PUBLISHED)
                                   .order_by(collections.c.name)))


async def has_collection(conn: AsyncConnection, name: str) -> bool:
    return await conn.scalar(select(collections.c.id).where(collections.c.name == name,
                                                             _HAS_PUBLISHED)) is not None


async def file_names(conn: AsyncConnection, cids: list[str], *, include_private: bool = False) -> dict[str, str]:
    """A file name each of these CIDs is listed under (one query for a page of results), by a
    published document unless ``include_private``."""
    if not cids:
        return {}
    query = (select(contents.c.cid, func.min(links.c.name))
             .join_from(contents, links, links.c.content_id == contents.c.id)
             .where(in_json(contents.c.cid, cids), links.c.name.is_not(None))
             .group_by(contents.c.cid))
    if not include_private:
        query = query.join(documents, documents.c.id == links.c.document_id).where(PUBLISHED)
    return {cid: name for cid, name in await conn.execute(query) if name}


async def collection_summary(conn: AsyncConnection, name: str, *,
                             include_private: bool = False) -> tuple[CollectionStats, int] | None:
    """One collection's live documents, bytes and licences, and its retracted count; None if unknown
    (or, unless ``include_private``, without a published document)."""
    query = select(collections).where(collections.c.name == name)
    row = (await conn.execute(query if include_private else query.where(_HAS_PUBLISHED))).first()
    if row is None:
        return None
    shown = documents.c.collection_id == row.id
    if not include_private:
        shown = and_(shown, PUBLISHED)
    summary = CollectionStats(row.name, row.kind, row.source_url, 0, 0, {})
    retracted = 0
    for license_, deleted, count in await conn.execute(
            select(documents.c.license, documents.c.deleted, func.count())
            .where(shown)
            .group_by(documents.c.license, documents.c.deleted)):
        if deleted:
            retracted += count
        else:
            key = license_ or ""
            summary.licenses[key] = summary.licenses.get(key, 0) + count
            summary.documents += count
    held = (select(links.c.content_id).distinct()
            .join_from(links, documents, links.c.document_id == documents.c.id)
            .where(shown, documents.c.deleted.is_(False)).subquery())
    summary.bytes = await conn.scalar(
        select(func.coalesce(func.sum(contents.c.size), 0))
        .join_from(held, contents, contents.c.id == held.c.content_id)) or 0
    return summary, retracted
