"""Which files of a website crawl are kept, the way wget's ``--accept`` and ``--reject`` say it.

    names = NameFilter.parse(accept=["pdf,csv"], reject=["*draft*"])
    names.admits("https://h/docs/report.pdf")        # True
    names.filter(record)                             # the record with only the files admitted

Each list is comma-separated (and the options repeatable). An item with a wildcard (``*``, ``?``,
``[``) is a pattern matched against the whole file name; any other item is a suffix (``pdf``
matches ``report.pdf``). Matching ignores case. A name is admitted when it matches an accept item
(or there is none) and no reject item. The name is the URL's last path segment, percent-decoded;
an HTML page is also known as ``NAME.html`` (``index.html`` for a folder URL), so ``--accept html``
keeps pages and ``--reject html`` leaves them.

Pages are read whatever the filter says (their links lead to the files); a page record keeps only
the files admitted (the page itself, a PDF it declares), and a record left with none is skipped as
``filtered``: counted, not fetched, not stored.
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass, replace
from typing import Iterable
from urllib.parse import unquote, urlsplit

from mirror.sources.base import FileRef, Record

FILTERED = "filtered"
_WILDCARDS = ("*", "?", "[")
_PAGE_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class NameFilter:
    accept: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()

    @classmethod
    def parse(cls, accept: Iterable[str] = (), reject: Iterable[str] = ()) -> "NameFilter":
        def items(values: Iterable[str]) -> tuple[str, ...]:
            return tuple(i.strip().lower() for v in values for i in v.split(",") if i.strip())
        return cls(items(accept), items(reject))

    def __bool__(self) -> bool:
        return bool(self.accept or self.reject)

    def admits(self, url: str, media_type: str | None = None) -> bool:
        names = _names(url, media_type)
        if self.accept and not any(_matches(item, name) for item in self.accept for name in names):
            return False
        return not any(_matches(item, name) for item in self.reject for name in names)

    def filter(self, record: Record) -> Record:
        """RECORD with only the files admitted; skipped as ``filtered`` when none is."""
        if not self or record.skipped or record.error or not record.files:
            return record
        kept = tuple(ref for ref in record.files if self.admits_file(ref))
        if len(kept) == len(record.files):
            return record
        return replace(record, files=kept) if kept else replace(record, files=(), skipped=FILTERED)

    def admits_file(self, ref: FileRef) -> bool:
        return self.admits(ref.url, ref.media_type)


def _names(url: str, media_type: str | None) -> list[str]:
    name = unquote(posixpath.basename(urlsplit(url).path)).lower()
    if (media_type or "").split(";")[0].strip().lower() in _PAGE_TYPES and "." not in name:
        return [name, f"{name}.html" if name else "index.html"]
    return [name]


def _matches(item: str, name: str) -> bool:
    if any(w in item for w in _WILDCARDS):
        return fnmatch.fnmatchcase(name, item)
    return bool(name) and name.endswith(item)
