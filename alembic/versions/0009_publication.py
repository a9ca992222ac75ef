"""Publication: private documents, pins and the blocks the gateway must not serve.

``documents.private`` marks a local document whose licence the open gate refuses (it is neither
signed into the feed nor shown by any public face), with a partial index of the few that are;
``pins`` holds the roots the operator pinned; ``unpublished_blocks`` the blocks of DAGs held here
that nothing published references (``mirror.publication`` fills both as documents change, and
records the contents nothing published lists at node start). Documents stored without any licence
are private from here on.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (a batch copy of the table would break the full-text view over it)
    op.add_column("documents", sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.text("0")))
    op.create_index("ix_documents_private", "documents", ["private"], sqlite_where=sa.text("private = 1"))
    # What an older openmirror stored without any licence (``add`` without --license) is private;
    # a peer's document never is (peers merge only what the open gate allows).
    op.execute("UPDATE documents SET private = 1 WHERE license IS NULL AND license_url IS NULL "
               "AND license_statement IS NULL")
    op.create_table(
        "pins",
        sa.Column("cid", sa.Text(), nullable=False),
        sa.Column("multihash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("cid", name=op.f("pk_pins")))
    op.create_index(op.f("ix_pins_multihash"), "pins", ["multihash"])
    op.create_table(
        "unpublished_blocks",
        sa.Column("multihash", sa.LargeBinary(), nullable=False),
        sa.Column("root", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("multihash", "root", name=op.f("pk_unpublished_blocks")),
        sqlite_with_rowid=False)
    op.create_index(op.f("ix_unpublished_blocks_root"), "unpublished_blocks", ["root"])


def downgrade() -> None:
    op.drop_index(op.f("ix_unpublished_blocks_root"), table_name="unpublished_blocks")
    op.drop_table("unpublished_blocks")
    op.drop_index(op.f("ix_pins_multihash"), table_name="pins")
    op.drop_table("pins")
    op.drop_index("ix_documents_private", table_name="documents")
    op.drop_column("documents", "private")
