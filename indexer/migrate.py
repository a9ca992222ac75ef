"""Running the Alembic migrations of the index, programmatically (there is no alembic.ini).

Before anything is written, ``check`` reads the file read-only: a file that is not a SQLite
database (or is corrupt), a SQLite database that is not an index, or an index whose revision this
code does not know (written by a newer openmirror) is refused and left exactly as it was.

Alembic (and Mako, which it loads) takes a third of a second to import, on every command; an index
already at ``HEAD`` is recognised by one read-only query and Alembic is imported only to migrate.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import indexer
from indexer.errors import DatabaseDamaged, SchemaTooNew
from indexer.sqlite import BUSY_TIMEOUT_MS, raise_sqlite_error

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

SCRIPT_LOCATION = Path(indexer.__file__).resolve().parent.parent / "alembic"
# The newest migration in SCRIPT_LOCATION/versions (a test checks it against Alembic's own head).
HEAD = "0010"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_IGNORED_PREFIX = "documents_fts"   # the FTS5 table, its shadow tables and source view
# Alembic keeps the running migration in module globals (``alembic.context``, ``alembic.op``): two
# threads migrating two files at once would run each other's DDL. One migration at a time.
_MIGRATING = threading.Lock()


@dataclass
class Revision:
    current: str | None              # None for a new, empty database
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic filter: the raw-SQL full-text objects are not part of the models."""
    return not (type_ == "table" and name is not None and name.startswith(_IGNORED_PREFIX))


def alembic_config() -> "Config":
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.set_main_option("path_separator", "os")
    return cfg


def head() -> str:
    """The newest revision this code knows."""
    return HEAD


def script_heads() -> list[str]:
    """The heads of the migration scripts, as Alembic reads them (``HEAD`` must be the one)."""
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def read_revision(path: Path) -> str | None:
    """The stored revision, read without writing anything; raises DatabaseDamaged."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with path.open("rb") as f:
        if f.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            raise DatabaseDamaged(f"{path} is not a SQLite database",
                                  hint="move it away; openmirror creates a new index in its place")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "alembic_version" not in tables:
            if tables:
                raise DatabaseDamaged(f"{path} is a SQLite database but not an openmirror index",
                                      hint="use another home, or move the file away")
            return None
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError as exc:
        raise_sqlite_error(exc, path)
        raise
    finally:
        conn.close()
    return rows[0][0] if len(rows) == 1 else None


def check(path: Path) -> Revision:
    """The database's revision next to the code's head; refuses what we must not touch."""
    current, newest = read_revision(path), head()
    if current is not None and current != newest and current not in _known_revisions():
        raise SchemaTooNew(f"the index {path} has schema revision {current}, newer than this "
                           f"openmirror knows (up to {newest})",
                           hint="upgrade openmirror (pip install -U openmirror) to open this home")
    return Revision(current=current, head=newest)


def upgrade(path: Path) -> Revision:
    """Bring the database to the head revision (creating it when missing); returns the old one."""
    before = check(path)
    if before.up_to_date:
        return before
    from sqlalchemy.exc import DBAPIError        # SQLAlchemy loads to migrate, not to check

    with _MIGRATING:
        try:
            return _migrate(path, before)
        except (sqlite3.Error, DBAPIError) as exc:
            raise_sqlite_error(exc, path)
            raise


def _migrate(path: Path, before: Revision) -> Revision:
    from sqlalchemy import create_engine, event

    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None   # one explicit transaction around all the DDL
        dbapi_conn.execute("PRAGMA journal_mode = WAL")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    from alembic import command

    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
    return before
