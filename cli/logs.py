"""Log output on stderr: which loggers speak at which verbosity, and one line per record.

    quiet (-q)        errors only
    default           warnings (a running node: its own work at INFO too)
    -v                openmirror's INFO
    -vv               openmirror's DEBUG
    -vvv              everyone's DEBUG (aiohttp, sqlalchemy, asyncio, ...)

Third-party loggers stay at WARNING below ``-vvv``. Messages often carry strings from the network
(a peer's error text, a URL, a record id); ``SafeFormatter`` escapes their line breaks and other
control characters, so a remote string can neither forge a log line nor move the cursor.

A running node logs from its event loop, where a write to a slow terminal or a full pipe would stall
every connection: there records go through a queue to a writer thread (``QueueListener``), as the
asyncio documentation advises; a one-shot command writes directly.
"""

from __future__ import annotations

import atexit
import logging
import sys
from typing import TYPE_CHECKING

OURS = ("mirror", "indexer", "cli")
_FORMAT = "%(levelname)s %(name)s: %(message)s"
_NODE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_DATE = "%Y-%m-%d %H:%M:%S"
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
if TYPE_CHECKING:
    from logging.handlers import QueueListener

_handler: logging.Handler | None = None
_listener: QueueListener | None = None


def escape_controls(text: str) -> str:
    """TEXT with every non-printable character written as an escape (``\\n``, ``\\x1b``, ``\\u2028``)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class SafeFormatter(logging.Formatter):
    """A formatter whose message part is one line of printable text; a traceback (exc_info) is
    still written below it as usual."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def configure(verbose: int = 0, quiet: bool = False, *, node: bool = False) -> None:
    """Send log records to stderr at the levels of the module docstring (NODE: a running node,
    whose records a writer thread writes)."""
    global _handler, _listener
    reset()
    root = logging.getLogger()
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(SafeFormatter(_NODE_FORMAT if node else _FORMAT, _DATE))
    if node:
        from cli import log_queue

        _handler, _listener = log_queue.start(stream)
    else:
        _handler = stream
    root.addHandler(_handler)
    root.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose >= 3 else logging.WARNING)
    ours = _our_level(verbose, quiet, node)
    for name in OURS:                       # a level of their own only where it differs from the
        logging.getLogger(name).setLevel(logging.NOTSET if ours == root.level else ours)   # root's


def reset() -> None:
    """Remove what ``configure`` installed, writing out what the writer thread still holds."""
    global _handler, _listener
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler = None
    if _listener is not None:
        _listener.stop()
        _listener = None


atexit.register(reset)


def _our_level(verbose: int, quiet: bool, node: bool) -> int:
    if quiet:
        return logging.ERROR
    if verbose >= 2:
        return logging.DEBUG
    if verbose == 1 or node:
        return logging.INFO
    return logging.WARNING
