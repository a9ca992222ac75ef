"""Retracted documents indexed apart (a partial index) instead of an index on ``deleted``.

The full index on ``documents.deleted`` let SQLite answer "live documents, newest first" by
reading every live document through it and sorting them (1.6 s at 600,000 documents) instead of
walking ``ix_documents_updated_at_id``. Live documents are now counted as all documents minus the
retracted ones, which this small partial index holds.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_documents_deleted", table_name="documents")
    op.create_index("ix_documents_retracted", "documents", ["deleted"],
                    sqlite_where=sa.text("deleted = 1"))


def downgrade() -> None:
    op.drop_index("ix_documents_retracted", table_name="documents")
    op.create_index("ix_documents_deleted", "documents", ["deleted"])
