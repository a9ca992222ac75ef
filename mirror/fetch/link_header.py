"""The HTTP ``Link`` header (RFC 8288): every link of every ``Link`` value, with its parameters.

Read for licences (``rel="license"``) and for FAIR Signposting (``rel="item"``: the files that are
the item's content, as DSpace 7 and Zenodo announce them). Input is hostile: the parser never raises
and skips what it cannot read.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, Mapping

# one link-value: <uri> then parameters up to a top-level comma (quoted strings may hold commas)
_LINK = re.compile(r'\s*<([^>]*)>((?:[^,"]|"(?:[^"\\]|\\.)*")*)')
_PARAM = re.compile(r';\s*([^\s;=,]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^\s;,]*))?')


def _link_values(value: str) -> Iterable[tuple[str, dict[str, str]]]:
    pos = 0
    while pos < len(value):
        m = _LINK.match(value, pos)
        if not m:
            nxt = value.find("<", pos + 1)
            if nxt < 0:
                return
            pos = nxt
            continue
        params = {k.lower(): v.strip('"') for k, v in _PARAM.findall(m.group(2))}
        yield m.group(1).strip(), params
        pos = m.end() + 1


def _header_values(headers: Any, name: str) -> list[str]:
    if hasattr(headers, "getall"):
        return list(headers.getall(name, []))
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [v for k, v in items if k.lower() == name.lower()]



def link_values(headers: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """(target, parameters with lower-case names) of every link in HEADERS' ``Link`` values;
    HEADERS may be a dict, a multidict (all values are read) or a list of pairs."""
    for value in _header_values(headers, "link"):
        yield from _link_values(value)
