"""Indexes listing documents by update time, for OAI-PMH harvesting (``indexer.listing``).

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_updated_at_id", "documents", ["updated_at", "id"])
    op.create_index("ix_documents_collection_id_updated_at_id", "documents",
                    ["collection_id", "updated_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_documents_collection_id_updated_at_id", table_name="documents")
    op.drop_index("ix_documents_updated_at_id", table_name="documents")
