"""The process a long command runs in: its garbage collector and its exit.

``tune_collector`` is called once the command's modules are imported and before its work starts: the
objects of every imported module are moved out of the collector's sight (``gc.freeze``) and the
youngest generation is collected after 10,000 allocations instead of 700. A harvest allocates
millions of short-lived objects; with the defaults, collections took 0.35-0.5 s of CPU in
``openmirror mirror`` of 5,000 small documents here, most of it full collections walking the
import-time heap again and again; tuned, 0.07-0.13 s (``gc.callbacks`` timing, same runs).

``leave`` ends the process without tearing the interpreter down once the command's work is done
(every file and the index closed, the output written): Python's own shutdown, clearing every
module and freeing every object one by one, took 0.2-0.6 s after ``openmirror mirror`` of 400 MB
here (between its last ``atexit`` hook and the end of the process). Output is flushed first.
Nothing durable is at stake: what a command stored is committed before it returns, and a kill at
that point loses nothing either.

The read-only one-shot commands (``search``, ``show``, ``stats``, ``status``) leave the same way once
their output is written: tearing down the modules SQLAlchemy brings took 0.06-0.13 s after a
``show`` or a ``status`` here, longer than their work on 3,000 documents.

Only the console entry point arms ``leave`` (``arm``): a command run in-process, by the tests'
CLI runner for instance, exits the ordinary way and leaves the collector as it was.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from typing import NoReturn

YOUNG_THRESHOLD = 10_000
_armed = False


def arm() -> None:
    """This process is the command's own (the console entry point)."""
    global _armed
    _armed = True


def tune_collector() -> None:
    """Tune the collector for a long command (see the module docstring); only when armed."""
    if _armed:
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def leave(code: int) -> NoReturn:
    """Exit with CODE: at once when armed (output flushed first), else with ``sys.exit``."""
    if _armed:
        try:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):    # a closed pipe: let the ordinary exit report it
            pass
        else:
            os._exit(code)
    sys.exit(code)
