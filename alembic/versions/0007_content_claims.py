"""Content identity verified, not claimed: claims, CID checks and verified bindings.

``contents.cid`` was the first CID any entry named for a sha256, never checked. From here on it
is a *binding*, verified (``verified_at``) once the CID's bytes were reassembled and hashed, and
every entry's claim is kept apart (``content_claims``) with what the bytes of each CID were found
to be (``cid_checks``). Existing bindings become unverified claims of the authors whose documents
use them, and held marks are cleared: a node re-verifies what it holds when it starts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BACKFILL = """
INSERT OR IGNORE INTO content_claims (sha256, cid, size, profile, author, status, first_seen)
SELECT c.sha256, c.cid, c.size, c.profile, COALESCE(v.author, ''), 'claimed', c.created_at
FROM contents c
JOIN document_contents dc ON dc.content_id = c.id
JOIN documents d ON d.id = dc.document_id
JOIN collections co ON co.id = d.collection_id
LEFT JOIN doc_versions v ON v.collection = co.name AND v.source_id = d.source_id
ORDER BY c.id
"""


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.add_column("contents", _text("verified_at", True))
    op.create_table(
        "content_claims",
        sa.Column("id", sa.Integer(), nullable=False), _text("sha256"), _text("cid"),
        sa.Column("size", sa.Integer(), nullable=False), _text("profile"), _text("author"),
        _text("status"), _text("first_seen"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_claims")),
        sa.UniqueConstraint("sha256", "cid", "size", "author",
                            name=op.f("uq_content_claims_sha256_cid_size_author")),
    )
    op.create_index(op.f("ix_content_claims_cid"), "content_claims", ["cid"])
    op.create_index(op.f("ix_content_claims_author"), "content_claims", ["author"])
    op.create_index("ix_content_claims_disputed", "content_claims", ["author"],
                    sqlite_where=sa.text("status IN ('mismatch', 'conflict')"))
    op.create_table(
        "cid_checks",
        _text("cid"), _text("sha256", True), sa.Column("size", sa.Integer(), nullable=True),
        _text("checked_at"), _text("detail", True),
        sa.PrimaryKeyConstraint("cid", name=op.f("pk_cid_checks")),
    )
    op.execute(_BACKFILL)
    op.execute("DELETE FROM held_contents")


def downgrade() -> None:
    op.drop_table("cid_checks")
    op.drop_index("ix_content_claims_disputed", table_name="content_claims")
    op.drop_index(op.f("ix_content_claims_author"), table_name="content_claims")
    op.drop_index(op.f("ix_content_claims_cid"), table_name="content_claims")
    op.drop_table("content_claims")
    with op.batch_alter_table("contents") as batch:
        batch.drop_column("verified_at")
