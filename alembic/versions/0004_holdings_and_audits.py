"""Diffusion: the latest holdings announcement per node, the contents each claims, audit results.

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _blob(name: str) -> sa.Column:
    return sa.Column(name, sa.LargeBinary(), nullable=False)


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "holdings",
        _text("author"), _int("seq"), _text("ts"), _text("seen_at"), _text("url"), _int("budget"),
        _int("used"), _int("count"), _blob("set_hash"), _blob("set_data"), _blob("payload"),
        _blob("signature"),
        sa.PrimaryKeyConstraint("author", name=op.f("pk_holdings")),
    )
    op.create_index(op.f("ix_holdings_set_hash"), "holdings", ["set_hash"])
    op.create_table(
        "holding_prefixes",
        _text("prefix"), _text("author"),
        sa.PrimaryKeyConstraint("prefix", "author", name=op.f("pk_holding_prefixes")),
        sa.ForeignKeyConstraint(["author"], ["holdings.author"], ondelete="CASCADE",
                                name=op.f("fk_holding_prefixes_author_holdings")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_holding_prefixes_author"), "holding_prefixes", ["author"])
    op.create_table(
        "audits",
        _text("author"), _text("sha256"), sa.Column("ok", sa.Boolean(), nullable=False),
        _text("checked_at"), _text("passed_at", True), _text("failed_at", True), _int("failures"),
        _text("detail", True),
        sa.PrimaryKeyConstraint("author", "sha256", name=op.f("pk_audits")),
    )


def downgrade() -> None:
    op.drop_table("audits")
    op.drop_index(op.f("ix_holding_prefixes_author"), table_name="holding_prefixes")
    op.drop_table("holding_prefixes")
    op.drop_index(op.f("ix_holdings_set_hash"), table_name="holdings")
    op.drop_table("holdings")
