"""The figures ``status`` reports, as SQL aggregates on a ``Query`` (``indexer.read``): the same
statements run on the bare reader of ``openmirror status`` (no SQLAlchemy loaded: the command
starts in a fraction of a second) and on a node's index (``Index.read_query``, for
``GET /api/v1/status`` and the replication planner's sums).

    counts(query)                                   # documents, held, feeds, entries, peers, …
    copy_tallies(query, me=me, cutoff=cutoff, target=3)

Copies are counted as ``indexer.copies`` defines them (its module docstring): claims per sha256
prefix in one scan, less the claims of holders that are not live, with unvetted holders' claims
counting up to ``target - 1`` together, less the claims of live holders whose audit of that content
failed; only *countable* contents (used by a live document, not inline, not every claim of them
proved false). ``indexer.copies.content_states`` counts the same from objects: a test holds both
to the same figures.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, NamedTuple

from indexer.read import RETRACTED_IDS, Query

PREFIX_CHARS = 16            # characters of a sha256 a holdings announcement names (its prefix)
INLINE_PREFIX = "bafkq"      # a CIDv1 (base32) of the raw codec with an identity multihash
CLAIMED, VERIFIED, MISMATCH, CONFLICT = "claimed", "verified", "mismatch", "conflict"
CONFIGURED, LEARNED = "configured", "learned"      # how a peer was added (``peers.source``)
CLAIM_BYTES = 192            # bytes one claimed content takes in the index (its row and index: ~184 measured)
HOLDING_BYTES = f"(length(h.payload) + length(h.set_data) + h.count * {CLAIM_BYTES})"   # one announcement
COPIES_SHOWN = 8             # the distribution groups K and more copies under "K+" past this

_LIVE_DOC = "d.deleted IS 0"
# Authors whose latest audit of some content they still claim failed (``indexer.copies``).
DISTRUSTED = ("SELECT a.author FROM audits a JOIN holding_prefixes p ON p.author = a.author "
               f"AND p.prefix = substr(a.sha256, 1, {PREFIX_CHARS}) WHERE a.ok IS 0")
_LIVE_HOLDER = f"h.seen_at >= ? AND h.author != ? AND h.author NOT IN ({DISTRUSTED})"
_OWN = ("EXISTS (SELECT 1 FROM document_contents dc JOIN documents d ON d.id = dc.document_id "
        "JOIN collections co ON co.id = d.collection_id JOIN doc_versions v "
        "ON v.collection = co.name AND v.source_id = d.source_id "
        "WHERE v.author = ? AND dc.content_id = c.id)")
# Countable: used by a live document, not inline, and not every claim of it proved false (also
# the planner's ``indexer.copies.countable``). Each test is a set built once, not lookups per
# content: the contents of live documents (retracted documents are few and indexed, so no document
# row is read) and the refuted contents, those whose every claim proved false (disputed claims
# are few and indexed too). At 1,000,000 contents the lookups per content took 6.5 s (a document
# row and claim rows read for each).
USED_IDS = f"SELECT dc.content_id FROM document_contents dc WHERE dc.document_id NOT IN ({RETRACTED_IDS})"
REFUTED_SHAS = (f"SELECT m.sha256 FROM content_claims m WHERE m.status IN ('{MISMATCH}', '{CONFLICT}') "
                f"AND m.status = '{MISMATCH}' AND NOT EXISTS (SELECT 1 FROM content_claims k "
                f"WHERE k.sha256 = m.sha256 AND k.status IN ('{CLAIMED}', '{CONFLICT}'))")
_COUNTABLE = (f"c.id IN ({USED_IDS}) AND substr(c.cid, 1, {len(INLINE_PREFIX)}) != '{INLINE_PREFIX}' "
              f"AND (c.verified_at IS NOT NULL OR c.sha256 NOT IN ({REFUTED_SHAS}))")
_IN_LIST = "IN (SELECT value FROM json_each(?))"


def _one(query: Query, sql: str, params: Iterable[Any] = ()) -> Any:
    return query(sql, list(params))[0][0]


def counts(query: Query) -> dict[str, int]:
    """``documents`` (live), ``held`` (live documents having files, every one held here),
    ``feeds`` (feeds holding entries), ``entries``, ``peers``, ``blocked`` (authors),
    ``conflicts`` (claims kept as evidence) and ``conflict_authors`` (who made them)."""
    feeds, entries = query("SELECT count(*), coalesce(sum(seq), 0) FROM feeds WHERE seq > 0", [])[0]
    conflicts, conflict_authors = dispute_totals(query)
    return {"documents": count_documents(query), "held": count_held_documents(query),
            "feeds": feeds, "entries": entries, "peers": _one(query, "SELECT count(*) FROM peers"),
            "blocked": _one(query, "SELECT count(*) FROM blocked_authors"),
            "conflicts": conflicts, "conflict_authors": conflict_authors}


def count_documents(query: Query) -> int:
    """Live (not retracted) documents: all, less the retracted ones (a small partial index holds
    them: ``documents.deleted = 1`` is that index's own term)."""
    return int(_one(query, "SELECT count(*) FROM documents")
               - _one(query, f"SELECT count(*) FROM ({RETRACTED_IDS})"))


def count_held_documents(query: Query) -> int:
    """Live documents that have files and hold every one of them here. Work follows the
    documents with at least one held file: candidates come from ``held_contents``."""
    return int(_one(query, (
        "SELECT count(*) FROM documents d WHERE d.deleted IS 0 AND d.id IN "
        "(SELECT dc.document_id FROM held_contents h JOIN document_contents dc ON dc.content_id = h.content_id) "
        "AND NOT EXISTS (SELECT 1 FROM document_contents o LEFT JOIN held_contents ho "
        "ON ho.content_id = o.content_id WHERE o.document_id = d.id AND ho.content_id IS NULL)")))


def dispute_totals(query: Query) -> tuple[int, int]:
    """(claims that are evidence, authors who made them). The statuses are literals, so that the
    partial index of disputed claims answers (bound values read every claim: 0.12 s at 1,000,000)."""
    row = query("SELECT count(*), count(DISTINCT author) FROM content_claims "
                f"WHERE status IN ('{MISMATCH}', '{CONFLICT}')", [])[0]
    return int(row[0]), int(row[1])


def held_bytes(query: Query, *, me: str) -> tuple[int, int]:
    """(measured bytes of others' contents held here, bytes of own contents held here); own
    contents count their measured size, else their declared one (they are never budgeted)."""
    used, own = query(f"SELECT coalesce(sum(CASE WHEN {_OWN} THEN 0 ELSE h.bytes END), 0), "
                      f"coalesce(sum(CASE WHEN {_OWN} THEN coalesce(h.bytes, c.size) ELSE 0 END), 0) "
                      "FROM held_contents h JOIN contents c ON c.id = h.content_id", [me, me])[0]
    return int(used), int(own)


def unmeasured_held(query: Query, *, me: str, after: int, limit: int) -> list[tuple[int, str]]:
    """Up to LIMIT (content id, cid) of others' contents held here whose size is not measured
    yet, by id after AFTER. The scan follows what is held (CROSS JOIN: SQLite keeps that order),
    not every content of the index: at 1,000,000 contents and nothing held, 2.1 s the other way."""
    rows = query("SELECT c.id, c.cid FROM held_contents h CROSS JOIN contents c ON c.id = h.content_id "
                 f"WHERE h.bytes IS NULL AND h.content_id > ? AND NOT {_OWN} ORDER BY h.content_id LIMIT ?",
                 [after, me, limit])
    return [(int(i), str(cid)) for i, cid in rows]


def live_capacity(query: Query, *, cutoff: str, me: str = "") -> list[tuple[int, int]]:
    """(storage budget, budget used) as announced by every live, trusted node other than ME."""
    return [(int(b), int(u)) for b, u in
            query(f"SELECT h.budget, h.used FROM holdings h WHERE {_LIVE_HOLDER}", [cutoff, me])]


def bytes_by_author(query: Query, *, excluding: Iterable[str] = ()) -> dict[str, int]:
    """author -> bytes of its stored entries as received (payload and signature), for every feed
    whose author is not in EXCLUDING (the measure of ``mirror.node.sync.quota``)."""
    rows = query("SELECT f.author, coalesce(sum(length(e.payload) + length(e.signature)), 0) "
                 "FROM feeds f LEFT JOIN feed_entries e ON e.feed_id = f.id "
                 f"WHERE f.author NOT {_IN_LIST} GROUP BY f.id", [json.dumps(sorted(set(excluding)))])
    return {str(author): int(size) for author, size in rows}


def configured_authors(query: Query) -> set[str]:
    """The node ids of the peers the operator added (``configured``)."""
    return {str(n) for (n,) in query("SELECT node_id FROM peers WHERE source = ? AND node_id IS NOT NULL",
                                     [CONFIGURED])}


def holdings_bytes(query: Query) -> int:
    """Bytes the stored holdings announcements take, as ``node.holdings_quota`` counts them."""
    return int(_one(query, f"SELECT coalesce(sum({HOLDING_BYTES}), 0) FROM holdings h"))


# -- copies --------------------------------------------------------------------------------------

class LiveCopies(NamedTuple):
    """SQL counting the live copies of each row ``c`` of ``contents``: a ``WITH`` clause, the joins
    to put after ``FROM contents c``, the expression, and the parameters of the first two."""

    with_sql: str
    joins: str
    expression: str
    params: list[Any]


def live_copies(query: Query, *, me: str, cutoff: str, target: int) -> LiveCopies:
    """How to count live copies elsewhere (see the module docstring) for ME at CUTOFF, with
    unvetted holders counting up to TARGET - 1 together."""
    live = {a for (a,) in query(f"SELECT h.author FROM holdings h WHERE {_LIVE_HOLDER}", [cutoff, me])}
    others = [a for (a,) in query("SELECT author FROM holdings", []) if a not in live]
    vetted = {a for (a,) in query("SELECT DISTINCT author FROM audits WHERE ok IS 1", [])}
    fresh = sorted(a for a in live if a not in vetted)
    prefix = f"substr(c.sha256, 1, {PREFIX_CHARS})"
    ctes = ["claims AS (SELECT prefix, count(*) AS n FROM holding_prefixes GROUP BY prefix)"]
    joins = [f"LEFT JOIN claims ON claims.prefix = {prefix}"]
    params: list[Any] = []
    live_sql = "coalesce(claims.n, 0)"
    if others:
        ctes.append(f"dead AS (SELECT prefix, count(*) AS n FROM holding_prefixes WHERE author {_IN_LIST} "
                    "GROUP BY prefix)")
        params.append(json.dumps(sorted(others)))
        joins.append(f"LEFT JOIN dead ON dead.prefix = {prefix}")
        live_sql = f"({live_sql} - coalesce(dead.n, 0))"
    if fresh:
        ctes.append(f"unvetted AS (SELECT prefix, count(*) AS n FROM holding_prefixes WHERE author {_IN_LIST} "
                    "GROUP BY prefix)")
        params.append(json.dumps(fresh))
        joins.append(f"LEFT JOIN unvetted ON unvetted.prefix = {prefix}")
        live_sql = f"min({live_sql}, max({live_sql} - coalesce(unvetted.n, 0), {int(target) - 1}))"
    ctes.append("lost AS (SELECT a.sha256, count(*) AS n FROM audits a "
                "JOIN holdings h ON h.author = a.author JOIN holding_prefixes p ON p.author = a.author "
                f"AND p.prefix = substr(a.sha256, 1, {PREFIX_CHARS}) WHERE a.ok IS 0 AND {_LIVE_HOLDER} "
                "GROUP BY a.sha256)")
    params += [cutoff, me]
    joins.append("LEFT JOIN lost ON lost.sha256 = c.sha256")
    live_sql = f"({live_sql} - coalesce(lost.n, 0))"
    return LiveCopies("WITH " + ", ".join(ctes), " ".join(joins), live_sql, params)


def copy_tallies(query: Query, *, me: str, cutoff: str, target: int) -> dict[str, Any]:
    """The copies figures of ``status``: ``contents``, ``under_replicated``, ``copies_missing``,
    ``copies_missing_bytes``, ``takeable`` (bytes of contents lacking copies that are not held
    here) and per collection {contents, held, under_replicated, copies}.

    One statement: each countable content's copies are computed once (the ``per`` CTE, used
    twice, is materialized), then summed over all contents (the row without a collection) and
    per collection and number of copies (the other rows)."""
    live = live_copies(query, me=me, cutoff=cutoff, target=target)
    top = max(target, COPIES_SHOWN)
    rows = query(
        f"{live.with_sql}, per AS MATERIALIZED (SELECT c.id AS id, {live.expression} "
        "+ (hc.content_id IS NOT NULL) AS total, (hc.content_id IS NOT NULL) AS held, "
        f"coalesce(hc.bytes, c.size) AS size FROM contents c {live.joins} "
        f"LEFT JOIN held_contents hc ON hc.content_id = c.id WHERE {_COUNTABLE}), "
        "pairs AS (SELECT DISTINCT dc.content_id, d.collection_id FROM document_contents dc "
        f"JOIN documents d ON d.id = dc.document_id WHERE {_LIVE_DOC}) "
        "SELECT NULL, NULL, count(*), coalesce(sum(total < ?), 0), coalesce(sum(max(0, ? - total)), 0), "
        "coalesce(sum(max(0, ? - total) * size), 0), coalesce(sum(CASE WHEN total < ? AND held = 0 "
        "THEN size ELSE 0 END), 0) FROM per "
        "UNION ALL SELECT co.name, CASE WHEN per.total >= ? THEN ? ELSE CAST(per.total AS TEXT) END "
        "AS bucket, count(*), sum(per.held), sum(per.total < ?), NULL, NULL FROM per "
        "JOIN pairs ON pairs.content_id = per.id JOIN collections co ON co.id = pairs.collection_id "
        "GROUP BY co.name, bucket", live.params + [target] * 4 + [top, f"{top}+", target])
    _, _, count, under, missing, missing_bytes, takeable = next(r for r in rows if r[0] is None)
    found: dict[str, dict[str, Any]] = {}
    for name, key, n, held_n, under_n, _, _ in (r for r in rows if r[0] is not None):
        entry = found.setdefault(name, {"contents": 0, "held": 0, "under_replicated": 0, "copies": {}})
        entry["contents"] += n
        entry["held"] += int(held_n or 0)
        entry["under_replicated"] += int(under_n or 0)
        entry["copies"][str(key)] = n
    for entry in found.values():
        entry["copies"] = dict(sorted(entry["copies"].items(), key=lambda kv: int(kv[0].rstrip("+"))))
    return {"contents": int(count), "under_replicated": int(under), "copies_missing": int(missing),
            "copies_missing_bytes": int(missing_bytes), "takeable": int(takeable),
            "collections": dict(sorted(found.items()))}
