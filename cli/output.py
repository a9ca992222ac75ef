"""One renderer for table / --json / NDJSON. stdout carries data only; progress goes to stderr.

rich loads only to draw a table or to write on ``stderr_console`` (a module attribute made on
first use): JSON, CSV and piped output, the path of scripts, start without it.
"""

from __future__ import annotations

import csv
import functools
import json
import sys
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:
    from rich.console import Console

    stderr_console: Console


def __getattr__(name: str) -> Any:
    if name == "stderr_console":
        return _stderr_console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _stderr_console() -> "Console":
    from rich.console import Console

    return Console(stderr=True)


def to_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=False, default=str)


def emit_json(obj: Any) -> None:
    sys.stdout.write(to_json(obj) + "\n")
    sys.stdout.flush()


FORMATS = ("table", "json", "csv")


def emit_rows(rows: Iterable[dict[str, Any]], columns: Sequence[str], *, as_json: bool = False,
              title: str | None = None, fmt: str | None = None) -> None:
    """Rows in FMT (sqlite-utils' choices): ``json`` one object per line (as ``as_json``), ``csv``
    with a header of COLUMNS, ``table`` an aligned table; without FMT a table on a terminal and
    tab-separated lines when piped. Text cells are printable (``printable``): a value from the
    network cannot move the cursor or break a line."""
    fmt = "json" if as_json else fmt
    if fmt == "json":
        for row in rows:
            emit_json(row)
        return
    rows = list(rows)
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_text(row.get(c)) for c in columns] for row in rows)
    elif fmt == "table" or sys.stdout.isatty():
        _emit_table(rows, columns, title)
    else:
        for row in rows:
            sys.stdout.write("\t".join(_text(row.get(c)) for c in columns) + "\n")


def _emit_table(rows: list[dict[str, Any]], columns: Sequence[str], title: str | None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*[Text(_text(row.get(c))) for c in columns])       # Text: no markup
    Console(width=None if sys.stdout.isatty() else 10_000, highlight=False).print(table)


def emit_mapping(data: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        emit_json(data)
        return
    width = max((len(k) for k in data), default=0)
    for key, value in data.items():
        sys.stdout.write(f"{key.ljust(width)}  {_cell(value)}\n")


def printable(text: str) -> str:
    """TEXT for a terminal: control characters (escape sequences a remote source may have put into
    an id or a message) become U+FFFD."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def _text(value: Any) -> str:
    return printable(_cell(value))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return to_json(value)
    return str(value)
