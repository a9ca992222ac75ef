"""Parse untrusted XML safely: no entity expansion, no network, no DTD, no huge trees.

Every XML body a source reads (OAI-PMH responses, sitemaps) came from the network, so the parser
never resolves entities or fetches anything, and lxml's own limits against huge trees stay on.
"""

from __future__ import annotations

import io
from typing import Any, Iterator

from lxml import etree

from mirror.errors import FetchError

_SAFE: dict[str, Any] = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_xml(body: bytes, url: str) -> etree._Element:
    """The root element of ``body``; FetchError (not retryable) when it is not well-formed XML."""
    parser = etree.XMLParser(remove_blank_text=True, **_SAFE)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise FetchError(f"{url}: not well-formed XML ({exc})") from exc
    if root is None:
        raise FetchError(f"{url}: empty XML document")
    return root


def iter_elements(body: bytes, tag: str, url: str) -> Iterator[etree._Element]:
    """Yield each ``tag`` element (Clark notation allowed) of ``body`` in document order, keeping
    memory bounded: each element is cleared once the caller has moved past it."""
    events = etree.iterparse(io.BytesIO(body), events=("end",), tag=tag, **_SAFE)
    try:
        for _, element in events:
            yield element
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as exc:
        raise FetchError(f"{url}: not well-formed XML ({exc})") from exc


def local_name(element: etree._Element) -> str:
    """The tag without its namespace."""
    return etree.QName(element).localname


def text_of(element: etree._Element | None) -> str:
    """The element's whole text, whitespace collapsed; ``""`` for None."""
    if element is None:
        return ""
    return " ".join("".join(str(t) for t in element.itertext()).split())
