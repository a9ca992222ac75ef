"""The error tree of the `mirror` package.

Every error openmirror raises on purpose is a ``MirrorError``; the CLI turns it into one line
``Error: ...`` (plus ``Hint: ...``) and the exit code below. Lower-layer errors (OSError,
aiohttp, sqlite) are translated once, at the boundary where they enter, with the cause chained.
Outcomes (a record skipped for its licence, unchanged, gone) are never raised: see
``mirror.pipeline.Summary``.

    MirrorError                         exit 1
    ├── UsageError (ValueError)         exit 2   bad input from the user or a config file
    │   ├── InvalidCID
    │   ├── ConfigError
    │   ├── UnknownProfile
    │   ├── NotACollection              SOURCE is not a collection we can harvest
    │   └── BlockTooLarge               a block over the 2 MiB limit
    ├── NotReady (RuntimeError)         exit 3   environment not ready (Kubo down, schema too new)
    │   ├── NoHome                      a command that only reads was pointed at no home
    │   └── HomeLocked                  another node serves on this home
    ├── DiskFull (OSError)              exit 3   no space left on the disk holding the home
    ├── NotFound (LookupError)          exit 1   no such content, locally or on any peer
    │   ├── BlockNotFound               a block of the DAG is not in the local store (``cid``)
    │   ├── PathNotFound                no such name inside a UnixFS directory
    │   └── ContentUnavailable          no peer holds the content (or some of its blocks)
    ├── BudgetExceeded                  exit 1   a fetch passed the bytes the storage budget left it
    ├── FetchError (OSError)            exit 1   a network fetch failed (``retryable`` tells)
    │   ├── TooLarge                    the decoded body passed the size cap
    │   ├── RedirectLoop, TooManyRedirects
    │   ├── FetchTimeout (TimeoutError), ConnectionFailed (ConnectionError), TruncatedBody  retryable
│   │   └── HostUnreachable       no connection to the host (a name that does not resolve: not retryable)
    │   ├── BadStatus                   an HTTP error status (``status``; 5xx/429 retryable)
    │   ├── BadResponse (ValueError)    malformed response, unsupported encoding, bad body
    │   ├── RobotsUnavailable           robots.txt unreachable (5xx, timeout), retryable
    │   └── AddressRefused              the address policy refused the address a URL resolves to
    ├── KuboError                       exit 1   the Kubo RPC API refused or failed a call
    ├── PinningError                    exit 1   a Pinning Service API refused or failed a call
    ├── PeerError                       exit 1   a peer broke the protocol or misbehaved
    └── IntegrityError                  exit 4   bytes do not match their hash or signature
        ├── BlockCorrupted              a stored block no longer matches its multihash
        ├── BlockMismatch               bytes offered for a CID do not hash to it
        ├── DagPBError (ValueError)     a dag-pb or UnixFS block is malformed or not canonical
        ├── CarError                    a CAR file is truncated or malformed
        ├── CIDMismatch                 Kubo computed another CID than ours
        ├── SignatureError              a feed entry or announcement fails verification
        ├── NoHonestHolder              every peer that had the content sent wrong bytes
        └── ContentMismatch             a CID's bytes are not the content a claim said they are
"""

from __future__ import annotations

import errno
import os

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_READY = 3
EXIT_INTEGRITY = 4


class MirrorError(Exception):
    """Root of every error openmirror raises on purpose."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MirrorError, ValueError):
    exit_code = EXIT_USAGE


class InvalidCID(UsageError):
    pass


class ConfigError(UsageError):
    pass


class UnknownProfile(UsageError):
    pass


class NotACollection(UsageError):
    pass


class NotReady(MirrorError, RuntimeError):
    exit_code = EXIT_NOT_READY


class NoHome(NotReady):
    """A command that only reads (search, status, cat...) was given a home that does not exist;
    it refuses rather than create an empty node."""


class HomeLocked(NotReady):
    """Another process serves a node on this home (``mirror.lock``)."""


class NotFound(MirrorError, LookupError):
    pass


# --- the environment ------------------------------------------------------------------------------
#   MirrorError ── DiskFull (OSError)   exit 3   a write failed for want of space (ENOSPC, EDQUOT,
#                                                EFBIG); the message names the disk, never the file
#                                                being read, and nothing stored is lost

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
FREE_SPACE_HINT = "free some space, then run the same command again: it resumes where it stopped"


class DiskFull(MirrorError, OSError):
    exit_code = EXIT_NOT_READY

    def __init__(self, message: str, *, hint: str | None = FREE_SPACE_HINT) -> None:
        super().__init__(message, hint=hint)
        self.errno = errno.ENOSPC
        self.strerror = message


def disk_full(exc: BaseException, where: object) -> DiskFull | None:
    """The ``DiskFull`` an OSError means (writing to WHERE, a path or a name), or None; the
    index's own (``indexer.errors.IndexDiskFull``) keeps its message, which names the index."""
    if isinstance(exc, DiskFull):
        return exc
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        message = getattr(exc, "message", None)
        if isinstance(message, str):
            return DiskFull(message, hint=getattr(exc, "hint", None) or FREE_SPACE_HINT)
        return DiskFull(f"no space left on the disk holding {where} ({os.strerror(exc.errno)})")
    return None


def is_disk_full(exc: BaseException) -> bool:
    """True for our DiskFull, the index's (``indexer.errors.IndexDiskFull``, errno ENOSPC too) and a
    bare OSError that means the disk is full."""
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS


class FetchError(MirrorError, OSError):
    """A fetch failed. ``retryable`` says whether trying again later may help."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable
        self.status = status


class TooLarge(FetchError):
    pass


class RedirectLoop(FetchError):
    pass


class PeerError(MirrorError):
    pass


class IntegrityError(MirrorError):
    exit_code = EXIT_INTEGRITY


class BlockCorrupted(IntegrityError):
    pass


class BlockMismatch(IntegrityError):
    pass


class CarError(IntegrityError):
    pass


class CIDMismatch(IntegrityError):
    pass


class SignatureError(IntegrityError):
    pass


def is_retryable(exc: BaseException) -> bool:
    """True when trying the same operation again later may succeed."""
    if isinstance(exc, FetchError):
        return exc.retryable
    return isinstance(exc, (TimeoutError, ConnectionError))


# --- store (blockstore, exporter, CAR, Kubo adapter) ---------------------------------------------
#   NotFound ── BlockNotFound (a block of the DAG is not in the local store; ``cid`` tells which)
#            └─ PathNotFound  (no such name inside a UnixFS directory)
#   UsageError ── BlockTooLarge (a block over the 2 MiB limit)
#   MirrorError ── KuboError (the Kubo RPC API refused or failed a call; ``status`` tells)

class BlockNotFound(NotFound):
    """A block is not in the local store."""

    def __init__(self, cid: object, message: str | None = None, *, hint: str | None = None) -> None:
        super().__init__(message or f"{cid} is not in the local store", hint=hint)
        self.cid = cid


class PathNotFound(NotFound):
    pass


class BlockTooLarge(UsageError):
    pass


class KuboError(MirrorError):
    """The Kubo RPC API answered with an error (``status`` is the HTTP status)."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class PinningError(MirrorError):
    """A Pinning Service API refused or failed a call (``status``: the HTTP status, if any)."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status

    @property
    def fatal(self) -> bool:
        """True when no later call can succeed either (auth, funds, server or network failure)."""
        return self.status is None or self.status in (401, 409) or self.status >= 500


class DagPBError(IntegrityError, ValueError):
    """A dag-pb or UnixFS block is malformed or not canonical (subclass of IntegrityError)."""


# --- fetch (mirror.fetch) ------------------------------------------------------------------------
#   FetchError ── TooLarge, RedirectLoop (above)
#              ├─ TooManyRedirects                more than fetch.max_redirects hops
#              ├─ FetchTimeout (TimeoutError)     connect, read or total timeout             retryable
#              ├─ ConnectionFailed (ConnectionError)  refused, reset or dropped connection   retryable
#              ├─ TruncatedBody                   body shorter than announced, broken stream retryable
#              ├─ BadStatus                       an HTTP error status (``status``; 5xx/429 retryable)
#              ├─ BadResponse (ValueError)        malformed response, unsupported encoding, bad body
#              ├─ RobotsUnavailable               robots.txt unreachable (5xx, timeout)      retryable
#              └─ AddressRefused                  a loopback, private or other non-global address
#                                                 the address policy refuses (mirror.fetch.guard)

class TooManyRedirects(FetchError):
    pass


class FetchTimeout(FetchError, TimeoutError):
    pass


class ConnectionFailed(FetchError, ConnectionError):
    pass


class HostUnreachable(ConnectionFailed):
    """No connection could be made: the name does not resolve (never retried), or the host
    refuses, times out or cannot be routed to (retried a little)."""


class TruncatedBody(FetchError):
    pass


class BadStatus(FetchError):
    """An HTTP error status; ``retry_after`` holds the server's Retry-After in seconds, if any, and
    ``body`` the first bytes of the answer (decoded; None if unread), for a caller that knows the
    API's error format."""

    retry_after: float | None = None
    body: bytes | None = None


class BadResponse(FetchError, ValueError):
    pass


class RobotsUnavailable(FetchError):
    pass


class AddressRefused(FetchError):
    """A connection was not made: the address a host resolves to is one the address policy refuses
    (``address``: that IP address). Never retryable. Raised by ``mirror.fetch.guard``'s connector
    while aiohttp resolves a host, so aiohttp hands it on as the ``os_error`` of a
    ``ClientConnectorError``; ``strerror`` is the message, which aiohttp prints."""

    def __init__(self, message: str, *, address: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.address = address
        self.strerror = message


# --- retrieval from peers (mirror.node.copies.retrieve) -------------------------------------------------
#   NotFound ── ContentUnavailable   no peer holds the content (or some of its blocks)
#   IntegrityError ── NoHonestHolder  every peer that had the content sent bytes that do not match

class ContentUnavailable(NotFound):
    pass


class BudgetExceeded(MirrorError):
    """A fetch stopped: the DAG passed the LIMIT bytes the storage budget left for it (what it
    fetched was removed again)."""

    def __init__(self, message: str, *, limit: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.limit = limit


class NoHonestHolder(IntegrityError):
    pass


class ContentMismatch(IntegrityError):
    """The bytes of a CID, reassembled, are not the sha256 and size a claim named."""
