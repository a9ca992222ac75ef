"""Progress bars on stderr, in one style: the total whenever it is known, sizes in IEC units, bytes/s.

    with bars() as bar:
        task = bar.add_task("mirror", total=None, unit="items", bytes=0, detail="")
        bar.update(task, advance=1, total=40, bytes=1536, detail="stored 1")

A task counts ``items`` (records, entries: ``12/40``, or ``12/?`` while the total is unknown) or
``bytes`` (``1.2 MiB / 40.0 MiB``). Its speed is bytes per second: the task's ``bytes`` field (the
bytes stored while counting items), or its count when it counts bytes; averaged over the run.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from cli.output import stderr_console
from mirror.units import format_rate, format_size


def _moved(task: Task) -> float | None:
    if task.fields.get("unit") == "bytes":
        return task.completed
    moved = task.fields.get("bytes")
    return float(moved) if moved is not None else None


class CountColumn(ProgressColumn):
    """``done/total`` (``?`` for a total not known yet), in sizes for a task counting bytes."""

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") == "bytes":
            total = f" / {format_size(task.total)}" if task.total is not None else ""
            return Text(format_size(task.completed) + total)
        total = "?" if task.total is None else str(int(task.total))
        return Text(f"{int(task.completed)}/{total}")


class SizeColumn(ProgressColumn):
    """The bytes stored by a task that counts items (empty for others)."""

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") == "bytes" or task.fields.get("bytes") is None:
            return Text("")
        return Text(format_size(task.fields["bytes"]))


class RateColumn(ProgressColumn):
    """Bytes per second since the task started."""

    def render(self, task: Task) -> Text:
        moved, elapsed = _moved(task), task.elapsed
        if moved is None or not elapsed:
            return Text("")
        return Text(format_rate(moved / elapsed))


@contextmanager
def bars(transient: bool = False) -> Iterator[Progress]:
    """A rich Progress on stderr with the columns of the module docstring."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), CountColumn(), SizeColumn(),
               RateColumn(), TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
    with Progress(*columns, console=stderr_console, transient=transient) as progress:
        yield progress
