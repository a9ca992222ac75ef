"""The initial index: collections, documents, contents, texts, harvest state and the FTS5 index.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The FTS5 table and its source view are raw SQL (Alembic does not know virtual tables); their text is
frozen here, as migrations must not follow later edits of the live code. The view flattens the
JSON lists of creators and subjects with string functions, not json_each(): FTS5 cannot read a
content view that uses a table-valued function from inside its own statements ('rebuild',
'integrity-check' fail with "SQL logic error").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_FTS_SOURCE = """
CREATE VIEW documents_fts_source AS
SELECT d.id AS id,
       d.title AS title,
       trim(replace(trim(d.creators, '[]'), '", "', '; '), '"') AS creators,
       d.description AS description,
       trim(replace(trim(d.subjects, '[]'), '", "', '; '), '"') AS subjects,
       (SELECT group_concat(t.text, char(10))
          FROM document_contents AS dc JOIN texts AS t ON t.content_id = dc.content_id
         WHERE dc.document_id = d.id) AS text
  FROM documents AS d
 WHERE d.deleted = 0
"""

_FTS = """
CREATE VIRTUAL TABLE documents_fts USING fts5(
    title, creators, description, subjects, text,
    content='documents_fts_source', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
)
"""

_FTS_RANK = "INSERT INTO documents_fts(documents_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 2.0, 3.0, 1.0)')"


def _stamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.Text(), nullable=False),
            sa.Column("updated_at", sa.Text(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("name", name=op.f("uq_collections_name")),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("creators", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        *[sa.Column(name, sa.Text(), nullable=True) for name in (
            "language", "date", "type", "source_url", "landing_url", "license", "license_url",
            "license_statement", "retrieved_at")],
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("http_headers", sa.JSON(), nullable=False),
        sa.Column("raw_record", sa.Text(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("collection_id", "source_id",
                            name=op.f("uq_documents_collection_id_source_id")),
        sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], ondelete="CASCADE",
                                name=op.f("fk_documents_collection_id_collections")),
    )
    op.create_table(
        "contents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.Text(), nullable=True),
        sa.Column("cid", sa.Text(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contents")),
        sa.UniqueConstraint("sha256", name=op.f("uq_contents_sha256")),
    )
    op.create_index(op.f("ix_contents_cid"), "contents", ["cid"])
    op.create_table(
        "document_contents",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("document_id", "position", name=op.f("pk_document_contents")),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE",
                                name=op.f("fk_document_contents_document_id_documents")),
        sa.ForeignKeyConstraint(["content_id"], ["contents.id"], ondelete="RESTRICT",
                                name=op.f("fk_document_contents_content_id_contents")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_document_contents_content_id"), "document_contents", ["content_id"])
    op.create_table(
        "texts",
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("content_id", name=op.f("pk_texts")),
        sa.ForeignKeyConstraint(["content_id"], ["contents.id"], ondelete="CASCADE",
                                name=op.f("fk_texts_content_id_contents")),
    )
    op.create_table(
        "record_status",
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("datestamp", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "source_id", name=op.f("pk_record_status")),
        sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], ondelete="CASCADE",
                                name=op.f("fk_record_status_collection_id_collections")),
    )
    op.create_index(op.f("ix_record_status_collection_id_status"), "record_status",
                    ["collection_id", "status"])
    op.create_table(
        "harvest_state",
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "key", name=op.f("pk_harvest_state")),
        sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], ondelete="CASCADE",
                                name=op.f("fk_harvest_state_collection_id_collections")),
    )
    op.execute(_FTS_SOURCE)
    op.execute(_FTS)
    op.execute(_FTS_RANK)


def downgrade() -> None:
    op.execute("DROP TABLE documents_fts")
    op.execute("DROP VIEW documents_fts_source")
    for table in ("harvest_state", "record_status", "texts", "document_contents", "contents",
                  "documents", "collections"):
        op.drop_table(table)
