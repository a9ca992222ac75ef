"""Harvest state in the index, so a crawl killed at any moment resumes where it stood.

Two tables: ``harvest_state`` holds per-collection key/values (an OAI-PMH resumption token, the
last datestamp, a crawl frontier) and ``record_status`` one row per source record ("in_flight",
"done", "skipped", ...). Writers take a connection inside a write transaction so the crawler can
update state in the same transaction as the document it concerns.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer.models import table_of, Collection, Document, HarvestState, RecordStatus
from indexer.records import RecordState
from indexer.write import in_json

collections = table_of(Collection)
state = table_of(HarvestState)
records = table_of(RecordStatus)
documents = table_of(Document)


async def get_state(conn: AsyncConnection, collection: str, key: str) -> str | None:
    return await conn.scalar(
        select(state.c.value).join_from(state, collections, state.c.collection_id == collections.c.id)
        .where(collections.c.name == collection, state.c.key == key))


async def get_states(conn: AsyncConnection, collection: str, keys: list[str]) -> dict[str, str]:
    """key -> value, for those of KEYS a collection has (one query)."""
    if not keys:
        return {}
    rows = await conn.execute(
        select(state.c.key, state.c.value).join_from(state, collections, state.c.collection_id == collections.c.id)
        .where(collections.c.name == collection, in_json(state.c.key, sorted(set(keys)))))
    return {key: value for key, value in rows}


async def set_state(conn: AsyncConnection, collection_id: int, key: str, value: str | None,
                    now: str) -> None:
    """Set ``key`` for a collection; ``None`` removes it."""
    if value is None:
        await conn.execute(delete(state).where(state.c.collection_id == collection_id,
                                               state.c.key == key))
        return
    stmt = sqlite_insert(state).values(collection_id=collection_id, key=key, value=value,
                                       updated_at=now)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=["collection_id", "key"],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at}))


async def set_states(conn: AsyncConnection, collection_id: int, values: dict[str, str | None],
                     now: str) -> None:
    """Set many keys of a collection in two statements (a None value removes its key)."""
    gone = [key for key, value in values.items() if value is None]
    if gone:
        await conn.execute(delete(state).where(state.c.collection_id == collection_id, in_json(state.c.key, gone)))
    kept = [{"collection_id": collection_id, "key": key, "value": value, "updated_at": now}
            for key, value in values.items() if value is not None]
    if kept:
        stmt = sqlite_insert(state)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=["collection_id", "key"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at}), kept)


async def set_record_status(conn: AsyncConnection, collection_id: int, source_id: str, status: str,
                            datestamp: str | None, detail: str | None, now: str) -> None:
    await set_record_statuses(conn, collection_id, [(source_id, status, datestamp, detail)], now)


async def set_record_statuses(conn: AsyncConnection, collection_id: int,
                              rows: list[tuple[str, str, str | None, str | None]], now: str) -> None:
    """Set many records' (source_id, status, datestamp, detail) in one statement."""
    if not rows:
        return
    stmt = sqlite_insert(records)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=["collection_id", "source_id"],
        set_={name: stmt.excluded[name] for name in ("status", "datestamp", "detail", "updated_at")}),
        [{"collection_id": collection_id, "source_id": source_id, "status": status,
          "datestamp": datestamp, "detail": detail, "updated_at": now}
         for source_id, status, datestamp, detail in rows])


def _records(collection: str):
    return (select(collections.c.name, records.c.source_id, records.c.status, records.c.datestamp,
                   records.c.detail, records.c.updated_at)
            .join_from(records, collections, records.c.collection_id == collections.c.id)
            .where(collections.c.name == collection))


async def get_record_status(conn: AsyncConnection, collection: str,
                            source_id: str) -> RecordState | None:
    row = (await conn.execute(_records(collection).where(records.c.source_id == source_id))).first()
    return RecordState(*row) if row else None


async def get_record_statuses(conn: AsyncConnection, collection: str,
                              source_ids: list[str]) -> dict[str, RecordState]:
    """source_id -> state, for those of SOURCE_IDS that have one (one query)."""
    if not source_ids:
        return {}
    rows = await conn.execute(_records(collection)
                              .where(in_json(records.c.source_id, sorted(set(source_ids)))))
    return {row.source_id: RecordState(*row) for row in rows}


async def list_records(conn: AsyncConnection, collection: str, status: str, *, after: str = "",
                       limit: int = 1000) -> list[RecordState]:
    """Records of a collection with ``status``, by source id above ``after`` (paginate with it)."""
    rows = await conn.execute(_records(collection)
                              .where(records.c.status == status, records.c.source_id > after)
                              .order_by(records.c.source_id).limit(limit))
    return [RecordState(*row) for row in rows]


async def count_marked(conn: AsyncConnection, collection: str, status: str, detail_prefix: str) -> int:
    """Records of a collection with ``status`` whose detail starts with ``detail_prefix`` (a
    harvest writes its pass id there: the records a pass brought to that status)."""
    escaped = detail_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return await conn.scalar(
        select(func.count()).select_from(records)
        .join_from(records, collections, records.c.collection_id == collections.c.id)
        .where(collections.c.name == collection, records.c.status == status,
               records.c.detail.like(escaped + "%", escape="\\"))) or 0


async def count_records(conn: AsyncConnection, collection: str) -> dict[str, int]:
    """status -> number of records of a collection."""
    rows = await conn.execute(
        select(records.c.status, func.count())
        .join_from(records, collections, records.c.collection_id == collections.c.id)
        .where(collections.c.name == collection).group_by(records.c.status))
    return {status: count for status, count in rows}


async def rename_record(conn: AsyncConnection, collection_id: int, old: str, new: str) -> None:
    """The status of record OLD becomes that of NEW (``Transaction.rekey``)."""
    await conn.execute(delete(records).where(records.c.collection_id == collection_id,
                                             records.c.source_id == new))
    await conn.execute(update(records).where(records.c.collection_id == collection_id,
                                             records.c.source_id == old).values(source_id=new))


async def forget_records(conn: AsyncConnection, collection_id: int, source_ids: list[str] | None) -> None:
    """Drop the statuses of SOURCE_IDS (None: every record and the harvest state of the collection),
    so that the next harvest takes them as new (``openmirror rm``)."""
    if source_ids is None:
        await conn.execute(delete(records).where(records.c.collection_id == collection_id))
        await conn.execute(delete(state).where(state.c.collection_id == collection_id))
        return
    for start in range(0, len(source_ids), 500):
        await conn.execute(delete(records).where(records.c.collection_id == collection_id,
                                                 in_json(records.c.source_id, source_ids[start:start + 500])))


async def harvested_live(conn: AsyncConnection, collection: str) -> list[str]:
    """Source ids of the collection's live documents that a harvest stored (they have a record
    status; ``openmirror add`` writes none)."""
    return list(await conn.scalars(
        select(documents.c.source_id)
        .join(collections, collections.c.id == documents.c.collection_id)
        .join(records, and_(records.c.collection_id == documents.c.collection_id,
                            records.c.source_id == documents.c.source_id))
        .where(collections.c.name == collection, documents.c.deleted.is_(False))))


async def collection_source(conn: AsyncConnection, collection: str) -> str | None:
    """Where the collection was last harvested from (its source location), if it exists."""
    return await conn.scalar(select(collections.c.source_url).where(collections.c.name == collection))
