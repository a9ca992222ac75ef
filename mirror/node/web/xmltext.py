"""Text that XML 1.0 (and lxml's HTML serialiser) can hold, from hostile metadata.

Mirrored metadata may carry NUL bytes, other control characters, lone surrogates or the
non-characters U+FFFE/U+FFFF; lxml refuses such strings. ``clean`` drops them (tab, newline and
carriage return stay) and bounds the length, so building a page or an OAI-PMH response from any
document never fails and never needs escaping by hand: lxml escapes on serialisation.
"""

from __future__ import annotations

import re

MAX_TEXT = 100_000      # characters of one value shown (a description, a licence statement)

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: object, limit: int = MAX_TEXT) -> str:
    """``text`` as a string without characters XML 1.0 forbids, cut to ``limit`` characters."""
    value = text if isinstance(text, str) else str(text)
    if len(value) > limit:
        value = value[:limit] + "…"
    if value.isascii() and value.isprintable():      # the usual case: nothing to drop
        return value
    return _NOT_XML.sub("", value)
