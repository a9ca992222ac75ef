"""The polite, hostile-input-safe fetcher: one aiohttp session per run.

    async with Fetcher(settings, staging_dir) as fetcher:
        page = await fetcher.get_page(url)          # Page | Skipped, body in memory (capped)
        file = await fetcher.fetch_file(url)        # FetchedFile | Skipped, body in staging, sha256
        small = await fetcher.fetch_file(url, spool=1 << 18)   # at most 256 KiB: in memory

Every hop of a fetch is checked against robots.txt (``robots``) and waits for its host's turn
(``politeness``); redirects are followed here, one hop at a time (http and https only, at most
``fetch.max_redirects``, loops detected). Outcomes are values: 404/410 -> ``Skipped("gone")``,
disallowed -> ``Skipped("robots")`` (nothing requested); ``get_page(any_status=True)`` returns an
error answer that is not retried as a ``Page`` of its status instead (an OAI-PMH error in a 422).
A request with validators may answer 304 (an empty body); a 304 to one without is ``BadResponse``.
Failures raise ``FetchError`` subclasses with ``retryable`` set and the cause chained, after
``fetch.retries`` retries for retryable ones: timeouts, connection failures, truncated bodies,
408/425/429/500/502/503/504. Before a retry the host's next start is pushed back by Retry-After
(429/503, capped at ``fetch.max_retry_after``) or by exponential backoff with jitter, so every request
to that host waits. Bodies are decoded incrementally and capped on decoded bytes (``decode``,
``sinks``). A failed ``fetch_file`` leaves no staging file behind.

Bodies are read no faster than ``fetch.limit_rate`` bytes per second, all requests together
(``mirror.fetch.throttle``; wget's ``--limit-rate``).

Every connection, each redirect hop and robots.txt included, goes only where the address ``policy``
allows (``mirror.fetch.guard``, checked on the resolved address at connect time); a refused one
raises ``AddressRefused`` (never retried; counted in ``stats.refused``). ``admit_source`` opens the
policy to private addresses when the location the operator typed is itself on one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Union
from urllib.parse import urldefrag, urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from mirror.errors import (
    AddressRefused, BadResponse, BadStatus, ConnectionFailed, FetchError, FetchTimeout, HostUnreachable,
    RedirectLoop, RobotsUnavailable, TooLarge, TooManyRedirects, TruncatedBody,
)
from mirror.fetch.client import make_session, user_agent
from mirror.fetch.decode import BodyDecoder
from mirror.fetch.guard import AddressPolicy, GuardedConnector, host_of, refusal_of
from mirror.fetch.politeness import Politeness
from mirror.fetch.reach import unreachable
from mirror.fetch.results import FetchedFile, FetchStats, Page, Skipped, media_type
from mirror.fetch.retry import RETRY_AFTER_STATUS, RETRYABLE_STATUS, backoff, parse_retry_after
from mirror.fetch.robots import ROBOTS_MAX, RobotsCache, host_key
from mirror.fetch.throttle import Throttle
from mirror.fetch.sinks import FileSink, PageSink, WriterFactory
from mirror.settings import Settings
from indexer.clock import second_time

__all__ = ["Fetcher", "Page", "FetchedFile", "Skipped", "FetchStats"]

log = logging.getLogger(__name__)

PAGE_MAX = 32 * 2**20
ROBOTS_REDIRECTS = 5              # RFC 9309: follow at least five
ERROR_BODY_MAX = 4096             # bytes of an error answer kept for its explanation
GONE = frozenset({404, 410})
CONNECT_RETRIES = 2               # retries of a host that refuses or drops connections (a short wait)
NO_HOST_HINT = "check the address for typos, and that this machine is online"
DOWN_HINT = "check the address, and that the server is running and reachable from here"

Sink = Union[PageSink, FileSink]
SinkFactory = Callable[[str, CIMultiDictProxy[str]], Sink]   # (URL of the hop, the answer's headers)
Result = Union[Page, FetchedFile]


@dataclass
class _Redirect:
    location: str


@dataclass
class _Trace:
    hop: str                      # the URL of the hop being tried (the host to hold back on failure)


def _at_hop(exc: FetchError, url: str, hop: str) -> FetchError:
    """A refusal met at a redirect hop names the hop (the URL asked for does not show it)."""
    if isinstance(exc, AddressRefused) and hop != url:
        return AddressRefused(f"{exc.message} (redirected to {hop})", address=exc.address, hint=exc.hint)
    return exc


def _conditional(resp: aiohttp.ClientResponse) -> bool:
    sent = resp.request_info.headers
    return "If-None-Match" in sent or "If-Modified-Since" in sent


def _unreachable(url: str, exc: aiohttp.ClientConnectorError) -> ConnectionFailed:
    """A connection failure in plain words: a name that does not resolve is not retried."""
    parts = urlsplit(url)
    why = unreachable(exc, host=parts.netloc if parts.port else parts.hostname or "")
    if why is None:
        return ConnectionFailed(f"{url}: {exc}", retryable=True)
    if not why.retry:
        return HostUnreachable(f"cannot reach {parts.hostname}: {why.text}", hint=NO_HOST_HINT)
    return HostUnreachable(f"{why}", retryable=True, hint=DOWN_HINT)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url!r}")


class Fetcher:
    """Fetch pages and files politely for one run (see the module docstring)."""

    def __init__(self, settings: Settings, staging_dir: Path, *, per_host: int | None = None,
                 delay: float | None = None, concurrency: int | None = None,
                 obey_robots: bool | None = None, max_bytes: int | None = None,
                 policy: AddressPolicy | None = None, limit_rate: int | None = None) -> None:
        f = settings.fetch
        self.settings = settings
        self.staging_dir = Path(staging_dir)
        self.per_host = int(f.per_host if per_host is None else per_host)
        self.delay = float(f.delay if delay is None else delay)
        self.concurrency = int(f.concurrency if concurrency is None else concurrency)
        self.obey_robots = bool(f.obey_robots if obey_robots is None else obey_robots)
        self.max_bytes = int(f.max_bytes if max_bytes is None else max_bytes)
        self.max_redirects = int(f.max_redirects)
        self.retries = int(f.retries)
        self.backoff = float(f.backoff)
        self.max_retry_after = float(f.max_retry_after)
        self.user_agent = user_agent(settings)
        self.stats = FetchStats()
        self.throttle = Throttle(f.limit_rate if limit_rate is None else limit_rate)
        self._politeness = Politeness(self.per_host, self.delay, self.concurrency)
        self._robots = RobotsCache(self.user_agent, self._load_robots, self._politeness.set_crawl_delay)
        self._policy = policy
        self._session: aiohttp.ClientSession | None = None
        self._warned: dict[str, str] = {}       # host -> the failure shown for it

    async def __aenter__(self) -> "Fetcher":
        await asyncio.to_thread(self.staging_dir.mkdir, parents=True, exist_ok=True)
        self._session = make_session(self.settings, self.concurrency, self._policy)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------ public API

    async def get_page(self, url: str, *, max_bytes: int = PAGE_MAX, headers: dict[str, str] | None = None,
                       any_status: bool = False) -> Page | Skipped:
        """Fetch a small body into memory (at most ``max_bytes`` decoded bytes, and ``fetch.max_bytes``).
        With ``any_status`` an answer with a final error status (4xx, 404 and 410 included, and
        the 5xx not retried) is returned as a Page of that status, for the caller to read."""
        cap = min(max_bytes, self.max_bytes)
        return await self._fetch(  # type: ignore[return-value]
            url, lambda hop, _headers: PageSink(hop, cap, any_status=any_status), headers)

    async def fetch_file(self, url: str, *, digest: bool = True, spool: int = 0,
                         headers: dict[str, str] | None = None,
                         into: WriterFactory | None = None) -> FetchedFile | Skipped:
        """Stream a body into a new file in the staging folder while hashing it (sha256; with
        ``digest=False`` not hashed, for a caller that hashes the file itself, as the importer does).
        A body of at most SPOOL bytes (capped at 1 MiB) is returned in memory instead (``body``,
        no file). With INTO a larger body goes, as it arrives, to the ``BodyWriter`` that
        ``into(url, media_type)`` makes, in worker threads (the importer), and what it made is
        ``written`` (no file). With validators in HEADERS (If-None-Match, If-Modified-Since) the
        answer may be a 304 Not Modified: status 304 and an empty body."""
        return await self._fetch(  # type: ignore[return-value]
            url, lambda hop, got: FileSink(hop, self.max_bytes, self.staging_dir, digest=digest,
                                           spool=spool, into=into, media_type=media_type(got)),
            headers)

    @property
    def policy(self) -> AddressPolicy:
        """The address policy connections are checked against."""
        return self._connector.policy

    async def admit_source(self, location: str) -> str | None:
        """When LOCATION (typed by the operator) is an http(s) URL whose host resolves to an address
        the policy refuses, allow private addresses for this run and say why; else None. A host
        that does not resolve is left to the fetch to report."""
        parts = urlsplit(location)
        if self.policy.allow_private or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        try:
            addresses = await asyncio.wait_for(self._connector.lookup(host_of(location), port),
                                               float(self.settings.fetch.connect_timeout))
        except (OSError, asyncio.TimeoutError, aiohttp.ClientError, ValueError):
            return None
        reason = next((r for a in addresses if (r := self.policy.refusal(a, parts.hostname))), None)
        if reason is not None:
            self._connector.policy = replace(self.policy, allow_private=True)
        return reason

    @property
    def _connector(self) -> GuardedConnector:
        assert self._session is not None, "use the Fetcher as 'async with Fetcher(...)'"
        connector = self._session.connector
        assert isinstance(connector, GuardedConnector)
        return connector

    async def allowed(self, url: str) -> bool:
        """True when robots.txt lets us fetch ``url`` (always, with robots off); False while the
        host's robots.txt is unreachable."""
        if not self.obey_robots:
            return True
        try:
            return await self._robots.can_fetch(url)
        except RobotsUnavailable:
            return False

    # ------------------------------------------------------------------ retries and redirects

    async def _fetch(self, url: str, new_sink: SinkFactory, headers: dict[str, str] | None, *,
                     robots: bool = True, max_redirects: int | None = None) -> Result | Skipped:
        _check_url(url)
        attempt = 0
        while True:
            trace = _Trace(url)
            try:
                return await self._follow(url, new_sink, headers, robots, max_redirects, trace)
            except FetchError as exc:
                host = host_key(trace.hop)
                if isinstance(exc, RobotsUnavailable) or not exc.retryable or attempt >= self.retries:
                    self.stats.errors += 1
                    self.stats.host(host).errors += 1
                    raise _at_hop(exc, url, trace.hop) from exc.__cause__
                if isinstance(exc, HostUnreachable) and attempt >= CONNECT_RETRIES:
                    self.stats.errors += 1
                    self.stats.host(host).errors += 1
                    raise _at_hop(exc, url, trace.hop) from exc.__cause__
                wait = getattr(exc, "retry_after", None)
                wait = backoff(attempt, self.backoff) if wait is None else wait
                self._politeness.defer(host, wait)
                if isinstance(exc, HostUnreachable):
                    self._say_retry(exc, host, wait, attempt)
                attempt += 1
                self.stats.retries += 1
                self.stats.host(host).retries += 1

    def _say_retry(self, exc: HostUnreachable, host: str, wait: float, attempt: int) -> None:
        """An unreachable host: say so (at WARNING for the first failure met on the host, so a
        person sees why the run pauses; later ones at INFO), then retry."""
        first = self._warned.setdefault(host, exc.message)
        level = logging.WARNING if first == exc.message else logging.INFO
        log.log(level, "%s; trying again in %.1f s (retry %d of %d)", exc.message, wait, attempt + 1,
                min(self.retries, CONNECT_RETRIES))

    async def _follow(self, url: str, new_sink: SinkFactory, headers: dict[str, str] | None,
                      robots: bool, max_redirects: int | None, trace: _Trace) -> Result | Skipped:
        limit = self.max_redirects if max_redirects is None else max_redirects
        seen = {url}
        for _ in range(limit + 1):
            if robots and self.obey_robots and not await self._robots.can_fetch(trace.hop):
                self.stats.robots += 1
                return Skipped(url, "robots")
            outcome = await self._request(trace.hop, new_sink, headers)
            if isinstance(outcome, Skipped) and robots:
                self.stats.gone += 1
            if not isinstance(outcome, _Redirect):
                return outcome if outcome.url == url else replace(outcome, url=url)
            if outcome.location in seen:
                raise RedirectLoop(f"{url}: redirect loop at {outcome.location}")
            seen.add(outcome.location)
            trace.hop = outcome.location
        raise TooManyRedirects(f"{url}: more than {limit} redirects")

    # ------------------------------------------------------------------ one request

    async def _request(self, url: str, new_sink: SinkFactory,
                       headers: dict[str, str] | None) -> Result | Skipped | _Redirect:
        assert self._session is not None, "use the Fetcher as 'async with Fetcher(...)'"
        host = host_key(url)
        async with self._politeness.slot(host):
            self.stats.requests += 1
            self.stats.host(host).requests += 1
            try:
                async with self._session.get(url, headers=headers, allow_redirects=False) as resp:
                    return await self._handle(url, resp, new_sink, host)
            except FetchError:
                raise
            except asyncio.TimeoutError as exc:
                raise FetchTimeout(f"{url}: timed out", retryable=True) from exc
            except aiohttp.ClientPayloadError as exc:
                raise TruncatedBody(f"{url}: the body was cut short ({exc})", retryable=True) from exc
            except aiohttp.InvalidURL as exc:
                raise FetchError(f"invalid URL: {exc}") from exc
            except aiohttp.ClientConnectorCertificateError as exc:
                raise ConnectionFailed(f"{url}: the TLS certificate is not valid ({exc})") from exc
            except aiohttp.ClientConnectorError as exc:
                refused = refusal_of(exc)
                if refused is None:
                    raise _unreachable(url, exc) from exc
                self.stats.refused += 1
                raise AddressRefused(refused.message, address=refused.address, hint=refused.hint) from exc
            except aiohttp.ClientResponseError as exc:
                raise BadResponse(f"{url}: malformed response ({exc.message})") from exc
            except (aiohttp.ClientError, OSError) as exc:
                raise ConnectionFailed(f"{url}: {exc or type(exc).__name__}", retryable=True) from exc

    async def _handle(self, url: str, resp: aiohttp.ClientResponse, new_sink: SinkFactory,
                      host: str) -> Result | Skipped | _Redirect:
        status = resp.status
        if 300 <= status < 400 and status != 304:
            return self._redirect(url, resp)
        if status == 304 and not _conditional(resp):
            raise BadResponse(f"{url}: 304 Not Modified to a request that was not conditional", status=304)
        headers = CIMultiDictProxy(CIMultiDict(resp.headers))
        sink = new_sink(url, headers)
        as_page = getattr(sink, "any_status", False) and status not in RETRYABLE_STATUS
        if status in GONE and not as_page:
            return Skipped(url, "gone", status)
        if not (200 <= status < 300 or status == 304 or as_page):
            error = self._status_error(url, resp)
            error.body = await self._error_body(url, resp, host)
            raise error
        fetched_at = second_time()
        try:
            await self._read(url, resp, sink, host)
            if isinstance(sink, FileSink):
                path, body, sha256, size = await sink.finish()
                return FetchedFile(url, url, status, headers, path, sha256, size, media_type(headers),
                                   fetched_at, body, sink.written)
            return Page(url, url, status, headers, await sink.finish(), fetched_at)
        except BaseException:
            await sink.abort()
            raise

    def _redirect(self, url: str, resp: aiohttp.ClientResponse) -> _Redirect:
        location = resp.headers.get("Location", "").strip()
        if not location:
            raise BadResponse(f"{url}: HTTP {resp.status} without a Location", status=resp.status)
        target = urldefrag(urljoin(url, location))[0]
        if urlsplit(target).scheme.lower() not in ("http", "https") or not urlsplit(target).hostname:
            raise FetchError(f"{url}: redirect to an unsupported URL {target!r}", status=resp.status)
        return _Redirect(target)

    def _status_error(self, url: str, resp: aiohttp.ClientResponse) -> BadStatus:
        status = resp.status
        exc = BadStatus(f"{url}: HTTP {status} {resp.reason or ''}".rstrip(), status=status,
                        retryable=status in RETRYABLE_STATUS)
        if status in RETRY_AFTER_STATUS:
            exc.retry_after = parse_retry_after(resp.headers.get("Retry-After"), self.max_retry_after)
        return exc

    async def _error_body(self, url: str, resp: aiohttp.ClientResponse, host: str) -> bytes | None:
        """The first ``ERROR_BODY_MAX`` decoded bytes of an error answer (an API says there what
        went wrong: CKAN's ``error.message``), or None when they cannot be read."""
        sink = PageSink(url, ERROR_BODY_MAX, truncate=True)
        try:
            await self._read(url, resp, sink, host)
        except (FetchError, aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return None
        return await sink.finish()

    async def _read(self, url: str, resp: aiohttp.ClientResponse, sink: Sink, host: str) -> None:
        """Stream the body through the decoder into ``sink``; raw bytes are capped too."""
        decoder = BodyDecoder(resp.headers.get("Content-Encoding"), url)
        length = resp.headers.get("Content-Length", "")
        if decoder.encoding is None and length.isdigit() and int(length) > sink.cap \
                and not getattr(sink, "truncate", False):
            raise TooLarge(f"{url}: Content-Length {length} is over the cap of {sink.cap} bytes")
        raw_cap, raw = sink.cap + sink.cap // 64 + 65536, 0
        stats = self.stats.host(host)
        async for chunk in resp.content.iter_any():
            if raw > raw_cap:  # compressed input that decodes to (almost) nothing, without end
                raise TooLarge(f"{url}: more than {raw_cap} encoded bytes")
            raw += len(chunk)
            await self.throttle.take(len(chunk))
            for piece in decoder.feed(chunk):
                self.stats.bytes += len(piece)
                stats.bytes += len(piece)
                if not await sink.write(piece):
                    return
        for piece in decoder.finish():
            await sink.write(piece)

    # ------------------------------------------------------------------ robots.txt

    async def _load_robots(self, host: str) -> str | None:
        """robots.txt text for ``host``; None when it is gone (no rules)."""
        result = await self._fetch(f"{host}/robots.txt",
                                   lambda hop, _headers: PageSink(hop, ROBOTS_MAX, truncate=True), None,
                                   robots=False, max_redirects=ROBOTS_REDIRECTS)
        if isinstance(result, Skipped):
            return None
        assert isinstance(result, Page)
        return result.body.decode("utf-8", errors="replace")
