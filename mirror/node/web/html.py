"""Building the node's HTML pages with lxml: escaping by construction, one layout, safe links.

Pages are element trees, never strings pasted together: every text and attribute value goes
through ``h`` (which drops characters XML cannot hold, see ``mirror.node.web.xmltext``) and lxml
escapes it when the page is serialised. So a title such as ``<script>alert(1)</script>`` is
shown as text. Links taken from mirrored metadata are made only for ``http``/``https`` URLs
(``external_link``); anything else (``javascript:``, ``data:``) is shown as plain text.

The layout gives every page the same accessible frame: ``lang``, a skip link to ``<main>``, one
``<h1>`` (the caller's), the stylesheet served by the node itself, and no script at all, so the
Content-Security-Policy of ``SECURITY_HEADERS`` can forbid every inline or foreign resource.
"""

from __future__ import annotations

import functools
import re
from typing import Iterable, Union
from urllib.parse import quote, urlsplit

from aiohttp import web
from lxml import etree

from mirror.node.http import SECURITY_HEADERS

from mirror.licenses import license_url
from mirror.node.web.xmltext import clean

Element = etree._Element
Child = Union[Element, str, None]

_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?\.?(?::\d{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?")


def site_name(name: str, node_id: str, host: str | None = None) -> str:
    """The node's name (setting ``node.name``), else the host it was reached by (a well-formed
    host name or address, and port), else ``openmirror node`` and the start of its id."""
    if name:
        return name
    if host and len(host) <= 260 and _HOST.fullmatch(host):
        return host
    return f"openmirror node {node_id[:12]}"


def h(tag: str, *children: Child | Iterable[Child], **attrs: object) -> Element:
    """An element; ``None`` children and attributes are left out, strings are cleaned.

    Attribute names drop one trailing ``_`` and turn ``_`` into ``-`` (``class_``, ``aria_label``);
    ``True`` gives an empty (boolean) attribute and ``False`` none. Children may be nested lists.
    """
    element = etree.Element(tag)
    for name, value in attrs.items():
        if value is not None and value is not False:
            element.set(_attr_name(name), "" if value is True else clean(value))
    _extend(element, children)
    return element


@functools.lru_cache(maxsize=256)
def _attr_name(name: str) -> str:
    return name.rstrip("_").replace("_", "-")


def _extend(element: Element, children: Iterable[object]) -> None:
    for child in children:
        if child is None:
            continue
        if isinstance(child, str):
            if len(element):
                last = element[-1]
                last.tail = (last.tail or "") + clean(child)
            else:
                element.text = (element.text or "") + clean(child)
        elif isinstance(child, Element):
            element.append(child)
        else:
            _extend(element, child)  # type: ignore[arg-type]


def page(title: str, site_name: str, *content: Child | Iterable[Child],
         stylesheet: str = "/static/site.css") -> Element:
    """The whole document: head, skip link, site header, ``<main>`` with CONTENT, footer."""
    head = h("head", h("meta", charset="utf-8"),
             h("meta", name="viewport", content="width=device-width, initial-scale=1"),
             h("title", f"{title} · {site_name}"),
             h("link", rel="stylesheet", href=stylesheet))
    header = h("header", h("p", h("a", site_name, href="/"), class_="brand"),
               h("nav", h("ul", h("li", h("a", "Search", href="/")),
                          h("li", h("a", "Collections", href="/collection/")),
                          h("li", h("a", "OAI-PMH", href="/oai?verb=Identify"))),
                 aria_label="Site"),
               class_="site")
    body = h("body", h("a", "Skip to main content", href="#main", class_="skip"), header,
             h("main", *content, id="main", tabindex="-1"),
             h("footer", h("p", "Served by an openmirror node. Every file is addressed by its "
                                "CID and can be fetched from any node that holds it.")))
    return h("html", head, body, lang="en")


def render(root: Element, status: int = 200) -> web.Response:
    """The page as an HTML response with the node's security headers."""
    body = etree.tostring(root, doctype="<!DOCTYPE html>", encoding="utf-8", method="html")
    return web.Response(body=body, status=status, content_type="text/html", charset="utf-8",
                        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


def is_web_url(url: str | None) -> bool:
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def external_link(url: str | None) -> Child:
    """A link to an http(s) URL from metadata, else the value as text (None for nothing)."""
    if not url:
        return None
    if not is_web_url(url):
        return h("span", url)
    return h("a", url, href=url.strip(), rel="nofollow noopener noreferrer")


def license_badge(spdx: str | None, url: str | None = None) -> Element:
    """The SPDX id as a badge, linked to the licence text (``url`` or the canonical one)."""
    if not spdx:
        return h("span", "licence unknown", class_="badge badge-unknown")
    target = url if is_web_url(url) else license_url(spdx)
    if not target:
        return h("span", spdx, class_="badge")
    return h("a", spdx, href=target, class_="badge", rel="license noopener noreferrer",
             title=f"Licence: {spdx}")


def download_href(cid: str, filename: str | None) -> str:
    """``/ipfs/{cid}?filename=...`` through the node's own gateway."""
    href = f"/ipfs/{quote(cid, safe='')}"
    return href + (f"?filename={quote(filename, safe='')}" if filename else "")


def doc_href(cid: str) -> str:
    return f"/doc/{quote(cid, safe='')}"


def collection_href(name: str) -> str:
    return f"/collection/{quote(name, safe='')}"


def table(caption: str | None, rows: Iterable[tuple[str, Child | Iterable[Child]]],
          class_: str = "facts") -> Element:
    """A two-column table of (label, value) rows with row headers; empty values are left out."""
    body = [h("tr", h("th", label, scope="row"), h("td", value))
            for label, value in rows if value not in (None, "", [])]
    return h("table", h("caption", caption) if caption else None, h("tbody", body), class_=class_)
