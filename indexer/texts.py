"""Extracted text for contents the index learned of without it.

Entries never carry extracted text (each node extracts its own), so a document applied from a
peer's feed or a bundle is found by its metadata only until its content is here and read. Once
it is, ``add_texts`` stores the text and re-indexes the documents that link that content,
following the full-text rule of ``indexer.fts`` (unindex before the view changes, index after).

    async with index.transaction() as tx:
        conn = await tx.connection()
        wanted = await lacking_text(conn, [content ids])
        await add_texts(conn, {content_id: text, ...})
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer import fts
from indexer.models import table_of, ContentText, DocumentContent
from indexer.write import in_json

texts = table_of(ContentText)
links = table_of(DocumentContent)


async def lacking_text(conn: AsyncConnection, content_ids: list[int]) -> list[int]:
    """Those of CONTENT_IDS that have no stored text."""
    wanted = sorted(set(content_ids))
    if not wanted:
        return []
    have = set(await conn.scalars(select(texts.c.content_id)
                                  .where(in_json(texts.c.content_id, wanted))))
    return [i for i in wanted if i not in have]


async def add_texts(conn: AsyncConnection, found: dict[int, str]) -> int:
    """Store the text of contents that have none and re-index their documents; returns how many
    texts were stored (a content that already has text keeps it)."""
    new = {i: _valid(found[i]) for i in await lacking_text(conn, [i for i, t in found.items() if t])}
    if not new:
        return 0
    docs = list(await conn.scalars(select(links.c.document_id).distinct()
                                   .where(in_json(links.c.content_id, list(new)))))
    await fts.unindex(conn, docs)
    await conn.execute(insert(texts), [{"content_id": i, "text": t} for i, t in new.items()])
    await fts.index(conn, docs)
    return len(new)


def _valid(text: str) -> str:
    """TEXT as valid UTF-8 (a lone surrogate becomes '?')."""
    return text.encode("utf-8", "replace").decode("utf-8")
