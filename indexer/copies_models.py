"""SQLAlchemy models of what a node knows about copies: who holds what, and how audits went.

    holdings ──< holding_prefixes     the latest verified announcement per node, and the contents
                                      it claims, one row per 8-byte sha256 prefix (16 hex chars)
    audits                            the latest audit result per (holder, content)

``holdings`` keeps the announcement exactly as received (``payload``, ``signature``, the held set
``set_data``) so a node can relay it; the other columns are parsed from it for queries.
``seen_at`` is when the holder was last known alive: the announcement's signed time, never later
than the moment it was accepted, raised by every passed audit. ``holding_prefixes.prefix`` is
compared with ``substr(contents.sha256, 1, 16)``, so "who holds this content" is one index lookup.
No crypto here: ``mirror.node.copies.holdings`` verifies, the index only stores.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from indexer.models import Base


class Holding(Base):
    """The newest verified announcement of one node (its author)."""

    __tablename__ = "holdings"

    author: Mapped[str] = mapped_column(primary_key=True)
    seq: Mapped[int]
    ts: Mapped[str]                      # the signed time of the announcement
    seen_at: Mapped[str]                 # last known alive (see the module docstring)
    url: Mapped[str]
    budget: Mapped[int]
    used: Mapped[int]
    count: Mapped[int]
    set_hash: Mapped[bytes] = mapped_column(LargeBinary, index=True)
    set_data: Mapped[bytes] = mapped_column(LargeBinary)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class HoldingPrefix(Base):
    """One content a node claims to hold, by the first 16 hex chars of its sha256."""

    __tablename__ = "holding_prefixes"
    __table_args__ = (Index(None, "author"), {"sqlite_with_rowid": False})

    prefix: Mapped[str] = mapped_column(primary_key=True)
    author: Mapped[str] = mapped_column(ForeignKey("holdings.author", ondelete="CASCADE"),
                                        primary_key=True)


class Audit(Base):
    """The latest audit of one holder for one content; ``ok`` is the latest outcome."""

    __tablename__ = "audits"

    author: Mapped[str] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(primary_key=True)
    ok: Mapped[bool]
    checked_at: Mapped[str]
    passed_at: Mapped[str | None]
    failed_at: Mapped[str | None]
    failures: Mapped[int]                # failed audits in a row
    detail: Mapped[str | None]
