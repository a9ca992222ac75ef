"""Rate-limited logging: a flood of requests cannot fill the disk with log lines.

Anyone can make a public node write a log line: a malformed request makes aiohttp log an error
with its traceback, a failing or refused peer a warning, a connection over a cap a line of its
own. ``LogLimiter`` is a ``logging.Filter`` that lets through at most ``burst`` records of one
*kind* (the same logger and the same message template, whatever the arguments) at once, then
``rate`` per second; the records it holds back are counted, and the next record of that kind that
passes ends with ``[N similar lines suppressed]``. So a flood of one kind costs at most one line
every ``1 / rate`` seconds, and the templates are the code's, so their number is bounded too.

    limit_logs()        # once per process: the node's, the index's and aiohttp's loggers

A filter on a logger applies to the records made on that logger, not to its children's, so
``limit_logs`` installs one shared limiter on every logger of those families that exists (all of
the node's modules are imported by then) and on the names aiohttp and asyncio log to.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from mirror.node.limits import TokenBucket

FAMILIES = ("mirror", "indexer", "aiohttp")
NAMES = ("mirror.node.server", "aiohttp.server", "aiohttp.access", "aiohttp.web", "aiohttp.client",
         "aiohttp.internal", "asyncio")
BURST = 20                         # records of one kind let through at once
RATE = 0.1                         # ... then one every ten seconds
MAX_KINDS = 1000                   # kinds remembered (least recently seen forgotten first)


class LogLimiter(logging.Filter):
    """See the module docstring. ``suppressed`` counts every record held back."""

    def __init__(self, burst: float = BURST, rate: float = RATE) -> None:
        super().__init__()
        self.burst, self.rate = burst, rate
        self.suppressed = 0
        self._kinds: OrderedDict[tuple[str, str], tuple[TokenBucket, int]] = OrderedDict()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
        key = (record.name, template[:200])
        with self._lock:
            bucket, held = self._kinds.pop(key) if key in self._kinds else (TokenBucket(self.rate, self.burst), 0)
            passes = bucket.take(time.monotonic()) == 0.0
            self._kinds[key] = (bucket, 0 if passes else held + 1)
            if len(self._kinds) > MAX_KINDS:
                self._kinds.popitem(last=False)
            if not passes:
                self.suppressed += 1
                return False
        if held:
            record.msg = f"{record.getMessage()} [{held} similar lines suppressed]"
            record.args = None
        return True


_LIMITER = LogLimiter()


def limit_logs(limiter: LogLimiter = _LIMITER) -> LogLimiter:
    """Install LIMITER (one per process by default) on the loggers a node writes to; idempotent."""
    names = {n for n in logging.root.manager.loggerDict if n.split(".", 1)[0] in FAMILIES}
    for name in names | set(NAMES):
        logger = logging.getLogger(name)
        if limiter not in logger.filters:
            logger.addFilter(limiter)
    return limiter
