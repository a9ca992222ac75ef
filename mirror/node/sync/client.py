"""Talking to one peer's HTTP API (protocol §6) with every response bounded and nothing trusted.

``PeerClient`` turns every transport problem (refused, reset, timeout, an HTTP error, a body over
its limit, JSON that is not what the protocol says) into ``PeerError``; entry pages come back
decoded but *not verified* (``mirror.node.sync.pull`` verifies them). ``bytes_in`` counts the body
bytes received, for reports and benchmarks.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from mirror.errors import PeerError
from mirror.feed.codec import MEDIA_TYPE, PAGE_MAX_BYTES, PAGE_MAX_ENTRIES, decode_page, read_limited
from mirror.feed.entry import Entry
from mirror.feed.identity import is_node_id
from mirror.fetch.reach import unreachable
from mirror.fetch.guard import GuardedConnector, refusal_of
from mirror.node.limits import FEEDS_PAGE, MAX_FEEDS_LISTED, MAX_JSON_RESPONSE, PEERS_LISTED, Timeouts

PROTOCOL_HEADER = "X-Openmirror-Protocol"


@dataclass(frozen=True)
class RemoteFeed:
    """One line of a peer's feed list: how far it holds AUTHOR's feed (and fork evidence)."""

    author: str
    seq: int
    head: bytes | None
    fork: int | None = None


class PeerRetryLater(PeerError):
    """The peer asked us to slow down (429 / 503)."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def client_session(timeouts: Timeouts, user_agent: str, guard: GuardedConnector) -> aiohttp.ClientSession:
    """The one session a node uses for its peers, connecting only where GUARD's policy allows
    (``mirror.node.reach``)."""
    timeout = aiohttp.ClientTimeout(total=timeouts.total, connect=timeouts.connect,
                                    sock_connect=timeouts.connect, sock_read=timeouts.read)
    return aiohttp.ClientSession(timeout=timeout, connector=guard, auto_decompress=False,
                                 headers={"User-Agent": user_agent}, max_field_size=8190,
                                 raise_for_status=False, trust_env=False)


class PeerClient:
    """The API of the peer at URL (normalised, no trailing slash)."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.bytes_in = 0
        self.node_id: str | None = None

    async def _request(self, method: str, path: str, *, limit: int, params: dict | None = None,
                       body: Any = None, accept: str = "application/json") -> tuple[bytes, Any]:
        try:
            async with self.session.request(method, self.url + path, params=params, json=body,
                                            headers={"Accept": accept}) as resp:
                if resp.status in (429, 503):
                    raise PeerRetryLater(f"{self.url} asks to retry later ({resp.status})",
                                         _retry_after(resp.headers.get("Retry-After")))
                if resp.content_length is not None and resp.content_length > limit:
                    raise PeerError(f"{self.url}{path}: response of {resp.content_length} bytes "
                                    f"is over the {limit} limit")
                data = await read_limited(resp.content, limit)
                self.bytes_in += len(data)
                return data, resp
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            if (refused := refusal_of(exc)) is not None:
                raise PeerError(f"{self.url}: {refused.message}") from exc
            if (why := unreachable(exc, host=urlsplit(self.url).netloc)) is not None:
                raise PeerError(str(why)) from exc
            raise PeerError(f"{self.url}{path}: {type(exc).__name__}: {str(exc)[:200]}") from exc

    async def get_json(self, path: str, params: dict | None = None) -> dict[str, Any]:
        data, resp = await self._request("GET", path, limit=MAX_JSON_RESPONSE, params=params)
        return _json_object(self.url + path, data, resp.status)

    async def post_json(self, path: str, body: dict[str, Any]) -> int:
        _data, resp = await self._request("POST", path, limit=MAX_JSON_RESPONSE, body=body)
        return resp.status

    async def feeds(self) -> list[RemoteFeed]:
        """Every feed the peer lists (paged, at most MAX_FEEDS_LISTED)."""
        found: list[RemoteFeed] = []
        after = ""
        while len(found) < MAX_FEEDS_LISTED:
            obj = await self.get_json("/api/v1/feeds", {"after": after, "limit": str(FEEDS_PAGE)})
            self.node_id = obj.get("node_id") if is_node_id(obj.get("node_id")) else None
            page = [_remote_feed(self.url, item) for item in _list(self.url, obj, "feeds")]
            if any(f.author <= after for f in page) or len(page) > FEEDS_PAGE:
                raise PeerError(f"{self.url}: feed list out of order or over its limit")
            found += page
            if not obj.get("more") or not page:
                return found
            after = page[-1].author
        return found

    async def entries(self, author: str, after: int, limit: int) -> list[Entry]:
        """Up to LIMIT of AUTHOR's entries after seq AFTER, decoded (not verified); [] for 404."""
        path = f"/api/v1/feeds/{author}/entries"
        data, resp = await self._request("GET", path, limit=PAGE_MAX_BYTES,
                                         params={"after": str(after), "limit": str(limit)},
                                         accept=MEDIA_TYPE)
        if resp.status == 404:
            return []
        if resp.status != 200:
            raise PeerError(f"{self.url}{path}: HTTP {resp.status}")
        if resp.headers.get("Content-Type", "").split(";")[0].strip() != MEDIA_TYPE:
            raise PeerError(f"{self.url}{path}: not an entry page")
        entries = await asyncio.to_thread(decode_page, data, max_entries=min(limit, PAGE_MAX_ENTRIES),
                                          max_bytes=PAGE_MAX_BYTES)
        if entries and entries[0].seq != after + 1:
            raise PeerError(f"{self.url}{path}: page starts at seq {entries[0].seq}, not {after + 1}")
        return entries

    async def peers(self) -> list[str]:
        obj = await self.get_json("/api/v1/peers")
        items = _list(self.url, obj, "peers")[:PEERS_LISTED]
        return [i["url"] for i in items if isinstance(i, dict) and isinstance(i.get("url"), str)]

    async def forks(self, author: str) -> list[tuple[tuple[bytes, bytes], tuple[bytes, bytes]]]:
        """The fork evidence the peer holds about AUTHOR, as two (payload, signature) pairs each."""
        obj = await self.get_json("/api/v1/forks", {"author": author})
        return [_fork_pair(self.url, item) for item in _list(self.url, obj, "forks")[:100]]

    async def notify(self, body: dict[str, Any]) -> int:
        return await self.post_json("/api/v1/notify", body)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, min(float(value), 3600.0)) if value else None
    except ValueError:
        return None


def _json_object(where: str, data: bytes, status: int) -> dict[str, Any]:
    if status != 200 and status != 202:
        raise PeerError(f"{where}: HTTP {status}")
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        raise PeerError(f"{where}: response is not JSON") from None
    if not isinstance(obj, dict):
        raise PeerError(f"{where}: response is not a JSON object")
    return obj


def _list(url: str, obj: dict[str, Any], name: str) -> list[Any]:
    value = obj.get(name)
    if not isinstance(value, list):
        raise PeerError(f"{url}: response lacks the list {name!r}")
    return value


def _remote_feed(url: str, item: Any) -> RemoteFeed:
    try:
        author, seq, head, fork = item["author"], item["seq"], item.get("head"), item.get("fork")
        ok = (is_node_id(author) and type(seq) is int and 0 <= seq < 1 << 53
              and (fork is None or (type(fork) is int and 0 < fork <= seq)))
        raw = bytes.fromhex(head) if isinstance(head, str) and len(head) == 64 else None
    except (TypeError, KeyError, ValueError):
        ok, raw = False, None
    if not ok or (seq > 0 and raw is None):
        raise PeerError(f"{url}: malformed feed list entry")
    return RemoteFeed(author, seq, raw, fork)


def _fork_pair(url: str, item: Any) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes]]:
    try:
        a, b = item["a"], item["b"]
        return ((_b64(a["payload"]), _b64(a["signature"])), (_b64(b["payload"]), _b64(b["signature"])))
    except (TypeError, KeyError, binascii.Error):
        raise PeerError(f"{url}: malformed fork evidence") from None


def _b64(text: Any) -> bytes:
    if not isinstance(text, str) or len(text) > 2 << 20:
        raise TypeError("not base64 text")
    return base64.b64decode(text, validate=True)
