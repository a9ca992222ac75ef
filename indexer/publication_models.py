"""SQLAlchemy models of what a home keeps to itself or serves on purpose.

    pins                    content roots the operator pinned (``openmirror pin add``): kept by
                            ``gc`` and served by the gateway whatever documents say
    unpublished_blocks      every block (multihash) of a DAG held here that no published document
                            references and no pin names, with the root it was found under: the
                            gateway refuses these (``mirror.publication``)

A document's own flag, ``documents.private``, says whether it is published (``indexer.models``).
"""

from __future__ import annotations

from sqlalchemy import Index, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from indexer.models import Base


class LocalPin(Base):
    """A content root the operator chose to keep and serve."""

    __tablename__ = "pins"

    cid: Mapped[str] = mapped_column(primary_key=True)      # as given, canonical text of the CID
    multihash: Mapped[bytes] = mapped_column(LargeBinary, index=True)
    created_at: Mapped[str]


class UnpublishedBlock(Base):
    """One block of an unpublished DAG (``root``: the CID text of that DAG's root)."""

    __tablename__ = "unpublished_blocks"
    __table_args__ = (Index(None, "root"), {"sqlite_with_rowid": False})

    multihash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    root: Mapped[str] = mapped_column(primary_key=True)
