"""Alembic environment for the index, driven programmatically by ``indexer.migrate``.

There is no alembic.ini: ``indexer.migrate`` builds the Config, and either hands over an open
connection in ``config.attributes["connection"]`` or sets ``sqlalchemy.url``. Migrations run in
batch mode (SQLite cannot ALTER most things) and ignore the FTS5 table, its shadow tables and view,
which the migrations manage with raw SQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from indexer.migrate import include_name
from indexer.models import Base


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True, include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _configure(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("openmirror migrations run online only")
run_migrations_online()
