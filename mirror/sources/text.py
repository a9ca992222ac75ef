"""Metadata text as sources write it: HTML markup and entity escapes reduced to plain text.

Repositories put markup in titles and descriptions in every way there is: HTML (``<p>``, ``<i>``),
HTML escaped once inside XML (Zenodo's DataCite descriptions arrive as ``&lt;p&gt;``, which the XML
parser turns into ``<p>``), escaped twice (``&amp;lt;p&amp;gt;``, seen in DSpace and OJS exports), and
numeric or named entities in plain text. ``plain_text`` undoes up to three levels of escaping, then
drops the markup (scripts and styles with their content; block elements become line breaks). Text
without markup or entities comes back unchanged (a CKAN description in Markdown keeps its lines).
"""

from __future__ import annotations

import html
import re

_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_TAG = re.compile(r"<(?:/?[a-zA-Z][a-zA-Z0-9:-]*(?:\s[^<>]*)?/?|!--.*?--)>", re.S)
_HIDDEN = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_BLOCK = re.compile(r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|table|blockquote|pre|section|dd|dt)\b[^<>]*>", re.I)
MAX_ROUNDS = 3


def plain_text(value: str) -> str:
    """VALUE without markup or entity escapes (see the module docstring)."""
    text = value
    for _ in range(MAX_ROUNDS):
        if not _ENTITY.search(text):
            break
        text = html.unescape(text)
    if not _TAG.search(text):
        return text if text is value else text.strip()
    text = _BLOCK.sub("\n", _HIDDEN.sub("", text))
    text = html.unescape(_TAG.sub("", text))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
