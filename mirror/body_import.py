"""A large fetched body imported into the store as it arrives: the harvest's ``BodyWriter``.

A body larger than ``ingest.SPOOL_BYTES`` is handed, batch by batch as the fetch reads it, to a
``BodyImport`` in worker threads: its bytes go into a ``StreamImport`` (``mirror.store.unixfs``)
whose blocks are staged in the document's ``BlockBatch``, so nothing is written to a staging file
and read back, and importing overlaps the download instead of following it. What text extraction
will read is kept on the way (``mirror.extract.reads``, judged from the first batch): nothing, the
head (at most ``max_chars * 4`` bytes), or, when a parser takes the whole file (HTML, PDF), a copy
of the body in a staging file, which the caller removes.

A fetch that fails (and may be retried) unstages the blocks its writer staged; so does a caller
that drops the answer (``Imported.discard``). The rest of the document's batch is untouched.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mirror.extract import WHOLE, extract_text, reads
from mirror.store.blockstore import BlockBatch
from mirror.store.cid import CID
from mirror.store.profiles import Profile
from mirror.store.unixfs import ImportResult, StreamImport

_SNIFF = 4096           # bytes of the body's start that judge what extraction reads


@dataclass
class Imported:
    """A body imported as it arrived: the import result, and what its text is extracted from."""

    result: ImportResult
    media_type: str | None
    name: str                                 # the URL's last segment (types an untyped body)
    head: bytes | None                        # the bytes extraction reads, when only the head
    path: Path | None                         # a staging copy, when it parses the whole file
    batch: BlockBatch
    added: list[CID]                          # blocks staged for this body alone

    def text(self) -> str | None:
        """The searchable text, as ``extract_text`` of the whole body gives it. Blocking."""
        if self.path is not None:
            return extract_text(self.path, self.media_type, name=self.name)
        if self.head is not None:
            return extract_text(self.head, self.media_type, name=self.name)
        return None

    def discard(self) -> None:
        """Unstage the blocks of this body and remove its staging copy (the answer is dropped).
        Blocking."""
        _drop(self.batch, self.added, self.path)


class BodyImport:
    """The ``BodyWriter`` of one fetched body (see the module docstring); its own block sink.
    An ``OSError`` (a full disk) is left to the ``FileSink`` to report."""

    def __init__(self, batch: BlockBatch, profile: Profile, staging_dir: Path,
                 media_type: str | None, name: str) -> None:
        self._batch = batch
        self._import = StreamImport(profile, self)
        self._staging_dir = staging_dir
        self._media_type, self._name = media_type, name
        self._added: list[CID] = []
        self._keep: int | None = None          # what extraction reads (None: not judged yet)
        self._head: list[bytes] = []
        self._kept = 0
        self._path: Path | None = None
        self._copy: BinaryIO | None = None

    # --- the importer's block sink: remember what this body staged --------------------------

    def put(self, cid: CID, data: bytes) -> None:
        self.put_hashed(cid, data)

    def put_hashed(self, cid: CID, data: bytes | memoryview) -> bool:
        added = self._batch.put_hashed(cid, data)
        if added:
            self._added.append(cid)
        return added

    # --- BodyWriter --------------------------------------------------------------------------

    def write(self, pieces: list[bytes]) -> None:
        if self._keep is None:
            self._judge(pieces)
        for piece in pieces:
            self._import.write(piece)
            self._keep_text(piece)

    def close(self) -> Imported:
        if self._keep is None:
            self._judge([])
        result = self._import.finish()
        if self._copy is not None:
            copy, self._copy = self._copy, None
            copy.close()
        head = b"".join(self._head) if self._keep and self._path is None else None
        return Imported(result, self._media_type, self._name, head, self._path, self._batch,
                        self._added)

    def abort(self) -> None:
        if self._copy is not None:
            copy, self._copy = self._copy, None
            copy.close()
        _drop(self._batch, self._added, self._path)

    # --- what text extraction will read --------------------------------------------------------

    def _judge(self, pieces: list[bytes]) -> None:
        first, need = [], _SNIFF
        for piece in pieces:
            if need <= 0:
                break
            first.append(piece[:need])
            need -= len(first[-1])
        self._keep = reads(b"".join(first), self._media_type, name=self._name)
        if self._keep == WHOLE:
            fd, name = tempfile.mkstemp(dir=self._staging_dir, prefix="fetch-", suffix=".part")
            self._path = Path(name)
            self._copy = os.fdopen(fd, "wb")

    def _keep_text(self, piece: bytes) -> None:
        if self._copy is not None:
            self._copy.write(piece)
        elif self._keep and self._kept <= self._keep:     # the head, and one byte more
            part = piece[:self._keep + 1 - self._kept]
            self._head.append(part)
            self._kept += len(part)


def _drop(batch: BlockBatch, added: list[CID], path: Path | None) -> None:
    batch.discard(added)
    if path is not None:
        path.unlink(missing_ok=True)
