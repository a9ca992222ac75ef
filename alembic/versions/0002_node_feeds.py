"""The node's tables: feeds and their signed entries, fork evidence, document versions, held
contents, peers and blocked authors.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _blob(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.LargeBinary(), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _int(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "feeds",
        _int("id"), _text("author"), _int("seq"), _blob("head", True), _text("ts", True),
        _int("fork_seq", True), _text("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("author", name=op.f("uq_feeds_author")),
    )
    op.create_table(
        "feed_entries",
        _int("id"), _int("feed_id"), _int("seq"), _blob("hash"), _blob("prev", True), _text("kind"),
        _text("ts"), _int("target", True), _blob("payload"), _blob("signature"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_entries")),
        sa.UniqueConstraint("feed_id", "seq", name=op.f("uq_feed_entries_feed_id_seq")),
        sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"], ondelete="CASCADE",
                                name=op.f("fk_feed_entries_feed_id_feeds")),
    )
    op.create_index(op.f("ix_feed_entries_target"), "feed_entries", ["target"])
    op.create_table(
        "feed_forks",
        _int("id"), _text("author"), _int("seq"), _blob("payload_a"), _blob("signature_a"),
        _blob("payload_b"), _blob("signature_b"), _text("found_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_forks")),
        sa.UniqueConstraint("author", "seq", name=op.f("uq_feed_forks_author_seq")),
    )
    op.create_table(
        "doc_versions",
        _text("collection"), _text("source_id"), _text("ts"), _text("author"), _int("seq"),
        _blob("hash"), _text("kind"),
        sa.PrimaryKeyConstraint("collection", "source_id", name=op.f("pk_doc_versions")),
    )
    op.create_table(
        "held_contents",
        _int("content_id"), _text("checked_at"),
        sa.PrimaryKeyConstraint("content_id", name=op.f("pk_held_contents")),
        sa.ForeignKeyConstraint(["content_id"], ["contents.id"], ondelete="CASCADE",
                                name=op.f("fk_held_contents_content_id_contents")),
    )
    op.create_table(
        "peers",
        _text("url"), _text("node_id", True), _text("source"), _text("added_at"),
        _text("last_contact", True), _text("last_error", True), _int("failures"),
        _text("backoff_until", True), _int("lag", True),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_peers")),
    )
    # live documents are counted for every status request: a small index instead of a table scan
    op.create_index("ix_documents_deleted", "documents", ["deleted"])
    op.create_table(
        "blocked_authors",
        _text("author"), _text("blocked_at"),
        sa.PrimaryKeyConstraint("author", name=op.f("pk_blocked_authors")),
    )


def downgrade() -> None:
    op.drop_index("ix_documents_deleted", table_name="documents")
    for table in ("blocked_authors", "peers", "held_contents", "doc_versions", "feed_forks",
                  "feed_entries", "feeds"):
        op.drop_table(table)
