"""The node's own feed: every local change to the index becomes one signed entry, in the same
transaction as the change.

    LocalFeed(identity).attach(index)       # done by mirror.services.open_home for every home
    await index.upsert_document(doc)        # the document and its signed "put" entry commit together

A *local* change is one without an ``origin`` (a harvest, ``openmirror add``, a correction);
changes applied from other nodes' feeds carry their author as origin and are never re-signed.
``stored``/``updated`` become a ``put`` entry carrying the whole ``DocumentIn.to_dict()`` in its
public form (no local path: ``mirror.publication.public_form``), ``retracted`` a ``retract``
entry. A private document (its licence fails the open gate, ``mirror.publication``) is signed
nothing: a change that makes a document this node had published private is a ``retract``, and the
retraction of a document never published is not signed either (its key stays private).

The feed head is read inside the write transaction (SQLite ``BEGIN IMMEDIATE``), so two processes
writing one home (``serve`` beside ``mirror``) append one after the other and never fork the feed.

Each local entry also becomes the document's winning version (protocol §5). If another author's
entry already won with a later timestamp (clock skew), the local entry's ``ts`` is raised just
past it, so the local change, which was made after seeing that version, wins everywhere.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from indexer import feeds
from indexer.feeds import EntryRow, Version
from indexer.index import Index, Transaction
from indexer.records import Change, DocumentIn
from mirror.errors import UsageError
from mirror.feed.bodies import PUT, RETRACT, put_body, retract_body
from mirror.feed.entry import MAX_PAYLOAD, Entry, encode_payload, make_entry
from mirror.feed.identity import Identity
from mirror.publication import is_public, public_form
from indexer.clock import entry_time, parse_entry_time



def ts_after(ts: str) -> str:
    """The entry timestamp one microsecond after TS."""
    moment = parse_entry_time(ts)
    return entry_time(moment + timedelta(microseconds=1))


def entry_row(entry: Entry) -> EntryRow:
    """The stored form of a verified entry."""
    target = entry.target
    return EntryRow(seq=entry.seq, hash=entry.hash, prev=entry.prev, kind=entry.kind, ts=entry.ts,
                    target=None if target is None else feeds.target_of(*target),
                    payload=entry.payload, signature=entry.signature)


def version_of(entry: Entry) -> Version:
    """The document version an accepted put or retract entry stands for."""
    collection, source_id = entry.target  # type: ignore[misc]
    return Version(collection, source_id, entry.ts, entry.author, entry.seq, entry.hash, entry.kind)


def put_entry_body(document: DocumentIn) -> dict[str, Any]:
    """The put body of DOCUMENT; its raw source record is left out if it would pass the limit."""
    body = put_body(document)
    if body.get("raw_record") and len(encode_payload(body)) > MAX_PAYLOAD - 4096:
        body["raw_record"] = None
    return body


class LocalFeed:
    """Appends one signed entry per local change, inside the change's own transaction."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    def attach(self, index: Index) -> None:
        index.add_precommit_hook(self.hook)

    async def hook(self, tx: Transaction, changes: list[Change]) -> None:
        local = [c for c in changes if c.origin is None]
        if not local:
            return
        conn = await tx.connection()
        me = self.identity.node_id
        known = await feeds.get_versions(conn, [_key(c.document) for c in local])
        head = await feeds.get_head(conn, me)
        seq, prev, last_ts = head.seq, head.head, head.ts or ""
        rows: list[EntryRow] = []
        signed: set[tuple[str, str]] = set()
        for change in local:
            key = _key(change.document)
            winner = known.get(key)
            if (published := _kind_and_body(change, winner, me)) is None:
                continue
            kind, body = published
            ts = max(entry_time(), last_ts)
            if winner is not None and winner.order_key >= (ts, me, seq + 1, b""):
                ts = ts_after(winner.ts)
            seq += 1
            entry = make_entry(self.identity, seq, prev, kind, body, ts=ts)
            rows.append(entry_row(entry))
            known[key] = version_of(entry)
            prev, last_ts = entry.hash, entry.ts
            signed.add(key)
        if not rows:
            return
        await feeds.add_entries(conn, me, rows, entry_time())
        await feeds.put_versions(conn, [known[key] for key in signed])


def _key(document: DocumentIn) -> tuple[str, str]:
    return (document.collection, document.source_id)


def _kind_and_body(change: Change, winner: Version | None, me: str) -> tuple[str, dict[str, Any]] | None:
    """The entry a local change becomes, or None when it is not published (module docstring)."""
    doc = change.document
    if change.kind not in ("stored", "updated", "retracted"):
        raise UsageError(f"unknown change kind {change.kind!r}")
    if change.kind != "retracted" and is_public(doc):
        return PUT, put_entry_body(public_form(doc))
    withdraws = winner is not None and (change.kind == "retracted" or (winner.kind == PUT and winner.author == me))
    return (RETRACT, retract_body(doc.collection, doc.source_id)) if withdraws else None
