"""A running node's log records, written to stderr by a writer thread (``cli.logs``, node mode):
only ``serve`` and ``join`` load ``logging.handlers`` (and the socket and pickle modules it
brings), so one-shot commands start without them."""

from __future__ import annotations

import logging
import queue
from logging.handlers import QueueHandler, QueueListener


class _Enqueue(QueueHandler):
    """Hands the record itself to the writer thread, its message merged with its arguments
    (the thread's formatter escapes the message and writes a traceback as usual)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.msg, record.args = record.getMessage(), None
        return record


def start(stream: logging.Handler) -> tuple[logging.Handler, QueueListener]:
    """(the handler to attach, the started listener writing its records through STREAM)."""
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = QueueListener(records, stream, respect_handler_level=True)
    listener.start()
    return _Enqueue(records), listener
