"""What a page's schema.org JSON-LD says about the page's own work: its authors.

The work is the first node (at the top, in ``@graph``, or as a ``mainEntity``) of a creative-work
type: Article and its kinds, BlogPosting, Book, Dataset, Report, Thesis, WebPage... Its ``author``
(or ``creator``) is a name, a Person (``name``, else ``givenName`` and ``familyName``), an
Organization, or a list of them. Input is hostile: bad JSON is skipped and the walk is bounded.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

WORK_TYPES = frozenset({
    "article", "scholarlyarticle", "newsarticle", "blogposting", "techarticle", "report", "book",
    "chapter", "thesis", "dataset", "creativework", "webpage", "medicalscholarlyarticle", "collection",
    "publicationissue", "course", "learningresource", "softwaresourcecode", "presentationdigitaldocument",
    "digitaldocument", "textdigitaldocument", "map", "musiccomposition", "poster"})
MAX_NODES = 2000


def jsonld_authors(scripts: list[str]) -> list[str]:
    """The authors of the first work described in SCRIPTS (the texts of ``ld+json`` scripts)."""
    for node in _nodes(scripts):
        if _is_work(node):
            found = [name for key in ("author", "creator") for name in _names(node.get(key))]
            if found:
                return list(dict.fromkeys(found))
    return []


def _nodes(scripts: list[str]) -> Iterator[dict[str, Any]]:
    budget = MAX_NODES
    for text in scripts:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            continue
        queue = [data]
        while queue and budget > 0:
            node = queue.pop(0)
            budget -= 1
            if isinstance(node, list):
                queue.extend(node[:100])
            elif isinstance(node, dict):
                yield node
                queue.extend(v for k, v in node.items()
                             if k in ("@graph", "mainEntity") and isinstance(v, (dict, list)))


def _is_work(node: dict[str, Any]) -> bool:
    kinds = node.get("@type") or []
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return any(isinstance(k, str) and k.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() in WORK_TYPES
               for k in kinds)


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [" ".join(value.split())] if value.strip() else []
    if isinstance(value, list):
        return [name for item in value[:200] for name in _names(item)]
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and name.strip():
            return [" ".join(name.split())]
        parts = [p.strip() for k in ("familyName", "givenName") if isinstance(p := value.get(k), str) and p.strip()]
        return [", ".join(parts)] if parts else []
    return []
