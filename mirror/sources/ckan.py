"""CKAN portals (data.gov, data.gov.uk, most national portals) through the Action API v3.

The location is the portal's root (``https://catalog.data.gov``), optionally narrowed by a page
path: ``.../organization/NAME`` or ``.../group/NAME`` harvest only that organization or group
(``fq``). Datasets are paged with ``package_search?rows=ROWS&start=K`` sorted by creation time, so
datasets added during a harvest land at the end and paging stays stable; ``count`` sets ``total``.

One dataset is one record: ``title``, ``notes`` -> description, ``author``/``maintainer`` ->
creators (the organization's title when neither is given), tags -> subjects,
``metadata_modified`` -> datestamp, and each resource with an http(s) URL is a file (name,
``mimetype`` or ``format`` as the media-type hint, ``size``). ``license_id``, ``license_url`` and
``license_title`` are the licence statements, as found.

A CKAN error answer (``"success": false``) raises ``FetchError`` with CKAN's message.

State key: ``start``, the offset of the next page.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, AsyncIterator
from urllib.parse import urlencode, urlsplit, urlunsplit

from mirror.errors import BadStatus, FetchError
from mirror.sources.api import get_json
from mirror.sources.base import Checkpoint, FileRef, Metadata, Record, Source, url_slug
from mirror.sources.files import file_name, media_type_for_format

if TYPE_CHECKING:
    from mirror.fetch.fetcher import Fetcher

ROWS = 100
MAX_RAW = 256 * 1024
SORT = "metadata_created asc, id asc"
_FILTERS = {"organization": "organization", "group": "groups"}


def portal(location: str) -> tuple[str, str | None]:
    """The portal root and an optional ``fq`` filter from a portal URL."""
    parts = urlsplit(location.strip())
    segments = [s for s in parts.path.split("/") if s]
    fq = None
    for marker in ("api", "dataset", "organization", "group"):
        if marker in segments:
            i = segments.index(marker)
            if marker in _FILTERS and i + 1 < len(segments):
                fq = f'{_FILTERS[marker]}:"{segments[i + 1]}"'
            segments = segments[:i]
            break
    root = urlunsplit((parts.scheme, parts.netloc, "/".join([""] + segments), "", ""))
    return root.rstrip("/"), fq


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
        self.root, self.fq = portal(location)

    @classmethod
    async def detect(cls, location: str, fetcher: "Fetcher | None") -> bool:
        if fetcher is None or urlsplit(location).scheme not in ("http", "https"):
            return False
        root, _ = portal(location)
        for action, params in (("status_show", {}), ("package_search", {"rows": 0})):
            try:
                result = await call(fetcher, root, action, **params)
            except FetchError:
                continue
            if isinstance(result, dict) and ("ckan_version" in result or "count" in result):
                return True
        return False

    def default_collection(self) -> str:
        return url_slug(self.root, (self.fq or "").split(":")[-1].strip('"'))

    async def harvest(self, fetcher: "Fetcher", state: dict[str, str]) -> AsyncIterator[Record | Checkpoint]:
        start = int(state.get("start") or 0)
        while True:
            params: dict[str, Any] = {"rows": ROWS, "start": start, "sort": SORT}
            if self.fq:
                params["fq"] = self.fq
            result = await call(fetcher, self.root, "package_search", **params)
            if not isinstance(result, dict) or not isinstance(result.get("results"), list):
                raise FetchError(f"{self.root}: package_search answer without results")
            self.total = int(result.get("count") or 0)
            for package in result["results"]:
                yield package_record(package, self.root)
            start += len(result["results"])
            if not result["results"] or start >= self.total:
                break
            yield Checkpoint({"start": str(start)})
        yield Checkpoint({})


def package_record(package: dict[str, Any], root: str) -> Record:
    """One dataset as a record."""
    source_id = str(package.get("id") or package.get("name") or "")
    org = package.get("organization") or {}
    creators = list(dict.fromkeys(v for v in (package.get("author"), package.get("maintainer")) if v))
    if not creators and isinstance(org, dict) and org.get("title"):
        creators = [org["title"]]
    tags = package.get("tags") or []
    files = tuple(_resource(r) for r in package.get("resources") or [] if _is_url(r))
    metadata = Metadata(
        title=package.get("title") or package.get("name") or source_id,
        description=package.get("notes") or "", creators=tuple(creators),
        subjects=tuple(t.get("display_name") or t.get("name") for t in tags if isinstance(t, dict)),
        date=(package.get("metadata_created") or "")[:10] or None, type=package.get("type"),
        source_url=files[0].url if files else None,
        landing_url=f"{root}/dataset/{package.get('name') or source_id}",
        raw_record=json.dumps(package, ensure_ascii=False)[:MAX_RAW])
    statements = tuple(str(package[k]) for k in ("license_id", "license_url", "license_title") if package.get(k))
    return Record(source_id, metadata, files, statements, datestamp=package.get("metadata_modified"))


def _is_url(resource: Any) -> bool:
    return isinstance(resource, dict) and urlsplit(str(resource.get("url") or "")).scheme in ("http", "https")


def _resource(resource: dict[str, Any]) -> FileRef:
    url = str(resource["url"]).strip()
    size = resource.get("size")
    return FileRef(url, name=resource.get("name") or file_name(url),
                   media_type=media_type_for_format(resource.get("mimetype") or resource.get("format")),
                   size=int(str(size)) if str(size or "").isdigit() else None)
