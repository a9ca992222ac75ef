"""An index counting live documents per collection and licence without reading the rows
(``openmirror stats``, ``Index.stats``).

Revision ID: 0005
Revises: 0004
Create Date: 2025-01-05
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_collection_id_license_deleted", "documents",
                    ["collection_id", "license", "deleted"])


def downgrade() -> None:
    op.drop_index("ix_documents_collection_id_license_deleted", table_name="documents")
