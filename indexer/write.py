"""The upsert every write path goes through: a batch of documents in a few Core statements.

A document is keyed on (collection, source_id); its files' contents on the sha256 of their bytes
(the same bytes under two documents are one ``contents`` row and two links; the first CID and
profile recorded for those bytes stay). A document whose
*fingerprint* (metadata, licence and file list; not the fetch time, HTTP status and headers, which
change on every fetch) is unchanged is not written at all. Full-text maintenance follows the rule in
``indexer.fts``: unindex what will change, write, index what changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _quote   # the C function json.dumps uses
from typing import Any, Iterator

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from indexer import fts
from indexer.models import table_of, Content, ContentText, Document, DocumentContent
from indexer.records import DocumentIn, UpsertResult

documents = table_of(Document)
contents = table_of(Content)
links = table_of(DocumentContent)
texts = table_of(ContentText)

_FINGERPRINTED = ("title", "creators", "description", "subjects", "language", "date", "type",
                  "source_url", "landing_url", "license", "license_url", "license_statement",
                  "raw_record")
# Hot statements run as plain executemany with tuples: SQLAlchemy's per-row parameter
# processing costs more than SQLite itself on the bulk path. _values() follows this order.
_DOC_COLUMNS = ("collection_id", "source_id", "title", "creators", "description", "subjects",
                "language", "date", "type", "source_url", "landing_url", "license", "license_url",
                "license_statement", "retrieved_at", "http_status", "http_headers", "raw_record",
                "deleted", "fingerprint", "updated_at")
# ``private`` is not written here: new rows are public, and the publication hook of a writable
# home (mirror.publication) marks the private ones in the same transaction.
assert set(_DOC_COLUMNS) | {"id", "private"} == {c.name for c in documents.columns}
_INSERT_DOC = (f"INSERT INTO documents (id, {', '.join(_DOC_COLUMNS)}) "
               f"VALUES ({', '.join('?' * (len(_DOC_COLUMNS) + 1))})")
_UPDATE_DOC = (f"UPDATE documents SET {', '.join(f'{c} = ?' for c in _DOC_COLUMNS[2:])} "
               "WHERE id = ?")
_INSERT_CONTENT = ("INSERT INTO contents (id, sha256, size, media_type, cid, profile, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)")
_INSERT_LINK = ("INSERT INTO document_contents (document_id, position, content_id, name, url) "
                "VALUES (?, ?, ?, ?, ?)")
_INSERT_TEXT = "INSERT INTO texts (content_id, text) VALUES (?, ?)"
_to_json = json.JSONEncoder(ensure_ascii=False).encode     # default separators: see indexer.db
_to_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
# JSONEncoder.encode builds this C encoder (CPython's) on every call; a bulk load calls it a million
# times, so it is built once here (same arguments as _to_canonical's: no markers, default=str).
_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_canonical_chunks = (None if _make_encoder is None else
                     _make_encoder(None, str, _quote, None, ":", ",", False, False, True))


def _canonical(value: Any) -> str:
    """``_to_canonical(value)``, byte for byte."""
    if _canonical_chunks is None:  # pragma: no cover
        return _to_canonical(value)
    return "".join(_canonical_chunks(value, 0))


def _json_strings(values: Any) -> str:
    """``_to_json(list(values))`` for a list of strings, without the encoder's set-up per call."""
    try:
        return "[" + ", ".join(map(_quote, values)) + "]"
    except TypeError:
        return _to_json(list(values))


def _json_headers(headers: dict[str, str]) -> str:
    """``_to_json(dict(headers))`` for an object of strings ('{}' when empty)."""
    try:
        return "{" + ", ".join([_quote(k) + ": " + _quote(v) for k, v in headers.items()]) + "}"
    except TypeError:
        return _to_json(dict(headers))


def fingerprint(doc: DocumentIn) -> str:
    """Digest of what makes a document different, in a stable JSON form."""
    meta = [getattr(doc, name) for name in _FINGERPRINTED]
    files = [[c.sha256.lower(), c.size, c.cid, c.profile, c.media_type, c.name, c.url]
             for c in doc.contents]
    return hashlib.sha256(_canonical([meta, files]).encode()).hexdigest()[:32]


def in_json(column: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
    """``column IN (values)`` with one bound parameter, whatever the number of values."""
    each = func.json_each(json.dumps(values)).table_valued("value")
    return column.in_(select(each.c.value))


@dataclass
class _Plan:
    """How one batch splits: new rows, changed rows (by id), and each input's result."""

    new: list[tuple[DocumentIn, int, str]] = field(default_factory=list)      # doc, id, fp
    changed: list[tuple[DocumentIn, int, str]] = field(default_factory=list)
    results: list[UpsertResult] = field(default_factory=list)


async def upsert(conn: AsyncConnection, docs: list[DocumentIn], collection_ids: dict[str, int],
                 now: str) -> list[UpsertResult]:
    """Upsert ``docs`` (collections already resolved in ``collection_ids``, texts cleaned by
    ``clean_document``); results in order."""
    results: list[UpsertResult] = []
    for run in _unique_runs(docs):
        results += await _upsert_run(conn, run, collection_ids, now)
    return results


def _unique_runs(docs: list[DocumentIn]) -> Iterator[list[DocumentIn]]:
    """Split so that no (collection, source_id) repeats within a run: later ones see earlier."""
    run: list[DocumentIn] = []
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        key = (doc.collection, doc.source_id)
        if key in seen:
            yield run
            run, seen = [], set()
        run.append(doc)
        seen.add(key)
    if run:
        yield run


async def _upsert_run(conn: AsyncConnection, docs: list[DocumentIn],
                      collection_ids: dict[str, int], now: str) -> list[UpsertResult]:
    plan = await _plan(conn, docs, collection_ids)
    touched = [d for d, _, _ in plan.new + plan.changed]
    sha_ids = await _store_contents(conn, touched, now)
    new_texts = await _missing_texts(conn, touched, sha_ids)
    changed_ids = [i for _, i, _ in plan.changed]
    others = await _linked_documents(conn, list(new_texts), exclude=set(changed_ids))
    await fts.unindex(conn, changed_ids + others)
    if plan.changed:
        await conn.exec_driver_sql(_UPDATE_DOC, [_values(d, None, fp, now) + (i,)
                                                 for d, i, fp in plan.changed])
        await conn.execute(delete(links).where(in_json(links.c.document_id, changed_ids)))
    if plan.new:
        await conn.exec_driver_sql(_INSERT_DOC, [(i,) + _values(d, collection_ids, fp, now)
                                                 for d, i, fp in plan.new])
    link_rows = [(i, pos, sha_ids[c.sha256.lower()], c.name, c.url)
                 for d, i, _ in plan.new + plan.changed for pos, c in enumerate(d.contents)]
    if link_rows:
        await conn.exec_driver_sql(_INSERT_LINK, link_rows)
    if new_texts:
        await conn.exec_driver_sql(_INSERT_TEXT, list(new_texts.items()))
    await fts.index(conn, [i for _, i, _ in plan.new] + changed_ids + others)
    return plan.results


async def _plan(conn: AsyncConnection, docs: list[DocumentIn],
                collection_ids: dict[str, int]) -> _Plan:
    existing = await _existing(conn, docs, collection_ids)
    next_id = int(await conn.scalar(select(func.coalesce(func.max(documents.c.id), 0))) or 0) + 1
    plan = _Plan()
    for doc in docs:
        fp = fingerprint(doc)
        found = existing.get((collection_ids[doc.collection], doc.source_id))
        if found is None:
            plan.new.append((doc, next_id, fp))
            plan.results.append(UpsertResult("stored", next_id))
            next_id += 1
        elif found[1] != fp or found[2]:
            plan.changed.append((doc, found[0], fp))
            plan.results.append(UpsertResult("updated", found[0]))
        else:
            plan.results.append(UpsertResult("unchanged", found[0]))
    return plan


async def _existing(conn: AsyncConnection, docs: list[DocumentIn],
                    collection_ids: dict[str, int]) -> dict[tuple[int, str], tuple[int, str, bool]]:
    """(collection_id, source_id) -> (id, fingerprint, deleted) for the stored ones among docs."""
    by_collection: dict[int, list[str]] = {}
    for doc in docs:
        by_collection.setdefault(collection_ids[doc.collection], []).append(doc.source_id)
    found: dict[tuple[int, str], tuple[int, str, bool]] = {}
    c = documents.c
    for coll_id, source_ids in by_collection.items():
        rows = await conn.execute(
            select(c.id, c.source_id, c.fingerprint, c.deleted)
            .where(c.collection_id == coll_id, in_json(c.source_id, source_ids)))
        for id_, source_id, fp, deleted in rows:
            found[(coll_id, source_id)] = (id_, fp, bool(deleted))
    return found


def _values(doc: DocumentIn, collection_ids: dict[str, int] | None, fp: str,
            now: str) -> tuple[Any, ...]:
    """Column values of ``doc`` in ``_DOC_COLUMNS`` order; without the two key columns when
    ``collection_ids`` is None (for an update)."""
    values = (
        doc.title or "", _json_strings(doc.creators or ()), doc.description or "",
        _json_strings(doc.subjects or ()), doc.language, doc.date, doc.type, doc.source_url,
        doc.landing_url, doc.license, doc.license_url, doc.license_statement, doc.retrieved_at,
        doc.http_status, _json_headers(doc.http_headers) if doc.http_headers else "{}",
        doc.raw_record, 0, fp, now)
    if collection_ids is None:
        return values
    return (collection_ids[doc.collection], doc.source_id) + values


async def _store_contents(conn: AsyncConnection, docs: list[DocumentIn], now: str) -> dict[str, int]:
    """Insert the contents not yet known; sha256 -> content id for every content of ``docs``.

    The known ones are looked up first and the others inserted with the next free ids (the write
    transaction holds the database), so no row is written twice or read back."""
    rows: dict[str, tuple[Any, ...]] = {}
    for doc in docs:
        for c in doc.contents:
            sha = c.sha256.lower()
            if sha not in rows:
                rows[sha] = (sha, c.size, c.media_type, c.cid, c.profile, now)
    if not rows:
        return {}
    found = await conn.execute(select(contents.c.sha256, contents.c.id)
                               .where(in_json(contents.c.sha256, list(rows))))
    ids: dict[str, int] = {sha: id_ for sha, id_ in found}
    new = [row for sha, row in rows.items() if sha not in ids]
    if new:
        next_id = int(await conn.scalar(select(func.coalesce(func.max(contents.c.id), 0))) or 0) + 1
        await conn.exec_driver_sql(_INSERT_CONTENT, [(next_id + i, *row) for i, row in enumerate(new)])
        ids.update((row[0], next_id + i) for i, row in enumerate(new))
    return ids


async def _missing_texts(conn: AsyncConnection, docs: list[DocumentIn],
                         sha_ids: dict[str, int]) -> dict[int, str]:
    """content id -> extracted text, for the contents that bring text and have none stored."""
    offered = {sha_ids[c.sha256.lower()]: c.text for d in docs for c in d.contents if c.text}
    if not offered:
        return {}
    have = await conn.scalars(select(texts.c.content_id)
                              .where(in_json(texts.c.content_id, list(offered))))
    for content_id in have:
        offered.pop(content_id, None)
    return offered


async def _linked_documents(conn: AsyncConnection, content_ids: list[int],
                            exclude: set[int]) -> list[int]:
    """Documents already linked to ``content_ids`` (their indexed text is about to grow)."""
    if not content_ids:
        return []
    ids = await conn.scalars(select(links.c.document_id).distinct()
                             .where(in_json(links.c.content_id, content_ids)))
    return [i for i in ids if i not in exclude]


def _clean_text(value: str) -> str:
    """VALUE, with lone surrogates (which UTF-8 cannot hold; JSON escapes can make them) replaced."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def _clean_value(value: object) -> object:
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, list):
        return [_clean_value(v) for v in value]
    if isinstance(value, dict):
        return {_clean_text(str(k)): _clean_value(v) for k, v in value.items()}
    return value


def clean_document(doc: DocumentIn) -> DocumentIn:
    """DOC as is when every text is valid UTF-8 (the usual case, checked cheaply), else a cleaned
    copy: a lone surrogate in one field becomes U+FFFD, and the rest of the record is kept."""
    if _utf8_ok("".join(filter(None, _texts(doc)))):
        return doc
    cleaned = DocumentIn.from_dict(_clean_value(doc.to_dict()))  # type: ignore[arg-type]
    for new, old in zip(cleaned.contents, doc.contents):
        new.text = _clean_text(old.text) if old.text else old.text
    return cleaned


def _texts(doc: DocumentIn) -> list[str | None]:
    """Every text of DOC (None for an absent one), in one list: joined and encoded at C speed."""
    headers = doc.http_headers
    texts = [doc.collection, doc.source_id, doc.title, doc.description, doc.language, doc.date,
             doc.type, doc.source_url, doc.landing_url, doc.license, doc.license_url,
             doc.license_statement, doc.retrieved_at, doc.raw_record, *doc.creators, *doc.subjects,
             *headers.keys(), *headers.values()]
    for c in doc.contents:
        texts += (c.sha256, c.cid, c.profile, c.media_type, c.name, c.url, c.text)
    return texts


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False
