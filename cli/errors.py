"""The one place that turns errors into ``Error: ...`` + ``Hint: ...`` and an exit code."""

from __future__ import annotations

import errno
import functools
import sys
from typing import Any, Callable

import click

from cli.output import printable
from mirror.errors import EXIT_FAILURE, EXIT_NOT_READY, EXIT_USAGE, FREE_SPACE_HINT, MirrorError, is_disk_full

from indexer.errors import IndexError_ as _IndexErr  # the index's own tree (indexer never imports mirror)


def report(message: str, hint: str | None = None) -> None:
    """``Error: MESSAGE`` and ``Hint: HINT``, one line each: a message may quote a remote string, so
    control characters (line breaks, escape sequences) are shown as U+FFFD."""
    click.echo(f"Error: {printable(message)}", err=True)
    if hint:
        click.echo(f"Hint: {printable(hint)}", err=True)


def exit_code_for(exc: BaseException) -> int:
    code = getattr(exc, "exit_code", None)
    return code if isinstance(code, int) else EXIT_FAILURE


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body; our errors become one line and an exit code, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except MirrorError as exc:
            report(exc.message, exc.hint)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            report("interrupted")
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(0)
        except Exception as exc:
            if isinstance(exc, _IndexErr):
                report(str(exc), getattr(exc, "hint", None))
                sys.exit(exit_code_for(exc))
            if isinstance(exc, OSError) and is_disk_full(exc):   # not translated on its way
                report(f"no space left on the disk ({exc.strerror or exc})", FREE_SPACE_HINT)
                sys.exit(EXIT_NOT_READY)
            if isinstance(exc, OSError) and exc.errno == errno.EROFS:
                report(f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc),
                       "the home is on a read-only file system: remount it read-write, or use a home "
                       "on a writable disk (--home)")
                sys.exit(EXIT_NOT_READY)
            if isinstance(exc, OSError):
                report(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
                sys.exit(EXIT_FAILURE)
            raise

    return wrapper


__all__ = ["handle_errors", "report", "exit_code_for", "EXIT_USAGE"]
