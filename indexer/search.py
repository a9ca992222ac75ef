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
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from indexer.errors import QueryError
from indexer.fts import FTS_TABLE
from indexer.records import Hit, SearchQuery

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
MAX_LIMIT = 1000
MAX_OFFSET = 100_000           # results passed over: ranking them all still costs the index
MIN_PREFIX = 3                  # characters before a '*': shorter prefixes match too many words
SNIPPET_TOKENS = 16
SEARCH_TIMEOUT = 10.0           # seconds one search may run before it is stopped
_PROGRESS_STEPS = 10_000        # SQLite VM steps between two looks at the clock

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TERM = re.compile(r'"([^"]*)(?:"|$)|([^\s"]+)')
_SEARCHABLE = re.compile(r"[^\W_]")
_LICENSE = re.compile(r"^[A-Za-z0-9.+:-]*\*?$")
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_LANG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class Filter:
    """One condition on the ``documents`` row (SQL text with ``?`` marks) and its parameters."""

    sql: str
    params: tuple[Any, ...] = ()


@dataclass(frozen=True)
class SearchPlan:
    """A checked query: the FTS5 expression (None lists without ranking) and SQL filters."""

    match: str | None
    filters: tuple[Filter, ...]
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


def _license(value: str | None) -> Filter | None:
    if value is None:
        return None
    value = value.strip()
    if not value or not _LICENSE.match(value):
        raise QueryError(f"not an SPDX licence id: {value!r} (e.g. CC-BY-4.0, or CC-BY* for a family)")
    pattern = _like_escape(value[:-1]) + "%" if value.endswith("*") else _like_escape(value)
    return Filter("documents.license LIKE ? ESCAPE '\\'", (pattern,))   # LIKE ignores ASCII case


def _collection(value: str | None) -> Filter | None:
    if value is None:
        return None
    return Filter("documents.collection_id = (SELECT id FROM collections WHERE name = ?)", (value,))


def _type(value: str | None) -> Filter | None:
    return None if value is None else Filter("lower(documents.type) = ?", (value.strip().lower(),))


def _lang(value: str | None) -> Filter | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not _LANG.match(value):
        raise QueryError(f"not a language tag: {value!r} (e.g. en, pt-BR)")
    return Filter("(lower(documents.language) = ? OR lower(documents.language) LIKE ? ESCAPE '\\')",
                  (value, _like_escape(value) + "-%"))


def _date(value: str | None, *, after: bool) -> Filter | None:
    """``after`` keeps dates on or after VALUE, else before it, at the precision both have."""
    if value is None:
        return None
    value = value.strip()
    if not _DATE.match(value):
        raise QueryError(f"not a date: {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    n = "min(length(documents.date), ?)"
    return Filter(f"substr(documents.date, 1, {n}) {'>=' if after else '<'} substr(?, 1, {n})",
                  (len(value), value, len(value)))


_IDS = "(SELECT value FROM json_each(?))"
_PRIVATE_IDS = "(SELECT private_documents.id FROM documents AS private_documents WHERE private_documents.private = 1)"
_SNIPPETS = (f"SELECT rowid, snippet({FTS_TABLE}, -1, ?, ?, '…', {SNIPPET_TOKENS}) FROM {FTS_TABLE} "
             f"WHERE {FTS_TABLE} MATCH ? AND rowid IN {_IDS}")
_HIT_ROWS = ("SELECT documents.id, documents.title, documents.creators, documents.license, "
             "documents.license_url, documents.source_url, documents.date, documents.private, "
              "collections.name AS collection, "
             "contents.cid, contents.sha256, contents.media_type, contents.size "
             "FROM documents JOIN collections ON collections.id = documents.collection_id "
             "LEFT OUTER JOIN document_contents ON document_contents.document_id = documents.id "
             "AND document_contents.position = 0 "
             "LEFT OUTER JOIN contents ON contents.id = document_contents.content_id "
             f"WHERE documents.id IN {_IDS}")


def run(sqlite: sqlite3.Connection, plan: SearchPlan, timeout: float = SEARCH_TIMEOUT) -> list[Hit]:
    """The hits of a checked query, best first, read on SQLITE (a bare connection, in the caller's
    snapshot; synchronous: one worker-thread call).

    A search still running after ``timeout`` seconds is stopped with a QueryError.
    """
    deadline = time.monotonic() + timeout
    sqlite.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
    try:
        return _run(sqlite, plan)
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc).lower():
            raise QueryError(f"the search took more than {timeout:g} s and was stopped: "
                             "use more specific words or filters") from exc
        if "fts5" in str(exc).lower():
            raise QueryError(f"cannot search for that: {exc}") from exc
        raise
    finally:
        sqlite.set_progress_handler(None, 0)


def _run(sqlite: sqlite3.Connection, plan: SearchPlan) -> list[Hit]:
    ranked = sqlite.execute(*ranked_sql(plan)).fetchall()
    if not ranked:
        return []
    ids = json.dumps([row[0] for row in ranked])
    snippets: dict[int, str] = {}
    if plan.match:
        snippets = dict(sqlite.execute(_SNIPPETS, (*plan.marks[:2], plan.match, ids)).fetchall())
    cursor = sqlite.cursor()
    cursor.row_factory = sqlite3.Row
    rows = {row["id"]: row for row in cursor.execute(_HIT_ROWS, (ids,))}
    return [_hit(rows[i], -score if plan.match else 0.0, snippets.get(i) or "")
            for i, score in ranked if i in rows]


def ranked_sql(plan: SearchPlan) -> tuple[str, tuple[Any, ...]]:
    """The statement and parameters giving (document id, rank) of the best ``plan.limit`` matches
    after ``plan.offset``."""
    params: list[Any] = []
    if plan.match is None:           # newest updates first (indexes on updated_at, id serve it)
        sql, order = "SELECT documents.id, 0.0 FROM documents WHERE documents.deleted IS 0", \
            "documents.updated_at DESC, documents.id DESC"
    else:
        sql, order = f"SELECT {FTS_TABLE}.rowid, {FTS_TABLE}.rank FROM {FTS_TABLE}", f"{FTS_TABLE}.rank"
        if plan.filters:
            sql += f" JOIN documents ON documents.id = {FTS_TABLE}.rowid"
        sql += f" WHERE {FTS_TABLE} MATCH ?"
        params.append(plan.match)
    for condition in plan.filters:
        sql += f" AND {condition.sql}"
        params.extend(condition.params)
    if not plan.include_private:     # the few private documents, from their partial index
        doc_id = "documents.id" if plan.match is None else f"{FTS_TABLE}.rowid"
        sql += f" AND {doc_id} NOT IN {_PRIVATE_IDS}"
    return f"{sql} ORDER BY {order} LIMIT ? OFFSET ?", (*params, plan.limit, plan.offset)


def _hit(row: sqlite3.Row, score: float, snippet: str) -> Hit:
    return Hit(cid=row["cid"], sha256=row["sha256"], title=row["title"],
               creators=list(json.loads(row["creators"]) if row["creators"] else []),
               license=row["license"], license_url=row["license_url"], source_url=row["source_url"],
               collection=row["collection"], media_type=row["media_type"], size=row["size"],
               date=row["date"], score=float(f"{score:.6g}"), snippet=snippet, private=bool(row["private"]))
