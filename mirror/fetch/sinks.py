"""Where decoded body bytes go: memory (``PageSink``) or a staging file hashed on the way (``FileSink``).

``FileSink`` with a ``spool`` keeps a body of at most that many bytes in memory and creates no file
(a file costs more than the fetch of a small body: create, write, read back, remove); a larger body
goes to the file as usual, or, with ``into``, to a ``BodyWriter`` (the importer: blocks are made
while the body arrives, and no staging file is written and read back).

Both enforce the decoded-size cap as bytes arrive, so a body over the cap is stopped after at most one
decoded piece too many. ``FileSink`` writes and hashes in a worker thread, one batch of about
``BATCH`` bytes at a time (the pieces as received, joined there, not on the loop) while the event
loop reads the next batch (sha256 on the loop thread halves an aiohttp client's throughput); a
small body costs one thread hop in all. ``abort`` removes the file (a writer drops what it made).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Protocol

from mirror.errors import NotReady, TooLarge, disk_full

BATCH = 1 << 20
_LOOP_HASH = 64 << 10       # a spooled body larger than this is hashed in a worker thread


def _too_large(url: str, cap: int) -> TooLarge:
    return TooLarge(f"{url}: the body is larger than {cap} bytes",
                    hint="raise fetch.max_bytes (openmirror.toml or OPENMIRROR_FETCH_MAX_BYTES)")


class PageSink:
    """Collect a body in memory up to ``cap`` bytes; past it raise ``TooLarge``, or with
    ``truncate`` keep the first ``cap`` bytes and stop reading (robots.txt). With ``any_status``
    the body of an answer with a final error status is collected too (an API explains its errors
    there)."""

    def __init__(self, url: str, cap: int, *, truncate: bool = False, any_status: bool = False) -> None:
        self.url = url
        self.cap = cap
        self.truncate = truncate
        self.any_status = any_status
        self._buf = bytearray()

    @property
    def size(self) -> int:
        return len(self._buf)

    async def write(self, data: bytes) -> bool:
        """Take ``data``; False means "stop reading" (truncated at the cap)."""
        room = self.cap - len(self._buf)
        if len(data) > room:
            if not self.truncate:
                raise _too_large(self.url, self.cap)
            self._buf += data[:room]
            return False
        self._buf += data
        return True

    async def finish(self) -> bytes:
        return bytes(self._buf)

    async def abort(self) -> None:
        self._buf = bytearray()


class BodyWriter(Protocol):
    """Takes a large body in worker threads instead of a staging file (``FileSink(into=...)``):
    ``write`` is called with each batch of pieces in order, one call at a time, then ``close``
    (whose result becomes ``FileSink.written``), or ``abort`` when the fetch fails (it may be
    retried with a new writer). All three may block."""

    def write(self, pieces: list[bytes]) -> None: ...
    def close(self) -> object: ...
    def abort(self) -> None: ...


WriterFactory = Callable[[str, "str | None"], BodyWriter]   # (URL of the answer, its media type)


class FileSink:
    """Stream a body into a new file in ``staging_dir`` while computing its sha256 (unless not
    ``digest``: the sha256 is then None); a body of at most ``spool`` bytes stays in memory. With
    ``into`` a larger body goes to the writer it makes (``into(url, media_type)``) instead of a
    file: the importer takes it as it arrives."""

    def __init__(self, url: str, cap: int, staging_dir: Path, *, digest: bool = True,
                 spool: int = 0, into: WriterFactory | None = None,
                 media_type: str | None = None) -> None:
        self.url = url
        self.cap = cap
        self.staging_dir = staging_dir
        self.spool = min(spool, BATCH)
        self.size = 0
        self.path: Path | None = None
        self.written: object = None             # what the writer made of the body (``into``)
        self._file: BinaryIO | None = None
        self._into = into
        self._media_type = media_type
        self._writer: BodyWriter | None = None
        self._hash = hashlib.sha256() if digest else None
        self._batch: list[bytes] = []           # pieces not handed over yet (no copy on the loop)
        self._batched = 0
        self._pending: asyncio.Future[None] | None = None

    async def write(self, data: bytes) -> bool:
        self.size += len(data)
        if self.size > self.cap:
            raise _too_large(self.url, self.cap)
        self._batch.append(data)
        self._batched += len(data)
        if self._batched >= BATCH:
            await self._submit(close=False)
        return True

    async def finish(self) -> tuple[Path | None, bytes | None, str | None, int]:
        """Write what is left, close the file; (path, None, sha256 hex or None, size), or for a
        body kept in memory (None, its bytes, sha256 hex or None, size). A body given to a
        writer gives (None, None, sha256 hex or None, size) and ``written``."""
        if self.spool and self._pending is None and not self._started and self.size <= self.spool:
            body = b"".join(self._batch)
            self._batch, self._batched = [], 0
            digest = None
            if self._hash is not None:
                if len(body) > _LOOP_HASH:
                    await asyncio.to_thread(self._hash.update, body)
                else:
                    self._hash.update(body)
                digest = self._hash.hexdigest()
            return None, body, digest, self.size
        await self._submit(close=True)
        await self._drain()
        assert self.path is not None or self._writer is not None
        return self.path, None, self._hash.hexdigest() if self._hash else None, self.size

    @property
    def _started(self) -> bool:
        """Whether any batch went to the worker thread (a file or a writer exists)."""
        return self._file is not None or self._writer is not None

    async def abort(self) -> None:
        """Stop, close and remove the staging file (also after a failed write); a writer is
        told to drop what it made."""
        try:
            await self._drain()
        except Exception:  # the fetch already failed; removal is what matters
            pass
        await asyncio.to_thread(self._discard)

    async def _drain(self) -> None:
        """Wait for the batch in the worker thread. Shielded: a cancelled fetch still waits here (in
        ``abort``) until the thread is done with the file, so nothing is left behind."""
        pending = self._pending
        if pending is None:
            return
        try:
            await asyncio.shield(pending)
        except OSError as exc:
            raise disk_full(exc, self.staging_dir) or NotReady(
                f"cannot write the staging file in {self.staging_dir}: {exc}") from exc
        self._pending = None

    async def _submit(self, *, close: bool) -> None:
        """Hand the current batch to a worker thread after the previous one has finished."""
        await self._drain()
        pieces, self._batch, self._batched = self._batch, [], 0
        self._pending = asyncio.ensure_future(asyncio.to_thread(self._consume, pieces, close))

    def _consume(self, pieces: list[bytes], close: bool) -> None:  # runs in a worker thread
        if self._into is not None:
            if self._writer is None:
                self._writer = self._into(self.url, self._media_type)
            if pieces:
                self._writer.write(pieces)
            if close:
                self.written = self._writer.close()
            return
        if self._file is None:
            fd, name = tempfile.mkstemp(dir=self.staging_dir, prefix="fetch-", suffix=".part")
            self.path = Path(name)
            self._file = os.fdopen(fd, "wb")
        if pieces:
            data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
            if self._hash is not None:
                self._hash.update(data)
            self._file.write(data)
        if close:
            self._file.close()

    def _discard(self) -> None:  # runs in a worker thread
        if self._writer is not None:
            self._writer.abort()
        if self._file is not None:
            self._file.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
