"""Conditional requests: what the last harvest learnt about each URL whose bytes it stored.

When a file or page answers 200 with an ``ETag`` or a ``Last-Modified`` header and its bytes are
stored, the harvest keeps, in the collection's harvest state under ``http:URL`` (written in the same
transaction as the document), a ``Known``: those validators, the content the bytes became (sha256,
size, CID, profile, media type, name, final URL) and the provenance of that answer. The next fetch
of URL sends ``If-None-Match`` / ``If-Modified-Since`` (RFC 9110 section 13.1, as wget -N, HTTrack
and Heritrix do); a ``304 Not Modified`` reuses the content, whose blocks are in the store already,
without fetching or importing the bytes again, and the record comes out ``unchanged``. A crawled page
answered 304 is read back from the store (its stored headers freshened with the 304's, RFC 9111
section 4.3.4), so its licence statements are read and its links followed as before.

A 304 whose content is no longer held in full is fetched again without validators.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping

from multidict import CIMultiDict, CIMultiDictProxy

from indexer.records import ContentIn
from mirror.batch import Coalescer, StateRow
from mirror.errors import InvalidCID
from mirror.store.cid import CID

if TYPE_CHECKING:
    from indexer.index import Index
    from mirror.fetch.results import Page
    from mirror.store import ContentStore

KEY_PREFIX = "http:"
MAX_PAGE = 32 * 2**20            # bytes of a stored page read back to be parsed again
_NOT_FRESHENED = {"content-length", "content-encoding", "transfer-encoding"}


@dataclass(frozen=True)
class Known:
    """One URL as last stored: its validators, its content and the answer that brought it."""

    url: str                           # as requested
    etag: str | None
    last_modified: str | None
    content: ContentIn                 # without extracted text
    retrieved_at: str
    status: int | None
    headers: dict[str, str]

    @classmethod
    def learn(cls, url: str, headers: Mapping[str, str], content: ContentIn, retrieved_at: str,
              status: int | None) -> "Known | None":
        """What to remember of a 200 answer; None when it gave no validator."""
        etag, modified = _header(headers, "ETag"), _header(headers, "Last-Modified")
        if status != 200 or not (etag or modified):
            return None
        return cls(url, etag, modified, replace(content, text=None), retrieved_at, status, dict(headers))

    def conditions(self) -> dict[str, str]:
        """The request headers that ask for the body only if it changed."""
        sent = {"If-None-Match": self.etag} if self.etag else {}
        return sent | ({"If-Modified-Since": self.last_modified} if self.last_modified else {})

    def to_json(self) -> str:
        data = {"etag": self.etag, "last_modified": self.last_modified, "content": self.content.to_dict(),
                "retrieved_at": self.retrieved_at, "status": self.status, "headers": self.headers}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, url: str, text: str) -> "Known | None":
        try:
            data = json.loads(text)
            return cls(url, data.get("etag"), data.get("last_modified"), ContentIn.from_dict(data["content"]),
                       data["retrieved_at"], data.get("status"), dict(data.get("headers") or {}))
        except (ValueError, KeyError, TypeError):
            return None


class Revisits:
    """The ``Known`` URLs of one collection, and the stored bytes they point to."""

    def __init__(self, index: "Index", collection: str, store: "ContentStore") -> None:
        self.index, self.collection, self.store = index, collection, store
        # the lookups of many workers, answered together (one query a round, as record statuses)
        self._states: Coalescer[str, str] = Coalescer(lambda keys: index.get_states(collection, keys))

    async def get(self, url: str) -> Known | None:
        text = await self._states.get(KEY_PREFIX + url)
        return Known.from_json(url, text) if text else None

    def row(self, known: Known) -> StateRow:
        return StateRow(self.collection, KEY_PREFIX + known.url, known.to_json())

    async def held(self, known: Known) -> bool:
        """True when every block of the known content is in the store."""
        try:
            cid = CID.decode(known.content.cid)
        except InvalidCID:
            return False
        return await asyncio.to_thread(self.store.has_all, cid)

    async def page(self, known: Known, answer: "Page") -> "Page | None":
        """The page a 304 ANSWER stands for: the stored bytes, with the stored headers freshened by
        the answer's; None when they are not held in full (or too large to read back)."""
        if known.content.size > MAX_PAGE or not await self.held(known):
            return None
        data = await asyncio.to_thread(lambda: b"".join(self.store.cat(CID.decode(known.content.cid))))
        headers: CIMultiDict[str] = CIMultiDict(known.headers)
        for name, value in answer.headers.items():
            if name.lower() not in _NOT_FRESHENED:
                headers[name] = value
        return replace(answer, headers=CIMultiDictProxy(headers), body=data)


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return str(value).strip() or None if value is not None else None
