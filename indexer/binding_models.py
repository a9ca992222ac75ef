"""SQLAlchemy models of content identity: what entries claim a content's CID is, and what the
bytes of a CID were found to be.

    contents ──< content_claims      one row per (sha256, cid, size, author): what an author's
                                     merged entries (or this node's own writes) say
    cid_checks                       per CID: the sha256 and size of its reassembled bytes

``status`` of a claim is derived from the two (``indexer.bindings`` keeps it up to date):
``verified`` (its CID's bytes are that sha256 and size), ``mismatch`` (they are not, or the CID
is no file), ``conflict`` (the content is bound, verified, to another CID; this one is
unchecked) or ``claimed`` (nothing known yet). No crypto here: ``mirror.binding`` hashes.
"""

from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from indexer.models import Base
from indexer.tallies import CLAIMED, CONFLICT, MISMATCH, VERIFIED  # noqa: F401  (the statuses, named once)


class ContentClaim(Base):
    """One author's claim that the bytes with ``sha256`` are ``size`` bytes under ``cid``."""

    __tablename__ = "content_claims"
    __table_args__ = (UniqueConstraint("sha256", "cid", "size", "author"), Index(None, "cid"),
                      Index(None, "author"),
                      Index("ix_content_claims_disputed", "author",
                            sqlite_where=text("status IN ('mismatch', 'conflict')")))

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str]
    cid: Mapped[str]
    size: Mapped[int]
    profile: Mapped[str]
    author: Mapped[str]
    status: Mapped[str]
    first_seen: Mapped[str]


class CidCheck(Base):
    """What the bytes of ``cid`` are: their sha256 and size (both None when it is no file)."""

    __tablename__ = "cid_checks"

    cid: Mapped[str] = mapped_column(primary_key=True)
    sha256: Mapped[str | None]
    size: Mapped[int | None]
    checked_at: Mapped[str]
    detail: Mapped[str | None]
