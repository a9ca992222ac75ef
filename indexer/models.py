"""SQLAlchemy 2 typed models of the index.

    collections ─┬─< documents >──< document_contents >── contents ──< texts
                 ├─< record_status      (per-record harvest status, for resumable crawls)
                 └─< harvest_state      (key/value: resumption token, last datestamp, ...)

The full-text index (``documents_fts``, FTS5) is not a model: it is an external-content FTS5 table
over the view ``documents_fts_source`` and is created by raw SQL in the migrations
(``indexer.fts`` holds its statements). Timestamps are ISO 8601 UTC strings, as in the records.
Constraint names follow ``NAMING_CONVENTION`` so Alembic batch migrations can address them.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import JSON, ForeignKey, Index, MetaData, Table, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        str: Text,
    }


def table_of(model: type[Base]) -> Table:
    """The Core table of MODEL, typed as one (statements in this package are written in Core)."""
    return cast(Table, model.__table__)


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    source_url: Mapped[str | None]
    kind: Mapped[str | None]
    created_at: Mapped[str]
    updated_at: Mapped[str]


class Document(Base):
    """One document's metadata, licence and provenance; ``deleted`` marks a retraction."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("collection_id", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    source_id: Mapped[str]
    title: Mapped[str]
    creators: Mapped[list[str]]
    description: Mapped[str]
    subjects: Mapped[list[str]]
    language: Mapped[str | None]
    date: Mapped[str | None]
    type: Mapped[str | None]
    source_url: Mapped[str | None]
    landing_url: Mapped[str | None]
    license: Mapped[str | None]
    license_url: Mapped[str | None]
    license_statement: Mapped[str | None]
    retrieved_at: Mapped[str | None]
    http_status: Mapped[int | None]
    http_headers: Mapped[dict[str, Any]]
    raw_record: Mapped[str | None]
    deleted: Mapped[bool] = mapped_column(default=False)
    fingerprint: Mapped[str]          # digest of the metadata and content set ("unchanged" test)
    updated_at: Mapped[str]
    # not published: a local document whose licence the open gate refuses (mirror.publication);
    # kept out of the feed and of every public face, found by local search
    private: Mapped[bool] = mapped_column(default=False, server_default=text("0"))


class Content(Base):
    """The exact bytes of one file, keyed on the sha256 of the whole stream.

    ``cid``, ``size`` and ``profile`` are this node's *binding* of those bytes: verified when
    ``verified_at`` is set (the CID's bytes were reassembled and hashed, or imported here), else
    the best claim so far (``indexer.bindings``)."""

    __tablename__ = "contents"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(unique=True)
    size: Mapped[int]
    media_type: Mapped[str | None]
    cid: Mapped[str] = mapped_column(index=True)
    profile: Mapped[str]
    created_at: Mapped[str]
    verified_at: Mapped[str | None]   # when ``cid``'s bytes were found to be these (None: a claim)


class DocumentContent(Base):
    """A document's file at ``position`` (0 is the primary file)."""

    __tablename__ = "document_contents"
    __table_args__ = {"sqlite_with_rowid": False}

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("contents.id", ondelete="RESTRICT"),
                                            index=True)
    name: Mapped[str | None]
    url: Mapped[str | None]


class ContentText(Base):
    """Text extracted from a content for search (bounded in size by the extractor)."""

    __tablename__ = "texts"

    content_id: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str]


class RecordStatus(Base):
    """Where one source record stands in a harvest (e.g. "in_flight", "done", "skipped")."""

    __tablename__ = "record_status"
    __table_args__ = (Index(None, "collection_id", "status"),)

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    source_id: Mapped[str] = mapped_column(primary_key=True)
    status: Mapped[str]
    datestamp: Mapped[str | None]
    detail: Mapped[str | None]
    updated_at: Mapped[str]


class HarvestState(Base):
    """Per-collection harvest state as key/value (resumption token, last datestamp, frontier)."""

    __tablename__ = "harvest_state"

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[str]
    updated_at: Mapped[str]


# Listing documents by update time (OAI-PMH from/until and paging; indexer.listing, migration 0003).
Index("ix_documents_updated_at_id", Document.updated_at, Document.id)
Index("ix_documents_collection_id_updated_at_id", Document.collection_id, Document.updated_at,
      Document.id)
# Counting live documents per collection and licence from the index alone (Index.stats, 0005).
Index("ix_documents_collection_id_license_deleted", Document.collection_id, Document.license,
      Document.deleted)
# The few private documents, found at once (public faces leave them out: migration 0009).
Index("ix_documents_private", Document.private, sqlite_where=text("private = 1"))
from indexer import node_models as _node_models  # noqa: E402,F401  (the node's tables)
from indexer import copies_models as _copies_models  # noqa: E402,F401  (holdings and audits)
from indexer import binding_models as _binding_models  # noqa: E402,F401  (claims and checks)
from indexer import publication_models as _publication_models  # noqa: E402,F401  (pins, unpublished blocks)
