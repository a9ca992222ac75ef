"""A local CKAN portal (a real aiohttp server on 127.0.0.1, port 0) for tests.

It answers the CKAN Action API v3 the way CKAN 2.10 does (https://docs.ckan.org/en/2.10/api/): every
answer is ``{"help": URL, "success": true, "result": ...}``; failures are ``"success": false`` with
an ``error`` object (``__type`` plus ``message`` or per-field lists) and HTTP 400/404/409. Package
dictionaries carry CKAN's real fields (``license_id``/``license_title``/``license_url`` from CKAN's
default licence register, ``organization``, ``tags``, ``resources``, ``metadata_modified``...).

Fixture (import it into a conftest: ``from tests.servers.ckan import ckan_server``):

``ckan_server`` -> ``CKANServer`` with 25 datasets in two organizations.
    ``.url``             the portal root (``http://127.0.0.1:PORT``)
    ``.packages``        the package dicts (edit them to simulate changes)
    ``.requests``        every request as ``Seen(path, query, monotonic time)``
    ``.search_error``    when set to ``(type, message)``, package_search answers 409 with it
    ``touch(i)``         sets package ``i``'s ``metadata_modified`` to now

Datasets cycle through licences: cc-by, odc-odbl, uk-ogl, cc-nc, other-closed, notspecified,
cc-zero; each has one or two resources served by the same server under ``/files/``, and one
resource per dataset with format but no mimetype; every fifth is in group ``rainfall``.
``package_search`` takes ``q`` (words of the title and notes) and ``fq`` (see ``_matches``).
``/api/3/action/package_show?id=`` and ``/dataset/NAME`` (an HTML page) work too.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator

import pytest
from aiohttp import web

from tests.servers.local_app import FakeServer, running

# (id, title, url) as in CKAN's default licence register
LICENSES = [
    ("cc-by", "Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by"),
    ("odc-odbl", "Open Data Commons Open Database License (ODbL)",
     "http://www.opendefinition.org/licenses/odc-odbl"),
    ("uk-ogl", "UK Open Government Licence (OGL)",
     "http://reference.data.gov.uk/id/open-government-licence"),
    ("cc-nc", "Creative Commons Non-Commercial (Any)", "http://creativecommons.org/licenses/by-nc/2.0/"),
    ("other-closed", "Other (Not Open)", ""),
    ("notspecified", "License not specified", ""),
    ("cc-zero", "Creative Commons CCZero", "http://www.opendefinition.org/licenses/cc-zero"),
]
ORGS = [{"name": "rain-office", "title": "Rain Office"}, {"name": "map-office", "title": "Map Office"}]


def _ckan_time(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f")


def make_package(root: str, i: int) -> dict[str, Any]:
    lic_id, lic_title, lic_url = LICENSES[i % len(LICENSES)]
    pkg_id = str(uuid.UUID(int=i + 1))
    name = f"dataset-{i:03d}"
    created = datetime(2021, 1, 1, tzinfo=timezone.utc) + timedelta(days=i)
    org = ORGS[i % 2]
    resources = [_resource(root, pkg_id, name, "data.csv", "CSV", "text/csv", 0),
                 _resource(root, pkg_id, name, "readme.txt", "TXT", None, 1)][: 1 + i % 2]
    return {
        "id": pkg_id, "name": name, "title": f"Dataset {i}", "notes": f"Notes about dataset {i}.",
        "author": f"Author {i}" if i % 3 else "", "author_email": "", "maintainer":
            "Data Team" if i % 4 == 0 else None, "maintainer_email": None,
        "license_id": lic_id, "license_title": lic_title, **({"license_url": lic_url} if lic_url else {}),
        "metadata_created": _ckan_time(created), "metadata_modified": _ckan_time(created + timedelta(hours=1)),
        "organization": {"id": str(uuid.UUID(int=1000 + i % 2)), "name": org["name"], "title": org["title"],
                         "type": "organization", "state": "active", "is_organization": True,
                         "approval_status": "approved", "description": "", "image_url": "",
                         "created": "2020-01-01T00:00:00.000000"},
        "owner_org": str(uuid.UUID(int=1000 + i % 2)), "private": False, "state": "active",
        "type": "dataset", "url": "", "version": "1.0", "isopen": lic_id in ("cc-by", "odc-odbl", "cc-zero"),
        "num_resources": len(resources), "resources": resources,
        "num_tags": 2, "tags": [{"display_name": t, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, t)), "name": t,
                                 "state": "active", "vocabulary_id": None} for t in ("weather", f"tag-{i % 3}")],
        "groups": [{"name": "rainfall", "title": "Rainfall", "id": str(uuid.UUID(int=2000))}] if i % 5 == 0 else [],
        "extras": [], "relationships_as_object": [], "relationships_as_subject": [],
        "creator_user_id": str(uuid.UUID(int=99)),
    }


def _resource(root: str, pkg_id: str, name: str, file: str, fmt: str, mimetype: str | None,
              position: int) -> dict[str, Any]:
    body = _file_body(name, file)
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, name + file)), "package_id": pkg_id,
            "name": file.split(".")[0].title(), "url": f"{root}/files/{name}/{file}", "format": fmt,
            "mimetype": mimetype, "size": len(body), "description": "", "url_type": None,
            "created": "2021-01-01T00:00:00.000000", "last_modified": None, "position": position,
            "state": "active", "hash": "", "cache_url": None, "datastore_active": False}


def _file_body(name: str, file: str) -> bytes:
    return f"station,mm\n{name},{len(file)}\n".encode() if file.endswith(".csv") else f"About {name}\n".encode()


def service_package(root: str, i: int) -> dict[str, Any]:
    """A dataset as geodata portals publish them: one CSV file, and services and pages beside it (an
    OGC WMS GetCapabilities URL, an ArcGIS FeatureServer, a CKAN ``resource_type: api`` endpoint, the
    dataset's page on the publisher's catalogue) that are links, not files."""
    package = make_package(root, i)
    name = package["name"]
    extra = [("WMS", f"{root}/ows?service=WMS&request=GetCapabilities", "WMS"),
             ("Features", f"{root}/arcgis/rest/services/rain/FeatureServer", "ArcGIS GeoServices REST API"),
             ("API", f"{root}/api/rain", "JSON"), ("Catalogue page", f"{root}/catalogue/{name}", "HTML")]
    for position, (title, url, fmt) in enumerate(extra, start=1):
        resource = _resource(root, package["id"], name, "data.csv", fmt, None, position)
        resource.update(name=title, url=url, id=str(uuid.uuid5(uuid.NAMESPACE_URL, url)),
                        resource_type="api" if title == "API" else None)
        package["resources"].append(resource)
    package["resources"] = package["resources"][:1] + package["resources"][-4:]
    package["num_resources"] = len(package["resources"])
    return package


class CKANServer(FakeServer):
    def __init__(self, n: int = 25) -> None:
        super().__init__()
        self.n = n
        self.packages: list[dict[str, Any]] = []
        self.search_error: tuple[str, str] | None = None
        self.app.router.add_get("/api/3/action/{action}", self._action)
        self.app.router.add_get("/dataset/{name}", self._dataset_page)
        self.app.router.add_get("/files/{name}/{file}", self._file)

    def started(self) -> None:
        self.packages = [make_package(self.url, i) for i in range(self.n)]

    def touch(self, i: int) -> dict[str, Any]:
        self.packages[i]["metadata_modified"] = _ckan_time(datetime.now(timezone.utc))
        return self.packages[i]

    def searches(self) -> list[dict[str, str]]:
        return [r.query for r in self.requests if r.path.endswith("/package_search")]

    def _answer(self, action: str, result: Any = None, *, error: dict[str, Any] | None = None,
                status: int = 200) -> web.Response:
        body: dict[str, Any] = {"help": f"{self.url}/api/3/action/help_show?name={action}",
                                "success": error is None}
        body["error" if error is not None else "result"] = error if error is not None else result
        return web.Response(text=json.dumps(body), status=status, content_type="application/json")

    async def _action(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action == "status_show":
            return self._answer(action, {"ckan_version": "2.10.4", "site_title": "Fake CKAN",
                                         "site_url": self.url, "site_description": "",
                                         "locale_default": "en", "extensions": ["stats", "text_view"]})
        if action == "package_search":
            return self._search(request.query)
        if action == "package_show":
            found = [p for p in self.packages if request.query.get("id") in (p["id"], p["name"])]
            if not found:
                return self._answer(action, error={"message": "Not found", "__type": "Not Found Error"},
                                    status=404)
            return self._answer(action, found[0])
        return self._answer(action, error={"message": f"Bad request - Action name not known: {action}",
                                           "__type": "Bad Request"}, status=400)

    def _search(self, query: Any) -> web.Response:
        if self.search_error is not None:
            kind, message = self.search_error
            return self._answer("package_search", error={"message": message, "__type": kind}, status=409)
        errors = {k: ["Invalid integer"] for k in ("rows", "start") if not query.get(k, "0").isdigit()}
        if not errors and int(query.get("rows", "10")) > 1000:
            errors["rows"] = ["Must be less than or equal to 1000"]
        if errors:
            return self._answer("package_search", error={"__type": "Validation Error", **errors}, status=409)
        words = [w for w in query.get("q", "").lower().split() if w != "*:*"]
        found = [p for p in self.packages if _matches(p, query.get("fq", ""))
                 and all(w in (p["title"] + " " + p["notes"]).lower() for w in words)]
        field = query.get("sort", "score desc, metadata_modified desc").split(",")[0].split()[0]
        if field in ("metadata_created", "metadata_modified", "name", "id", "title"):
            found.sort(key=lambda p: (p[field], p["id"]))
        start, rows = int(query.get("start", "0")), int(query.get("rows", "10"))
        return self._answer("package_search", {"count": len(found), "facets": {}, "search_facets": {},
                                               "sort": query.get("sort", "score desc, metadata_modified desc"),
                                               "results": found[start:start + rows]})

    async def _dataset_page(self, request: web.Request) -> web.Response:
        for p in self.packages:
            if p["name"] == request.match_info["name"]:
                return web.Response(text=f"<html><title>{p['title']}</title></html>", content_type="text/html")
        raise web.HTTPNotFound()

    async def _file(self, request: web.Request) -> web.Response:
        name, file = request.match_info["name"], request.match_info["file"]
        if not any(p["name"] == name for p in self.packages):
            raise web.HTTPNotFound()
        return self.static(request, _file_body(name, file), "text/csv" if file.endswith(".csv") else "text/plain")


_CLAUSE = re.compile(r'(\w+):("[^"]*"|\[[^\]]*\]|\S+)')


def _matches(package: dict[str, Any], fq: str) -> bool:
    """The Solr ``fq`` clauses CKAN harvesters send, ANDed (explicitly or by a space): ``field:value``
    or ``field:"value"`` on organization, groups, tags, res_format and license_id, and
    ``metadata_modified:[FROM TO *]`` (Solr's UTC form, inclusive)."""
    for field, value in _CLAUSE.findall(fq):
        if field == "metadata_modified":
            low = value.strip("[]").split(" TO ")[0]
            if low != "*" and package["metadata_modified"] < low.rstrip("Z"):
                return False
        elif value.strip('"') not in _values(package, field):
            return False
    return True


def _values(package: dict[str, Any], field: str) -> list[str]:
    if field == "organization":
        return [package["organization"]["name"]]
    if field in ("groups", "tags"):
        return [g["name"] for g in package[field]]
    if field == "res_format":
        return [r["format"] for r in package["resources"]]
    return [str(package.get(field))]


@pytest.fixture
async def ckan_server() -> AsyncIterator[CKANServer]:
    async with running(CKANServer()) as server:
        yield server
