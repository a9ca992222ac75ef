"""One write transaction of the index, as handed out by ``Index.transaction()``.

Everything done through a ``Transaction`` commits or rolls back together, including rows a caller
writes itself through ``tx.session`` (an ``AsyncSession``) or ``await tx.connection()``. The changes
it records are reported to the index's listeners only after the commit.
"""

from __future__ import annotations


from sqlalchemy import func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from indexer import fts, harvest, read, write
from indexer.db import on_query
from indexer.models import table_of, Collection, Document
from indexer.records import Change, CollectionIn, DocumentIn, UpsertResult
from indexer.clock import index_time

collections = table_of(Collection)
documents = table_of(Document)


class Transaction:
    def __init__(self, session: AsyncSession, known_collections: dict[str, int]) -> None:
        self.session = session
        self.changes: list[Change] = []
        self.created_collections: dict[str, int] = {}
        self._known = known_collections

    async def connection(self) -> AsyncConnection:
        """The transaction's connection, for Core statements."""
        return await self.session.connection()

    async def upsert_collection(self, collection: CollectionIn) -> int:
        """Create a collection or update its source URL and kind (when given); returns its id."""
        now = index_time()
        stmt = sqlite_insert(collections).values(name=collection.name,
                                                 source_url=collection.source_url,
                                                 kind=collection.kind, created_at=now, updated_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={
            "source_url": func.coalesce(stmt.excluded.source_url, collections.c.source_url),
            "kind": func.coalesce(stmt.excluded.kind, collections.c.kind),
            "updated_at": now,
        })
        conn = await self.connection()
        coll_id = await conn.scalar(stmt.returning(collections.c.id))
        self.created_collections[collection.name] = coll_id
        return coll_id

    async def collection_id(self, name: str) -> int:
        """The id of the collection ``name``, creating it when missing."""
        found = self._known.get(name) or self.created_collections.get(name)
        if found is not None:
            return found
        conn = await self.connection()
        coll_id = await conn.scalar(select(collections.c.id).where(collections.c.name == name))
        if coll_id is None:
            return await self.upsert_collection(CollectionIn(name=name))
        self.created_collections[name] = coll_id
        return coll_id

    async def upsert_document(self, doc: DocumentIn, *, origin: str | None = None) -> UpsertResult:
        return (await self.upsert_documents([doc], origin=origin))[0]

    async def upsert_documents(self, docs: list[DocumentIn], *,
                               origin: str | None = None) -> list[UpsertResult]:
        """Upsert ``docs`` in this transaction; results in input order."""
        # lone surrogates replaced first: the changes, and the entries signed from them, carry
        # the documents as stored
        docs = [write.clean_document(d) for d in docs]
        ids = {name: await self.collection_id(name) for name in {d.collection for d in docs}}
        results = await write.upsert(await self.connection(), docs, ids, index_time())
        self.changes += [Change(r.status, doc, r.document_id, origin)
                         for doc, r in zip(docs, results) if r.status != "unchanged"]
        return results

    async def retract(self, collection: str, source_id: str, *, origin: str | None = None) -> bool:
        """Mark a document deleted and drop it from search; False when nothing live was there."""
        conn = await self.connection()
        doc_id = await on_query(conn, lambda c: read.document_id(c, collection, source_id))
        stored = await on_query(conn, lambda c: read.load(c, [doc_id] if doc_id is not None else []))
        if not stored or stored[0].deleted:
            return False
        assert doc_id is not None
        await fts.unindex(conn, [doc_id])
        await conn.execute(update(documents).where(documents.c.id == doc_id)
                           .values(deleted=True, updated_at=index_time()))
        self.changes.append(Change("retracted", stored[0].to_document_in(), doc_id, origin))
        return True

    async def rekey(self, collection: str, old: str, new: str) -> bool:
        """Move the live document ``old`` (and its record status) to the source id ``new``: the new
        key is stored as it was, the old one retracted. False when ``old`` holds nothing live or
        ``new`` is taken."""
        conn = await self.connection()
        if old == new or await on_query(conn, lambda c: read.document_id(c, collection, new)) is not None:
            return False
        doc_id = await on_query(conn, lambda c: read.document_id(c, collection, old))
        stored = await on_query(conn, lambda c: read.load(c, [doc_id] if doc_id is not None else []))
        if not stored or stored[0].deleted:
            return False
        moved = stored[0].to_document_in()
        moved.source_id = new
        await self.upsert_document(moved)
        await self.retract(collection, old)
        await harvest.rename_record(conn, await self.collection_id(collection), old, new)
        return True

    async def set_state(self, collection: str, key: str, value: str | None) -> None:
        """Set (``None``: remove) one harvest state value of a collection."""
        await harvest.set_state(await self.connection(), await self.collection_id(collection), key,
                                value, index_time())

    async def set_states(self, collection: str, values: dict[str, str | None]) -> None:
        """Set (``None``: remove) many harvest state values of a collection at once."""
        await harvest.set_states(await self.connection(), await self.collection_id(collection), values,
                                 index_time())

    async def set_record_status(self, collection: str, source_id: str, status: str,
                                datestamp: str | None = None, detail: str | None = None) -> None:
        await harvest.set_record_status(await self.connection(), await self.collection_id(collection),
                                        source_id, status, datestamp, detail, index_time())

    async def set_record_statuses(self, collection: str,
                                  rows: list[tuple[str, str, str | None, str | None]]) -> None:
        """Set many records' (source_id, status, datestamp, detail) of one collection at once."""
        await harvest.set_record_statuses(await self.connection(), await self.collection_id(collection),
                                          rows, index_time())
