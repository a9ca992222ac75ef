"""What part of a CKAN portal a URL names: the portal, an organization, a group, a search, or one
dataset (or one resource of it).

CKAN 2.x pages (and the Action API) are addressed this way, under the portal's root, which may
have a path of its own (``https://host/data``) and a locale before the page (``/fr/dataset/...``):

    ROOT                                  the whole portal
    ROOT/organization/NAME                that organization's datasets  (fq organization:"NAME")
    ROOT/group/NAME                       that group's datasets         (fq groups:"NAME")
    ROOT/dataset/NAME                     that dataset                  (package_show)
    ROOT/dataset/NAME/resource/ID         that one resource of it
    ROOT/dataset/?q=..&tags=..&...        the search the page shows: q, and the facets
                                          organization, groups, tags, res_format, license_id as fq
    ROOT/api/3/action/package_search?q=..&fq=..   that search
    ROOT/api/3/action/package_show?id=NAME        that dataset
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from mirror.sources.base import url_slug

_MARKERS = ("api", "dataset", "organization", "group")
_FACETS = ("organization", "groups", "tags", "res_format", "license_id")
_LOCALE = re.compile(r"^[a-z]{2}(?:[_-][a-zA-Z]{2,4})?$")


@dataclass(frozen=True)
class Scope:
    """The portal's root and the part of it named."""

    root: str
    dataset: str | None = None        # one dataset, by name or id
    resource: str | None = None       # one resource of that dataset, by id
    fq: tuple[str, ...] = ()          # package_search filters, all of which must match
    q: str | None = None              # package_search query
    named: tuple[str, ...] = ()       # what the URL named, for the default collection name

    def collection(self) -> str:
        return url_slug(self.root, *self.named)


def parse_scope(location: str) -> Scope:
    """The scope a portal URL names (see the module docstring)."""
    parts = urlsplit(location.strip())
    segments = [s for s in parts.path.split("/") if s]
    marker = next((i for i, s in enumerate(segments) if s in _MARKERS), None)
    if marker is None:
        return Scope(_root(parts.scheme, parts.netloc, segments))
    base = segments[:marker]
    if base and _LOCALE.match(base[-1]):
        base = base[:-1]
    root = _root(parts.scheme, parts.netloc, base)
    rest, query = segments[marker:], parse_qsl(parts.query)
    if rest[0] == "api":
        return _api_scope(root, rest, query)
    if rest[0] in ("organization", "group") and len(rest) > 1:
        field = "organization" if rest[0] == "organization" else "groups"
        return Scope(root, fq=(f'{field}:"{rest[1]}"',), named=(rest[0], rest[1]))
    if rest[0] == "dataset" and len(rest) > 1:
        resource = rest[3] if len(rest) > 3 and rest[2] == "resource" else None
        return Scope(root, dataset=rest[1], resource=resource, named=tuple(rest[:4]))
    return _search_scope(root, query)


def _root(scheme: str, netloc: str, segments: list[str]) -> str:
    return urlunsplit((scheme, netloc, "/".join([""] + segments), "", "")).rstrip("/")


def _search_scope(root: str, query: list[tuple[str, str]]) -> Scope:
    """The search a dataset search page shows (the whole portal when it shows no filter)."""
    fq = tuple(f'{k}:"{v}"' for k, v in query if k in _FACETS and v)
    q = next((v for k, v in query if k == "q" and v.strip()), None)
    named = tuple(x for k, v in query if (k in _FACETS or k == "q") and v for x in (k, v))
    return Scope(root, fq=fq, q=q, named=("dataset",) + named if named else ())


def _api_scope(root: str, rest: list[str], query: list[tuple[str, str]]) -> Scope:
    action = rest[-1] if len(rest) >= 4 else ""
    params = dict(query)
    if action == "package_show" and params.get("id"):
        return Scope(root, dataset=params["id"], named=("dataset", params["id"]))
    if action == "package_search":
        fq = (params["fq"],) if params.get("fq") else ()
        q = params.get("q") or None
        named = tuple(x for k in ("q", "fq") if params.get(k) for x in (k, params[k]))
        return Scope(root, fq=fq, q=q, named=("search",) + named if named else ())
    return Scope(root)
