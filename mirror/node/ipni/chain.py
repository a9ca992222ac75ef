"""Where the advertisement chain lives: one SQLite file of the publisher's own, ``DIR/ipni.sqlite``.

    blocks    (cid, data)                    every advertisement and entry chunk, exact bytes
    head      (cid, signed, count)           the newest advertisement and its SignedHead bytes
    contents  (key, context, multihashes)    what is advertised now: a content's key (given by
                                             the caller), the ContextID it went out under and the
                                             multihashes of its blocks (concatenated)

The chain is the node's public, append-only record; it is not part of the index (removing the
folder starts a new chain, which indexers accept: the old one then expires). Every change is one
transaction (blocks, head and contents together), so a crash leaves the chain as it was. Calls
are blocking: run them in a worker thread. Each call opens its own connection (WAL), so reads
(indexers fetching blocks) never wait for a publication being written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from mirror.errors import ConfigError
from mirror.node.ipni.advert import Block
from mirror.store.cid import CID, decode_varint

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (cid BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS head (id INTEGER PRIMARY KEY CHECK (id = 1), cid BLOB NOT NULL,
                                 signed BLOB NOT NULL, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS contents (key TEXT PRIMARY KEY, context BLOB NOT NULL,
                                     multihashes BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contents_by_context ON contents (context);
"""


@dataclass(frozen=True)
class ChainHead:
    cid: CID
    signed: bytes       # the SignedHead served at /ipni/v1/ad/head
    count: int          # advertisements in the chain


@dataclass(frozen=True)
class ChainChange:
    """One publication: new blocks, the new head, contents dropped and contents (re)advertised."""

    blocks: Sequence[Block]
    head: ChainHead
    dropped: Sequence[str]
    advertised: Sequence[tuple[str, bytes, bytes]]      # (key, context, multihashes)


class Chain:
    """The chain in ``folder``; creates the file on first use."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / "ipni.sqlite"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise ConfigError(f"{self.path} was written by a newer openmirror")
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the IPNI chain {self.path}: {exc}") from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            with conn:
                yield conn

    def head(self) -> ChainHead | None:
        with self._connect() as conn:
            row = conn.execute("SELECT cid, signed, count FROM head WHERE id = 1").fetchone()
        return None if row is None else ChainHead(CID.from_bytes(row[0]), row[1], row[2])

    def block(self, cid: CID) -> bytes | None:
        with self._connect() as conn:
            row = conn.execute("SELECT data FROM blocks WHERE cid = ?", (bytes(cid),)).fetchone()
        return None if row is None else bytes(row[0])

    def contexts_of(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The ContextID each of KEYS is advertised under (keys not advertised are left out)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, bytes] = {}
        with self._connect() as conn:
            for start in range(0, len(wanted), 500):
                part = wanted[start:start + 500]
                marks = ",".join("?" * len(part))
                for key, context in conn.execute(
                        f"SELECT key, context FROM contents WHERE key IN ({marks})", part):
                    found[key] = bytes(context)
        return found

    def keys(self) -> set[str]:
        """The key of every content advertised now."""
        with self._connect() as conn:
            return {key for (key,) in conn.execute("SELECT key FROM contents")}

    def keys_after(self, after: str, limit: int) -> list[str]:
        """Up to LIMIT advertised keys greater than AFTER, in order (a page of ``keys``)."""
        with self._connect() as conn:
            return [key for (key,) in conn.execute(
                "SELECT key FROM contents WHERE key > ? ORDER BY key LIMIT ?", (after, limit))]

    def members(self, context: bytes) -> list[tuple[str, bytes]]:
        """The (key, multihashes) advertised under CONTEXT."""
        with self._connect() as conn:
            rows = conn.execute("SELECT key, multihashes FROM contents WHERE context = ?",
                                (context,)).fetchall()
        return [(key, bytes(data)) for key, data in rows]

    def apply(self, change: ChainChange, expected_head: CID | None) -> None:
        """Commit CHANGE if the head is still EXPECTED_HEAD (else ``RuntimeError``: a concurrent
        publication moved it; nothing is written)."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT cid FROM head WHERE id = 1").fetchone()
            if (None if row is None else CID.from_bytes(row[0])) != expected_head:
                raise RuntimeError("the IPNI chain's head moved during a publication")
            conn.executemany("INSERT OR IGNORE INTO blocks (cid, data) VALUES (?, ?)",
                             [(bytes(b.cid), b.data) for b in change.blocks])
            conn.executemany("DELETE FROM contents WHERE key = ?", [(k,) for k in change.dropped])
            conn.executemany("INSERT OR REPLACE INTO contents (key, context, multihashes) "
                             "VALUES (?, ?, ?)", change.advertised)
            conn.execute("INSERT OR REPLACE INTO head (id, cid, signed, count) VALUES (1, ?, ?, ?)",
                         (bytes(change.head.cid), change.head.signed, change.head.count))


def split_multihashes(data: bytes) -> list[bytes]:
    """The multihashes of a concatenation of them (each is self-delimiting); ``ValueError`` if cut."""
    out, pos = [], 0
    while pos < len(data):
        _code, after_code = decode_varint(data, pos)
        length, start = decode_varint(data, after_code)
        if start + length > len(data):
            raise ValueError("a multihash runs past the end")
        out.append(data[pos:start + length])
        pos = start + length
    return out
