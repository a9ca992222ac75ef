"""CKAN portals (data.gov, data.gov.uk, most national portals) through the Action API v3.

Scope is what the location names (``mirror.sources.ckan_scope``): the portal's root mirrors the
portal, an organization or group page that organization or group, a dataset search page that
search, a dataset page that dataset (``package_show``) and a resource page that one resource.
Searches are paged with ``package_search?rows=ROWS&start=K`` sorted by creation time, so datasets
added during a harvest land at the end and paging stays stable; ``count`` sets ``total``.

Incremental: a completed search leaves ``since``, the time it started; the next run asks only for
the datasets modified since then, less an hour for clocks that disagree (``fq`` gets
``metadata_modified:[SINCE TO *]``, as ckanext-harvest's CKAN harvester does). Each dataset's
``metadata_modified`` is also its datestamp, so one seen again unchanged is found unchanged.

One dataset is one record: ``title``, ``notes`` -> description, ``author``/``maintainer`` ->
creators (the organization's title when neither is given), tags -> subjects,
``metadata_modified`` -> datestamp, and each resource with an http(s) URL is a file (name,
``mimetype`` or ``format`` as the media-type hint, ``size``), unless it is a service or a page
(``is_service``: a WMS/WFS/WCS/WMTS/CSW/SPARQL/REST/API endpoint by format, ``resource_type`` or URL, or
an HTML page): those are recorded as the record's links, not mirrored as files. ``license_id``,
``license_url`` and ``license_title`` are the licence statements, as found.

A CKAN error answer (``"success": false``) raises ``FetchError`` with CKAN's message.

State keys: ``start`` (the offset of the next page), ``since`` (the ``metadata_modified`` bound of
the search in progress; after a completed search, when it started) and ``started``.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any, AsyncIterator
from urllib.parse import urlencode, urlsplit

from mirror.errors import BadStatus, FetchError, NotACollection
from mirror.sources.api import get_json
from mirror.sources.base import Checkpoint, FileRef, Metadata, Record, Source
from mirror.sources.ckan_scope import parse_scope
from mirror.sources.dates import parse_when
from mirror.sources.files import file_name, file_type, media_type_for_format
from mirror.sources.text import plain_text
from indexer.clock import second_time

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher

ROWS = 100
MAX_RAW = 256 * 1024
SORT = "metadata_created asc, id asc"
SINCE_MARGIN = timedelta(hours=1)     # ckanext-harvest's margin for clocks that disagree


async def call(fetcher: "Fetcher", root: str, action: str, **params: Any) -> Any:
    """The ``result`` of one Action API call; FetchError with CKAN's message when it fails."""
    url = f"{root}/api/3/action/{action}" + (f"?{urlencode(params)}" if params else "")
    try:
        data = await get_json(fetcher, url)
    except BadStatus as exc:
        raise FetchError(f"CKAN {action} failed: {_error_body(exc) or exc}", status=exc.status,
                         retryable=exc.retryable) from exc
    if not isinstance(data, dict) or "success" not in data:
        raise FetchError(f"{url}: not a CKAN API answer")
    if data["success"] is not True:
        raise FetchError(f"CKAN {action} failed: {_message(data.get('error'))}")
    return data.get("result")


def _error_body(exc: BadStatus) -> str | None:
    """CKAN's own message when the fetcher kept the body of an error status (``exc.body``)."""
    body = getattr(exc, "body", None)
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return None
    return _message(data.get("error")) if isinstance(data, dict) and data.get("error") else None


def _message(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    if error.get("message"):
        return str(error["message"])
    fields = [f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else v}"
              for k, v in error.items() if not k.startswith("__")]
    return ", ".join(fields) or str(error.get("__type") or "unknown error")


class CKANSource(Source):
    kind = "ckan"

    def __init__(self, location, options) -> None:
        super().__init__(location, options)
        self.scope = parse_scope(location)
        self.root = self.scope.root

    @classmethod
    async def detect(cls, location: str, fetcher: "Fetcher | None") -> bool:
        if fetcher is None or urlsplit(location).scheme not in ("http", "https"):
            return False
        root = parse_scope(location).root
        for action, params in (("status_show", {}), ("package_search", {"rows": 0})):
            try:
                result = await call(fetcher, root, action, **params)
            except FetchError:
                continue
            if isinstance(result, dict) and ("ckan_version" in result or "count" in result):
                return True
        return False

    def default_collection(self) -> str:
        return self.scope.collection()

    async def harvest(self, fetcher: "Fetcher", state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        if self.scope.dataset is not None:
            yield await self._dataset(fetcher, self.scope.dataset)
            yield Checkpoint({})
            return
        start = int(state.get("start") or 0)
        if start:                  # a search in progress goes on with the same bound
            since, started = state.get("since") or "", state.get("started") or second_time()
        else:
            since, started = _before(state.get("since")), second_time()
        while True:
            result = await call(fetcher, self.root, "package_search", **self._search(start, since))
            if not isinstance(result, dict) or not isinstance(result.get("results"), list):
                raise FetchError(f"{self.root}: package_search answer without results")
            self.total = int(result.get("count") or 0)
            for package in result["results"]:
                yield package_record(package, self.root)
            start += len(result["results"])
            if not result["results"] or start >= self.total:
                break
            yield Checkpoint({"start": str(start), "since": since, "started": started})
        yield Checkpoint({"since": started})

    def _search(self, start: int, since: str) -> dict[str, Any]:
        params: dict[str, Any] = {"rows": ROWS, "start": start, "sort": SORT}
        fq = list(self.scope.fq) + ([f"metadata_modified:[{since} TO *]"] if since else [])
        if fq:
            params["fq"] = " AND ".join(fq)
        if self.scope.q:
            params["q"] = self.scope.q
        return params

    async def _dataset(self, fetcher: "Fetcher", name: str) -> Record:
        """The record of the one dataset (or resource) the location names."""
        try:
            package = await call(fetcher, self.root, "package_show", id=name)
        except FetchError as exc:
            if exc.status in (403, 404):
                raise NotACollection(f"{self.root}: no dataset {name!r} ({exc})") from exc
            raise
        if not isinstance(package, dict):
            raise FetchError(f"{self.root}: package_show answer without a dataset")
        wanted = self.scope.resource
        if wanted and not any(isinstance(r, dict) and r.get("id") == wanted for r in package.get("resources") or []):
            raise NotACollection(f"{self.root}: dataset {name!r} has no resource {wanted!r}")
        return package_record(package, self.root, resource=wanted)


def _before(since: str | None) -> str:
    """The ``metadata_modified`` bound for changes since SINCE (Solr's UTC form), less the margin."""
    when = parse_when(since)
    return second_time(when - SINCE_MARGIN) if when else ""


def package_record(package: dict[str, Any], root: str, *, resource: str | None = None) -> Record:
    """One dataset as a record (with only the resource of id RESOURCE when it is given)."""
    source_id = str(package.get("id") or package.get("name") or "")
    org = package.get("organization") or {}
    creators = list(dict.fromkeys(v for v in (package.get("author"), package.get("maintainer")) if v))
    if not creators and isinstance(org, dict) and org.get("title"):
        creators = [org["title"]]
    tags = package.get("tags") or []
    resources = [r for r in package.get("resources") or []
                 if _is_url(r) and (resource is None or r.get("id") == resource)]
    files = tuple(_resource(r) for r in resources if not is_service(r))
    links = tuple(str(r["url"]).strip() for r in resources if is_service(r))
    metadata = Metadata(
        title=plain_text(package.get("title") or package.get("name") or source_id),
        description=plain_text(package.get("notes") or ""), creators=tuple(creators),
        subjects=tuple(str(name) for t in tags
                       if isinstance(t, dict) and (name := t.get("display_name") or t.get("name"))),
        date=(package.get("metadata_created") or "")[:10] or None, type=package.get("type"),
        source_url=files[0].url if files else None,
        landing_url=f"{root}/dataset/{package.get('name') or source_id}",
        raw_record=json.dumps(package, ensure_ascii=False)[:MAX_RAW], links=links)
    statements = tuple(str(package[k]) for k in ("license_id", "license_url", "license_title") if package.get(k))
    return Record(source_id, metadata, files, statements, datestamp=package.get("metadata_modified"))


# Resource formats that name a service or a page, not a file (CKAN portals write them freely).
SERVICE_FORMATS = frozenset({
    "wms", "wfs", "wcs", "wmts", "wps", "csw", "sos", "tms", "xyz", "ogc wms", "ogc wfs", "ogc wcs", "ogc wmts",
    "ogc api", "ogc api features", "wms srvc", "wfs srvc", "api", "rest", "rest api", "json api", "esri rest",
    "esri rest api", "arcgis geoservices rest api", "arcgis map service", "arcgis feature service",
    "arcgis rest", "sparql", "sparql endpoint", "odata", "web service", "webservice", "service", "html",
    "htm", "web page", "webpage", "website", "web site", "url", "link", "web map application", "app"})
_SERVICE_QUERY = re.compile(r"(?:^|&)(?:service=(?:wms|wfs|wcs|wmts|wps|csw|sos)|request=get(?:capabilities|map"
                            r"|feature|coverage|records))(?:&|$)", re.I)
_SERVICE_PATH = re.compile(r"/(?:mapserver|featureserver|imageserver|wms|wfs|wcs|wmts|ows|csw|sparql)/?$"
                           r"|/rest/services/|/api/3/action/", re.I)


def is_service(resource: dict[str, Any]) -> bool:
    """True for a resource that is a service endpoint or a web page rather than a file."""
    fmt = " ".join(str(resource.get("format") or "").lower().replace("-", " ").split())
    parts = urlsplit(str(resource.get("url") or "").strip())
    if _SERVICE_QUERY.search(parts.query) or _SERVICE_PATH.search(parts.path):
        return True
    if str(resource.get("resource_type") or "").lower() == "api":
        return True
    if fmt.split()[-1:] and fmt.split()[-1] in _PROTOCOLS:
        return True
    return fmt in SERVICE_FORMATS and file_type(parts.path) is None    # a URL naming a file is a file


_PROTOCOLS = {"wms", "wfs", "wcs", "wmts", "wps", "csw", "sos", "sparql"}


def _is_url(resource: Any) -> bool:
    return isinstance(resource, dict) and urlsplit(str(resource.get("url") or "")).scheme in ("http", "https")


def _resource(resource: dict[str, Any]) -> FileRef:
    url = str(resource["url"]).strip()
    size = resource.get("size")
    return FileRef(url, name=resource.get("name") or file_name(url),
                   media_type=media_type_for_format(resource.get("mimetype") or resource.get("format")),
                   size=int(str(size)) if str(size or "").isdigit() else None)
