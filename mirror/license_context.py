"""Where on a web page an element sits, for the licence readers: on the page, in embedded media, or
in furniture around it.

A page's licence is the licence of the page, not of what is embedded in it. An element is *media*
when it sits in ``<figure>``, ``<figcaption>``, ``<picture>``, ``<video>``, ``<audio>``,
``<object>`` or ``<embed>``, in an element whose class or id names a caption, a credit, a gallery or
a thumbnail (WordPress ``wp-caption``, MediaWiki ``thumbcaption``, ``image-credit``...), in microdata
of a media type (``ImageObject``, ``VideoObject``...), or in RDFa ``about`` another resource than
the page. It is *furniture* when it sits in ``<aside>`` or ``<nav>`` (ARIA complementary and
navigation), or in an element whose class or id names a sidebar, a widget, comments, related items
or an advert. Rel-license markup counts unless it is media (a licence badge in a sidebar is the
site's); prose counts only in a page-level section and never in media or furniture
(``mirror.license_prose``).
"""

from __future__ import annotations

import re
from typing import Any

MEDIA_TAGS = frozenset({"figure", "figcaption", "picture", "video", "audio", "object", "embed"})
FURNITURE_TAGS = frozenset({"aside", "nav"})
MEDIA_TYPES = frozenset({"imageobject", "videoobject", "audioobject", "mediaobject", "photograph",
                         "3dmodel", "imagegallery", "mediagallery"})
_MEDIA_STARTS = ("caption", "gallery", "thumb", "lightbox", "carousel", "slideshow")
_MEDIA_NAMES = frozenset({"credit", "imagecredit", "photocredit", "mediacredit"})
_MEDIA_NOUNS = frozenset({"image", "img", "photo", "picture", "pic", "media"})
_FURNITURE_WORDS = ("sidebar", "widget", "comment", "related", "advert", "banner", "popup", "share",
                    "social", "newsletter", "cookie")
_FURNITURE_ROLES = frozenset({"complementary", "navigation", "banner", "search"})
_WORD = re.compile(r"[a-z0-9]+")


def class_words(el: Any) -> list[str]:
    """The lower-case words of an element's class and id (``site-footer`` -> site, footer)."""
    return _WORD.findall(f"{el.get('class') or ''} {el.get('id') or ''}".lower())


def _media_itself(el: Any, page_url: str) -> bool:
    if el.tag in MEDIA_TAGS:
        return True
    kind = (el.get("itemtype") or "").rstrip("/").rsplit("/", 1)[-1].lower()
    if kind in MEDIA_TYPES:
        return True
    about = el.get("about")
    if about is not None and about.strip() not in ("", "#", page_url):
        return True
    words = class_words(el)
    if any(w.startswith(_MEDIA_STARTS) or w.endswith("caption") or w in _MEDIA_NAMES for w in words):
        return True
    return "credits" in words and not _MEDIA_NOUNS.isdisjoint(words)   # "image credits", not site credits


def _furniture_itself(el: Any) -> bool:
    if el.tag in FURNITURE_TAGS or (el.get("role") or "").strip().lower() in _FURNITURE_ROLES:
        return True
    return any(w.startswith(_FURNITURE_WORDS) for w in class_words(el))


def in_media(el: Any, page_url: str = "") -> bool:
    """True when EL, or an element around it, is embedded media (see the module docstring)."""
    return any(_media_itself(a, page_url) for a in _lineage(el))


def in_furniture(el: Any) -> bool:
    """True when EL, or an element around it, is a sidebar, navigation or other page furniture."""
    return any(_furniture_itself(a) for a in _lineage(el))


def _lineage(el: Any) -> list[Any]:
    return [el, *el.iterancestors()] if isinstance(el.tag, str) else list(el.iterancestors())
