"""SQLAlchemy models of what a node keeps beside the index: feeds, peers and trust policy.

    feeds ──< feed_entries          one row per author (its head = the sync cursor) and its entries
    feed_forks                      fork evidence: two signed entries at one (author, seq)
    doc_versions                    per (collection, source_id): the entry that won the merge
    held_contents >── contents      contents whose whole DAG is in the local blockstore
    peers                           nodes this one syncs with (configured or learned)
    blocked_authors                 authors whose entries are neither merged nor relayed

Entries are stored as the exact bytes received (``payload``, ``signature``); the other columns
are parsed from them for lookups. ``target`` is a 63-bit hash of the (collection, source_id) a put
or retract is about (NULL for other kinds), so the entries about one document are found without
parsing every payload; callers always compare the exact key after reading. The node also adds a
partial index of retracted documents (status counts live documents as all minus those). No crypto here:
``mirror.node`` signs and verifies, the index only stores.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, LargeBinary, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from indexer.models import Base, Document

# Live documents are counted on every status request as all minus the retracted ones, which this
# small partial index holds (migration 0006; a full index on ``deleted`` misled the planner).
RETRACTED = text("documents.deleted = 1")      # the partial index's own term: use it to count
Index("ix_documents_retracted", Document.__table__.c.deleted, sqlite_where=text("deleted = 1"))


class Feed(Base):
    """One author's feed as this node holds it: the head is the sync cursor (seq 0: none yet)."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    author: Mapped[str] = mapped_column(unique=True)
    seq: Mapped[int]
    head: Mapped[bytes | None] = mapped_column(LargeBinary)
    ts: Mapped[str | None]
    fork_seq: Mapped[int | None]          # lowest seq with fork evidence; entries >= it are not merged
    updated_at: Mapped[str]


class FeedEntry(Base):
    """One signed entry of a feed, exactly as received."""

    __tablename__ = "feed_entries"
    __table_args__ = (UniqueConstraint("feed_id", "seq"), Index(None, "target"))

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    seq: Mapped[int]
    hash: Mapped[bytes] = mapped_column(LargeBinary)
    prev: Mapped[bytes | None] = mapped_column(LargeBinary)
    kind: Mapped[str]
    ts: Mapped[str]
    target: Mapped[int | None]
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class FeedFork(Base):
    """Evidence that an author signed two different entries at one seq."""

    __tablename__ = "feed_forks"
    __table_args__ = (UniqueConstraint("author", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author: Mapped[str]
    seq: Mapped[int]
    payload_a: Mapped[bytes] = mapped_column(LargeBinary)
    signature_a: Mapped[bytes] = mapped_column(LargeBinary)
    payload_b: Mapped[bytes] = mapped_column(LargeBinary)
    signature_b: Mapped[bytes] = mapped_column(LargeBinary)
    found_at: Mapped[str]


class DocVersion(Base):
    """The entry that currently wins the merge for one document key (the conflict rule)."""

    __tablename__ = "doc_versions"

    collection: Mapped[str] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(primary_key=True)
    ts: Mapped[str]
    author: Mapped[str]
    seq: Mapped[int]
    hash: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[str]


class HeldContent(Base):
    """A content whose every block is in the local blockstore; ``bytes`` is the size of its DAG's
    distinct blocks as measured on disk (NULL until measured: never a declared size)."""

    __tablename__ = "held_contents"

    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), primary_key=True)
    checked_at: Mapped[str]
    bytes: Mapped[int | None]


class Peer(Base):
    """A node this one syncs with; ``source`` is "configured" or "learned"."""

    __tablename__ = "peers"

    url: Mapped[str] = mapped_column(primary_key=True)
    node_id: Mapped[str | None]
    source: Mapped[str]
    added_at: Mapped[str]
    last_contact: Mapped[str | None]
    last_error: Mapped[str | None]
    failures: Mapped[int]
    backoff_until: Mapped[str | None]
    lag: Mapped[int | None]               # entries the peer holds that we lack, at last contact
    learned_from: Mapped[str | None] = mapped_column(index=True)   # who announced a learned peer


class BlockedAuthor(Base):
    """An author whose entries this node neither merges nor serves."""

    __tablename__ = "blocked_authors"

    author: Mapped[str] = mapped_column(primary_key=True)
    blocked_at: Mapped[str]
