"""Where decoded body bytes go: memory (``PageSink``) or a staging file hashed on the way (``FileSink``).

``FileSink`` with a ``spool`` keeps a body of at most that many bytes in memory and creates no file
(a file costs more than the fetch of a small body: create, write, read back, remove); a larger body
goes to the file as usual.

Both enforce the decoded-size cap as bytes arrive, so a body over the cap is stopped after at most one
decoded piece too many. ``FileSink`` writes and hashes in a worker thread, one batch of about
``BATCH`` bytes at a time while the event loop reads the next batch (sha256 on the loop thread halves
an aiohttp client's throughput); a small body costs one thread hop in all. ``abort`` removes the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

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


class FileSink:
    """Stream a body into a new file in ``staging_dir`` while computing its sha256 (unless not
    ``digest``: the sha256 is then None); a body of at most ``spool`` bytes stays in memory."""

    def __init__(self, url: str, cap: int, staging_dir: Path, *, digest: bool = True,
                 spool: int = 0) -> None:
        self.url = url
        self.cap = cap
        self.staging_dir = staging_dir
        self.spool = min(spool, BATCH)
        self.size = 0
        self.path: Path | None = None
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha256() if digest else None
        self._batch = bytearray()
        self._pending: asyncio.Future[None] | None = None

    async def write(self, data: bytes) -> bool:
        self.size += len(data)
        if self.size > self.cap:
            raise _too_large(self.url, self.cap)
        self._batch += data
        if len(self._batch) >= BATCH:
            await self._submit(close=False)
        return True

    async def finish(self) -> tuple[Path | None, bytes | None, str | None, int]:
        """Write what is left, close the file; (path, None, sha256 hex or None, size), or for a
        body kept in memory (None, its bytes, sha256 hex or None, size)."""
        if self.spool and self._pending is None and self._file is None and self.size <= self.spool:
            body = bytes(self._batch)
            self._batch = bytearray()
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
        assert self.path is not None
        return self.path, None, self._hash.hexdigest() if self._hash else None, self.size

    async def abort(self) -> None:
        """Stop, close and remove the staging file (also after a failed write)."""
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
        data, self._batch = self._batch, bytearray()
        self._pending = asyncio.ensure_future(asyncio.to_thread(self._consume, data, close))

    def _consume(self, data: bytearray, close: bool) -> None:  # runs in a worker thread
        if self._file is None:
            fd, name = tempfile.mkstemp(dir=self.staging_dir, prefix="fetch-", suffix=".part")
            self.path = Path(name)
            self._file = os.fdopen(fd, "wb")
        if data:
            if self._hash is not None:
                self._hash.update(data)
            self._file.write(data)
        if close:
            self._file.close()

    def _discard(self) -> None:  # runs in a worker thread
        if self._file is not None:
            self._file.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
