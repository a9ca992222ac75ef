"""Find the licence statements of a web page where pages and HTTP responses put them.

Statements are returned as found (URLs resolved against the page), in document order, without
duplicates; ``mirror.licenses.decide`` judges them. Only statements about the page count: one about
media embedded in it (a ``rel="license"`` in a ``<figure>``, a caption or an image credit; JSON-LD
``license`` of an ``ImageObject``; see ``mirror.license_context``) is left out, for it says nothing
about the page's text. Read here:

- ``<link rel="license">``, ``<a rel="license">`` (``rel`` is a token list; ``cc:license``,
  ``dcterms.license`` and ``dc.rights`` count too), and ``itemprop="license"`` microdata;
- ``<meta name=...>`` Dublin Core and citation tags: ``DC.rights``, ``DCTERMS.license``,
  ``dcterms.rights``, ``citation_license`` ... (names are case-insensitive);
- schema.org JSON-LD ``license``: a string, an object with ``url``/``@id``/``name``, or a list,
  anywhere in the tree (``@graph`` and nested objects included) except in media nodes
  (``ImageObject``, ``VideoObject``...) and under media properties (``image``, ``video``, ``logo``...);
- licence sentences in the page's own footer, copyright or licence section (``mirror.license_prose``);
- the HTTP ``Link`` header: ``<...>; rel="license"`` (several links per header, quoted rel lists).

Input is hostile: parsing never raises on malformed markup or JSON, and the JSON-LD walk is bounded.
"""

from __future__ import annotations

import json
from typing import Any, Iterable
from urllib.parse import urljoin

import lxml.etree
import lxml.html

from mirror.fetch.link_header import link_values
from mirror.license_context import MEDIA_TYPES, in_media
from mirror.license_prose import prose_statements

_REL_TOKENS = {"license", "cc:license", "dc.rights", "dc:rights", "dcterms.license", "dcterms:license",
               "dcterms.rights", "dcterms:rights", "dc.license", "dc:license", "schema:license"}
_META_NAMES = _REL_TOKENS | {"dc.rights.license", "citation_license", "dc.rights.uri", "prism.license"}
_LD_KEYS = {"license", "schema:license", "http://schema.org/license", "https://schema.org/license"}
_LD_MEDIA_KEYS = {"image", "video", "audio", "associatedmedia", "thumbnail", "thumbnailurl", "logo",
                  "primaryimageofpage", "photo", "photos", "screenshot"}
_LD_MAX_DEPTH = 32
_LD_MAX_NODES = 20_000


def _tokens(value: str | None) -> set[str]:
    return set((value or "").lower().split())


def _parse_html(html: str | bytes) -> Any:
    if not html:
        return None
    parser = lxml.html.HTMLParser(recover=True, no_network=True, huge_tree=False)
    try:
        return lxml.html.fromstring(html, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _element_statements(root: Any, base_url: str) -> list[str]:
    found = []
    for el in root.iter("link", "a", "area", "meta"):
        marks = _tokens(el.get("rel")) | _tokens(el.get("itemprop")) | _tokens(el.get("property"))
        if el.tag == "meta":
            if marks & _REL_TOKENS or (el.get("name") or "").strip().lower() in _META_NAMES:
                found.append((el, (el.get("content") or "").strip()))
        elif marks & _REL_TOKENS and (el.get("href") or "").strip():
            found.append((el, urljoin(base_url, el.get("href").strip())))
    return [statement for el, statement in found if not in_media(el, base_url)]


def _ld_values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.strip()]
    if isinstance(value, dict):
        for key in ("url", "@id", "id", "name"):
            if isinstance(value.get(key), str):
                return [value[key].strip()]
    if isinstance(value, list):
        return [s for v in value[:100] if not isinstance(v, list) for s in _ld_values(v)]
    return []


def _jsonld_statements(text: str) -> list[str]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return []
    found: list[str] = []
    stack: list[tuple[Any, int]] = [(data, 0)]
    budget = _LD_MAX_NODES
    while stack and budget > 0:
        node, depth = stack.pop()
        budget -= 1
        if depth > _LD_MAX_DEPTH:
            continue
        if isinstance(node, list):
            stack.extend((n, depth + 1) for n in reversed(node))
        elif isinstance(node, dict) and not _ld_media(node):
            for key, value in node.items():
                if key in _LD_KEYS:
                    found.extend(_ld_values(value))
                elif isinstance(value, (dict, list)) and _ld_name(key) not in _LD_MEDIA_KEYS:
                    stack.append((value, depth + 1))
    return found


def _ld_name(key: str) -> str:
    """``schema:image``, ``https://schema.org/image`` -> ``image``."""
    return key.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()


def _ld_media(node: dict[str, Any]) -> bool:
    kinds = node.get("@type") or node.get("type") or []
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return any(isinstance(k, str) and _ld_name(k) in MEDIA_TYPES for k in kinds)


def from_html(html: str | bytes, base_url: str) -> list[str]:
    """Licence statements in an HTML page, as found; relative URLs resolved against ``base_url``."""
    root = _parse_html(html)
    return [] if root is None else from_document(root, base_url)


def from_document(root: Any, base_url: str) -> list[str]:
    """``from_html`` of a page parsed already (an lxml.html tree)."""
    found = _element_statements(root, base_url)
    for el in root.iter("script"):
        kind = (el.get("type") or "").split(";")[0].strip().lower()
        if kind == "application/ld+json" and el.text:
            found.extend(_jsonld_statements(el.text))
    return _dedupe(found + prose_statements(root, base_url))


def from_link_header(headers: Any, base_url: str | None = None) -> list[str]:
    """Licence URLs in HTTP ``Link`` headers (``rel="license"``); ``headers`` may be a dict, a
    multidict (all ``Link`` values are read) or a list of pairs."""
    found = []
    for url, params in link_values(headers):
        if url and _tokens(params.get("rel")) & _REL_TOKENS:
            found.append(urljoin(base_url, url) if base_url else url)
    return _dedupe(found)
