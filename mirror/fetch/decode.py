"""Undo Content-Encoding incrementally, in bounded pieces, so a gzip bomb never inflates in memory.

aiohttp's own decompression is off (``auto_decompress=False``): it inflates a whole network chunk at
once, and the size cap must count *decoded* bytes. ``BodyDecoder.feed`` yields at most
``DECODE_CHUNK`` decoded bytes at a time; the consumer counts them and stops at its cap, leaving the
rest of the compressed input unread. We ask only for ``gzip, deflate`` (no brotli decoder is installed).
"""

from __future__ import annotations

import zlib
from typing import Iterator

from mirror.errors import BadResponse, TruncatedBody

ACCEPT_ENCODING = "gzip, deflate"
DECODE_CHUNK = 64 * 1024


def _decompressor(encoding: str) -> "zlib._Decompress | None":
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)  # zlib-wrapped; raw deflate is tried on error
    return None


class BodyDecoder:
    """Decode one response body given its Content-Encoding header value."""

    def __init__(self, content_encoding: str | None, url: str) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        self.url = url
        self.encoding = codings[0] if codings else None
        self._z = _decompressor(self.encoding) if self.encoding else None
        if codings and (len(codings) > 1 or self._z is None):
            raise BadResponse(f"{url}: unsupported Content-Encoding {content_encoding!r}")
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded pieces of ``data``, each at most ``DECODE_CHUNK`` bytes (identity passes through)."""
        if self._z is None:
            if data:
                yield data
            return
        buf = data
        while buf:
            out = self._decompress(buf)
            if out:
                yield out
            buf = self._z.unconsumed_tail
            if self._z.eof:
                buf = self._next_member()

    def finish(self) -> Iterator[bytes]:
        """The last decoded bytes; ``TruncatedBody`` when the compressed stream did not end."""
        if self._z is None:
            return
        tail = self._z.flush()
        if tail:
            yield tail
        if self._started and not self._z.eof:
            raise TruncatedBody(f"{self.url}: the {self.encoding} stream ends early", retryable=True)

    def _decompress(self, buf: bytes) -> bytes:
        assert self._z is not None
        try:
            out = self._z.decompress(buf, DECODE_CHUNK)
        except zlib.error as exc:
            if self.encoding == "deflate" and not self._started:
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)  # servers often send raw deflate
                self._started = True
                return self._decompress(buf)
            raise BadResponse(f"{self.url}: broken {self.encoding} stream ({exc})") from exc
        self._started = True
        return out

    def _next_member(self) -> bytes:
        """Concatenated gzip members are one stream (RFC 1952); anything else after the end is ignored."""
        assert self._z is not None
        rest = self._z.unused_data
        if self.encoding in ("gzip", "x-gzip") and rest[:2] == b"\x1f\x8b":
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            return rest
        return b""
