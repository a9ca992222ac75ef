"""Held contents keep the bytes their DAG takes on disk, measured once.

A replication round and ``status`` sum ``held_contents.bytes`` instead of walking every held
content's DAG in the blockstore each time (1,000,000 held contents were 1,000,000 walks and as many
objects per round). The figure is measured from the blocks on disk (never a declared size) when
first needed and kept while the content stays held (a CID names exactly one DAG); unmarking a
content deletes its row and with it the figure.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("held_contents", sa.Column("bytes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("held_contents") as batch:
        batch.drop_column("bytes")
