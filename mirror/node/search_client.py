"""Searching another node: ``GET {url}/api/v1/search`` (protocol §6), its answer read as hostile input.

    hits = await search_node("http://mirror.example.org:8470", SearchQuery("river", limit=20))

A limit over ``MAX_REMOTE_LIMIT`` (what one request may ask) is asked for in pages (``offset``).

The URL is one a person typed (``openmirror search --node URL``), so any address may be asked;
what comes back is trusted for nothing:

* redirects are not followed (a redirect is an error naming where it points);
* the body is read to at most ``MAX_RESPONSE`` decoded bytes within ``TIMEOUT`` seconds;
* it must be a JSON list of at most ``limit`` objects, each checked field by field into a ``Hit``
  (strings bounded by ``MAX_TEXT``, numbers numbers); anything else refuses the whole answer.

Failures are ``PeerError`` with one plain line: an unreachable host (``mirror.fetch.reach``; a
name that does not resolve is not retried, a refused connection is retried twice and says so at
WARNING), a node that is busy (429/503), a search the node refused (400 and its reason), an URL
that is not an openmirror node (404), or a malformed answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import replace
from typing import Any

import aiohttp

from indexer.records import Hit, SearchQuery
from mirror.errors import PeerError
from mirror.fetch.reach import unreachable
from mirror.fetch.retry import backoff
from mirror.node.sync.peers import normalize_url

log = logging.getLogger(__name__)

MAX_RESPONSE = 4 << 20         # 100 hits with long snippets and metadata stay far below
MAX_TEXT = 10_000              # characters of one string field
MAX_LIST = 1000                # items of one list field (creators)
TIMEOUT = 30.0
RETRIES = 2                    # retries of a host that refuses connections
MAX_REMOTE_LIMIT = 100         # what a node's search API answers at most per request
_STRINGS = ("title", "collection", "snippet")
_OPTIONAL = ("cid", "sha256", "license", "license_url", "source_url", "media_type", "date")


def search_params(query: SearchQuery) -> dict[str, str]:
    """The query string of QUERY for ``/api/v1/search``."""
    params = {"q": query.text, "limit": str(query.limit), "offset": str(query.offset)}
    for name in ("license", "collection", "type", "after", "before", "lang"):
        value = getattr(query, name)
        if value:
            params[name] = value
    return params


async def search_node(url: str, query: SearchQuery, *, user_agent: str = "openmirror") -> list[Hit]:
    """QUERY's hits on the node at URL (see the module docstring)."""
    base = normalize_url(url)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    hits: list[Hit] = []
    async with aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": user_agent}) as session:
        while len(hits) < query.limit:             # pages of at most what one request may ask
            page = replace(query, offset=query.offset + len(hits),
                           limit=min(MAX_REMOTE_LIMIT, query.limit - len(hits)))
            found = parse_hits(base, await _ask(session, base, page), page.limit)
            hits += found
            if len(found) < page.limit:
                break
    return hits


async def _ask(session: aiohttp.ClientSession, base: str, query: SearchQuery) -> bytes:
    """The body of one search request; an unreachable host is retried as the module says."""
    for attempt in range(RETRIES + 1):
        try:
            return await _get(session, base, search_params(query))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            why = unreachable(exc, host=base.split("://", 1)[1].split("/", 1)[0])
            if why is None:
                raise PeerError(f"{base}: the search failed ({type(exc).__name__})") from exc
            if not why.retry or attempt == RETRIES:
                raise PeerError(str(why), hint="check the URL, and that the node is running") from exc
            wait = backoff(attempt, 1.0)
            log.warning("%s; trying again in %.1f s (retry %d of %d)", why, wait, attempt + 1, RETRIES)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


async def _get(session: aiohttp.ClientSession, base: str, params: dict[str, str]) -> bytes:
    async with session.get(base + "/api/v1/search", params=params, allow_redirects=False,
                           headers={"Accept": "application/json"}) as resp:
        body = await _read(resp, base)
        if resp.status == 200:
            return body
        raise _refusal(base, resp, body)


async def _read(resp: aiohttp.ClientResponse, base: str) -> bytes:
    if (resp.content_length or 0) > MAX_RESPONSE:
        raise PeerError(f"{base}: an answer of {resp.content_length} bytes is over the "
                        f"{MAX_RESPONSE} limit")
    body = bytearray()
    async for chunk in resp.content.iter_chunked(65536):
        body += chunk
        if len(body) > MAX_RESPONSE:
            raise PeerError(f"{base}: the answer passed the {MAX_RESPONSE} byte limit")
    return bytes(body)


def _refusal(base: str, resp: aiohttp.ClientResponse, body: bytes) -> PeerError:
    status = resp.status
    if 300 <= status < 400:
        where = resp.headers.get("Location", "")[:200]
        return PeerError(f"{base} redirects elsewhere ({status})", hint=f"if you trust it, use that URL: {where}")
    if status in (429, 503):
        return PeerError(f"{base} is busy ({status})", hint="try again in a moment")
    if status == 404:
        return PeerError(f"{base} has no search API (404): is it an openmirror node?")
    reason = _error_message(body)
    if status == 400 and reason:
        return PeerError(f"{base} refused the search: {reason}")
    return PeerError(f"{base} answered HTTP {status}" + (f": {reason}" if reason else ""))


def _error_message(body: bytes) -> str:
    """The ``error.message`` of a problem body (protocol §6), bounded; "" when there is none."""
    try:
        data = json.loads(body[:65536])
        message = data["error"]["message"]
    except (ValueError, TypeError, KeyError):
        return ""
    return message[:300] if isinstance(message, str) else ""


def parse_hits(base: str, body: bytes, limit: int) -> list[Hit]:
    """The hits of a search answer; PeerError for anything but a list of well-formed results."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise PeerError(f"{base}: the search answer is not JSON") from None
    if not isinstance(data, list) or len(data) > limit:
        raise PeerError(f"{base}: the search answer is not a list of at most {limit} results")
    return [_hit(base, item) for item in data]


def _hit(base: str, item: Any) -> Hit:
    if not isinstance(item, dict):
        raise PeerError(f"{base}: a search result is not an object")
    try:
        fields: dict[str, Any] = {name: _text(item.get(name), name) for name in _STRINGS}
        fields |= {name: _optional(item.get(name), name) for name in _OPTIONAL}
        creators = item.get("creators") or []
        if not isinstance(creators, list) or len(creators) > MAX_LIST:
            raise ValueError("creators")
        fields["creators"] = [_text(c, "creators") for c in creators]
        fields["size"] = _size(item.get("size"))
        fields["score"] = _score(item.get("score", 0.0))
    except ValueError as exc:
        raise PeerError(f"{base}: a search result has a malformed {exc.args[0]!r}") from None
    return Hit(**fields)


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(name)
    return value


def _optional(value: Any, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _size(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 <= value < 1 << 63:
        raise ValueError("size")
    return value


def _score(value: Any) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise ValueError("score")
    return float(value)
