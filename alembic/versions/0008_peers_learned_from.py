"""Learned peers remember who announced them, so each announcer's share can be bounded.

A peer that lists 10,000 URLs (or a client that sends notifies with 10,000 origins) must not fill
the peers table: ``peers.learned_from`` names the peer URL (or the notifying address prefix) a
learned peer came from, and the node keeps at most a few learned peers per announcer.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("peers", sa.Column("learned_from", sa.Text(), nullable=True))
    op.create_index("ix_peers_learned_from", "peers", ["learned_from"])


def downgrade() -> None:
    op.drop_index("ix_peers_learned_from", table_name="peers")
    with op.batch_alter_table("peers") as batch:
        batch.drop_column("learned_from")
