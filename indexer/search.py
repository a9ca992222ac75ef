"""Full-text search: turning a user's query into a safe FTS5 query, ranking, snippets, filters.

The user's text never reaches SQL (everything is a bound parameter) and never reaches FTS5 syntax:
it is split into words, "quoted phrases" and ``prefix*`` terms, and each term becomes one
double-quoted FTS5 string (``"term"`` or ``"term"*``), all of which must match. Operators (AND, OR,
NOT, NEAR), parentheses, column filters and stray quotes are therefore plain text. Ranking is BM25
with the column weights of ``indexer.fts.WEIGHTS`` (the title counts most).

A search runs in two steps so that snippets are computed for the results only: the ids and scores
of the best ``limit`` matches first, then the snippets and metadata of those.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (Column, ColumnElement, Connection, Integer, MetaData, Select, Table, Text,
                        and_, bindparam, func, literal, or_, select)
from sqlalchemy.exc import OperationalError

from indexer.errors import QueryError
from indexer.fts import FTS_TABLE
from indexer.models import table_of, Collection, Content, Document, DocumentContent
from indexer.records import Hit, SearchQuery

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
MAX_LIMIT = 1000
MAX_OFFSET = 100_000           # results passed over: ranking them all still costs the index
MIN_PREFIX = 3                  # characters before a '*': shorter prefixes match too many words
SNIPPET_TOKENS = 16
SEARCH_TIMEOUT = 10.0           # seconds one search may run before it is stopped
_PROGRESS_STEPS = 10_000        # SQLite VM steps between two looks at the clock

fts_table = Table(FTS_TABLE, MetaData(), Column("rowid", Integer), Column("rank"),
                  Column(FTS_TABLE, Text))
documents = table_of(Document)
collections = table_of(Collection)
contents = table_of(Content)
links = table_of(DocumentContent)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TERM = re.compile(r'"([^"]*)(?:"|$)|([^\s"]+)')
_SEARCHABLE = re.compile(r"[^\W_]")
_LICENSE = re.compile(r"^[A-Za-z0-9.+:-]*\*?$")
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_LANG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class SearchPlan:
    """A checked query: the FTS5 expression (None lists without ranking) and SQL filters."""

    match: str | None
    filters: tuple[ColumnElement[bool], ...]
    limit: int
    marks: tuple[str, ...]
    offset: int = 0
    include_private: bool = False


def fts_query(text: str) -> str | None:
    """The FTS5 expression for a user's query; None when it is blank. Raises QueryError."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query too long ({len(text)} characters; at most {MAX_QUERY_CHARS})")
    text = _CONTROL.sub(" ", text)
    if not text.strip():
        return None
    terms = []
    for m in _TERM.finditer(text):
        phrase, word = m.group(1), m.group(2)
        prefix = word is not None and word.endswith("*")
        body = (phrase if phrase is not None else word).rstrip("*" if prefix else "")
        if prefix and len(_SEARCHABLE.findall(body)) < MIN_PREFIX:
            raise QueryError(f"prefix {word!r} is too short: use at least {MIN_PREFIX} letters "
                             "before the *")
        if _SEARCHABLE.search(body):
            terms.append('"' + body.replace('"', '""') + '"' + ("*" if prefix else ""))
    if not terms:
        raise QueryError(f"nothing to search for in {text.strip()[:60]!r}: use words, "
                         '"quoted phrases" or prefix* terms')
    if len(terms) > MAX_TERMS:
        raise QueryError(f"too many terms in the query ({len(terms)}; at most {MAX_TERMS})")
    return " ".join(terms)


def plan(query: SearchQuery) -> SearchPlan:
    """Check a query and its filters; raises QueryError with a one-line message."""
    if not isinstance(query.limit, int) or not 1 <= query.limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}, not {query.limit}")
    if not isinstance(query.offset, int) or not 0 <= query.offset <= MAX_OFFSET:
        raise QueryError(f"offset must be between 0 and {MAX_OFFSET}, not {query.offset}")
    filters = [f for f in (_license(query.license), _collection(query.collection),
                           _type(query.type), _date(query.after, after=True),
                           _date(query.before, after=False), _lang(query.lang)) if f is not None]
    return SearchPlan(fts_query(query.text or ""), tuple(filters), query.limit, tuple(query.marks), query.offset,
                      bool(query.include_private))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _license(value: str | None) -> ColumnElement[bool] | None:
    if value is None:
        return None
    value = value.strip()
    if not value or not _LICENSE.match(value):
        raise QueryError(f"not an SPDX licence id: {value!r} (e.g. CC-BY-4.0, or CC-BY* for a family)")
    if value.endswith("*"):
        return documents.c.license.like(_like_escape(value[:-1]) + "%", escape="\\")
    return documents.c.license.like(_like_escape(value), escape="\\")   # LIKE ignores ASCII case


def _collection(value: str | None) -> ColumnElement[bool] | None:
    if value is None:
        return None
    named = select(collections.c.id).where(collections.c.name == value).scalar_subquery()
    return documents.c.collection_id == named


def _type(value: str | None) -> ColumnElement[bool] | None:
    return None if value is None else func.lower(documents.c.type) == value.strip().lower()


def _lang(value: str | None) -> ColumnElement[bool] | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not _LANG.match(value):
        raise QueryError(f"not a language tag: {value!r} (e.g. en, pt-BR)")
    lang = func.lower(documents.c.language)
    return or_(lang == value, lang.like(_like_escape(value) + "-%", escape="\\"))


def _date(value: str | None, *, after: bool) -> ColumnElement[bool] | None:
    """``after`` keeps dates on or after VALUE, else before it, at the precision both have."""
    if value is None:
        return None
    value = value.strip()
    if not _DATE.match(value):
        raise QueryError(f"not a date: {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    n = func.min(func.length(documents.c.date), len(value))
    mine, theirs = func.substr(documents.c.date, 1, n), func.substr(literal(value), 1, n)
    return mine >= theirs if after else mine < theirs


def _json_values(name: str) -> Select[Any]:
    """The values of a JSON list passed as the bound parameter ``name``."""
    return select(func.json_each(bindparam(name)).table_valued("value").c.value)


_MATCH = fts_table.c[FTS_TABLE].op("MATCH")
_private = documents.alias("private_documents")
_PRIVATE_IDS = select(_private.c.id).where(_private.c.private == 1)   # the partial index's own term
_SNIPPETS = (select(fts_table.c.rowid,
                    func.snippet(fts_table.c[FTS_TABLE], -1, bindparam("start"), bindparam("end"),
                                 "…", SNIPPET_TOKENS))
             .where(_MATCH(bindparam("match")), fts_table.c.rowid.in_(_json_values("ids"))))
_HIT_ROWS = (select(documents.c.id, documents.c.title, documents.c.creators, documents.c.license,
                    documents.c.license_url, documents.c.source_url, documents.c.date, documents.c.private,
                    collections.c.name.label("collection"), contents.c.cid, contents.c.sha256,
                    contents.c.media_type, contents.c.size)
             .join_from(documents, collections, collections.c.id == documents.c.collection_id)
             .outerjoin(links, and_(links.c.document_id == documents.c.id, links.c.position == 0))
             .outerjoin(contents, contents.c.id == links.c.content_id)
             .where(documents.c.id.in_(_json_values("ids"))))


def run(conn: Connection, plan: SearchPlan, timeout: float = SEARCH_TIMEOUT) -> list[Hit]:
    """The hits of a checked query, best first (synchronous: one worker-thread call).

    A search still running after ``timeout`` seconds is stopped with a QueryError.
    """
    sqlite = conn.connection.driver_connection
    assert sqlite is not None
    deadline = time.monotonic() + timeout
    sqlite.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
    try:
        return _run(conn, plan)
    except OperationalError as exc:
        if "interrupted" in str(exc.orig).lower():
            raise QueryError(f"the search took more than {timeout:g} s and was stopped: "
                             "use more specific words or filters") from exc
        if "fts5" in str(exc.orig).lower():
            raise QueryError(f"cannot search for that: {exc.orig}") from exc
        raise
    finally:
        sqlite.set_progress_handler(None, 0)


def _run(conn: Connection, plan: SearchPlan) -> list[Hit]:
    ranked = conn.execute(_ranked(plan)).all()
    if not ranked:
        return []
    ids = json.dumps([row[0] for row in ranked])
    snippets: dict[int, str] = {}
    if plan.match:
        snippets = dict(conn.execute(_SNIPPETS, {"match": plan.match, "ids": ids,
                                                 "start": plan.marks[0], "end": plan.marks[1]}).all())
    rows = {row.id: row for row in conn.execute(_HIT_ROWS, {"ids": ids})}
    return [_hit(rows[i], -score if plan.match else 0.0, snippets.get(i) or "")
            for i, score in ranked if i in rows]


def _ranked(plan: SearchPlan) -> Select[Any]:
    """(document id, rank) of the best ``plan.limit`` matches after ``plan.offset``."""
    if plan.match is None:           # newest updates first (indexes on updated_at, id serve it)
        query = select(documents.c.id, literal(0.0)).where(documents.c.deleted.is_(False))
        order: tuple[Any, ...] = (documents.c.updated_at.desc(), documents.c.id.desc())
        doc_id = documents.c.id
    else:
        query = select(fts_table.c.rowid, fts_table.c.rank).where(_MATCH(plan.match))
        order = (fts_table.c.rank,)
        doc_id = fts_table.c.rowid
        if plan.filters:
            query = query.join(documents, documents.c.id == fts_table.c.rowid)
    if plan.filters:
        query = query.where(and_(*plan.filters))
    if not plan.include_private:     # the few private documents, from their partial index
        query = query.where(doc_id.not_in(_PRIVATE_IDS))
    return query.order_by(*order).limit(plan.limit).offset(plan.offset)


def _hit(row: Any, score: float, snippet: str) -> Hit:
    return Hit(cid=row.cid, sha256=row.sha256, title=row.title, creators=list(row.creators or []),
               license=row.license, license_url=row.license_url, source_url=row.source_url,
               collection=row.collection, media_type=row.media_type, size=row.size, date=row.date,
               score=float(f"{score:.6g}"), snippet=snippet, private=bool(row.private))
