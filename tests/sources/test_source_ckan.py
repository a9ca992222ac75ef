"""The CKAN source against the local portal (tests.servers.ckan) with the real Fetcher."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mirror.errors import FetchError, NotACollection
from mirror.sources import SourceOptions, open_source
from mirror.sources.ckan import ROWS, CKANSource, is_service
from mirror.sources.ckan_scope import Scope, parse_scope
from mirror.sources.dates import parse_when
from tests.servers.ckan import CKANServer, running, service_package
from tests.sources.harvest import harvest


async def test_harvest_pages_all_datasets(fetcher):
    async with running(CKANServer(n=2 * ROWS + 5)) as server:
        src = CKANSource(server.url, SourceOptions())
        run = await harvest(src, fetcher)
        assert len(run.records) == 2 * ROWS + 5 and src.total == 2 * ROWS + 5
        assert len({r.source_id for r in run.records}) == 2 * ROWS + 5
        assert [c.get("start") for c in run.checkpoints] == [str(ROWS), str(2 * ROWS), None]
        assert run.final.keys() == {"since"}
        assert [q["start"] for q in server.searches()] == ["0", str(ROWS), str(2 * ROWS)]
        assert all(q["sort"].startswith("metadata_created asc") for q in server.searches())


async def test_dataset_fields_become_the_record(ckan_server, fetcher):
    run = await harvest(CKANSource(ckan_server.url, SourceOptions()), fetcher)
    rec = run.by_id()[ckan_server.packages[1]["id"]]
    doc = rec.metadata
    assert (doc.title, doc.description) == ("Dataset 1", "Notes about dataset 1.")
    assert list(doc.creators) == ["Author 1"] and list(doc.subjects) == ["weather", "tag-1"]
    assert doc.landing_url == ckan_server.url + "/dataset/dataset-001"
    assert doc.date == "2021-01-02" and doc.type == "dataset"
    assert '"name": "dataset-001"' in doc.raw_record
    assert rec.datestamp == ckan_server.packages[1]["metadata_modified"]
    assert list(rec.license_statements) == ["odc-odbl", "http://www.opendefinition.org/licenses/odc-odbl",
                                      "Open Data Commons Open Database License (ODbL)"]
    csv, txt = rec.files
    size = ckan_server.packages[1]["resources"][0]["size"]
    assert (csv.url, csv.name, csv.media_type, csv.size) == (
        ckan_server.url + "/files/dataset-001/data.csv", "Data", "text/csv", size)
    assert txt.media_type == "text/plain"      # from format "TXT": no mimetype given


async def test_creators_fall_back_to_maintainer_and_organization(ckan_server, fetcher):
    recs = (await harvest(CKANSource(ckan_server.url, SourceOptions()), fetcher)).by_id()
    pkgs = ckan_server.packages
    assert list(recs[pkgs[0]["id"]].metadata.creators) == ["Data Team"]      # no author, a maintainer
    assert list(recs[pkgs[3]["id"]].metadata.creators) == ["Map Office"]     # neither: the organization
    assert list(recs[pkgs[5]["id"]].license_statements) == ["notspecified", "License not specified"]


async def test_organization_path_filters_the_search(ckan_server, fetcher):
    src = CKANSource(ckan_server.url + "/organization/rain-office", SourceOptions())
    port = ckan_server.url.rsplit(":", 1)[1]
    assert src.root == ckan_server.url and src.default_collection() == f"127.0.0.1-{port}-organization-rain-office"
    run = await harvest(src, fetcher)
    assert len(run.records) == 13
    assert all(list(r.metadata.creators) != ["Map Office"] for r in run.records)
    assert ckan_server.searches()[0]["fq"] == 'organization:"rain-office"'


async def test_resume_from_start(fetcher):
    async with running(CKANServer(n=ROWS + 7)) as server:
        first = await harvest(CKANSource(server.url, SourceOptions()), fetcher, stop_after_checkpoints=1)
        rest = await harvest(CKANSource(server.url, SourceOptions()), fetcher, first.checkpoints[-1])
        assert len(first.records) == ROWS and len(rest.records) == 7
        assert {r.source_id for r in first.records}.isdisjoint(r.source_id for r in rest.records)


async def test_changed_datasets_carry_a_new_datestamp(ckan_server, fetcher):
    before = (await harvest(CKANSource(ckan_server.url, SourceOptions()), fetcher)).by_id()
    ckan_server.touch(4)
    after = (await harvest(CKANSource(ckan_server.url, SourceOptions()), fetcher)).by_id()
    changed = [i for i in after if after[i].datestamp != before[i].datestamp]
    assert changed == [ckan_server.packages[4]["id"]]


async def test_ckan_error_answer_is_a_fetch_error(ckan_server, fetcher):
    ckan_server.search_error = ("Search Query Error", "Search error: unparsable fq")
    with pytest.raises(FetchError, match="CKAN package_search failed: Search error: unparsable fq") as info:
        await harvest(CKANSource(ckan_server.url, SourceOptions()), fetcher)
    assert info.value.status == 409 and not info.value.retryable


async def test_detect_and_open(ckan_server, site_server, fetcher):
    assert await CKANSource.detect(ckan_server.url + "/dataset", fetcher)
    assert not await CKANSource.detect(site_server.docs, fetcher)
    opened = await open_source(ckan_server.url + "/", fetcher, SourceOptions())
    port = ckan_server.url.rsplit(":", 1)[1]
    assert isinstance(opened, CKANSource) and opened.default_collection() == f"127.0.0.1-{port}"


def test_scopes_of_portal_urls():
    root = "https://data.example.gov/data"
    assert parse_scope(root + "/dataset/abc") == Scope(root, dataset="abc", named=("dataset", "abc"))
    assert parse_scope(root + "/fr/dataset/abc/resource/r-1") == Scope(
        root, dataset="abc", resource="r-1", named=("dataset", "abc", "resource", "r-1"))
    assert parse_scope("https://data.example.gov/api/3/action/package_search?q=x") == Scope(
        "https://data.example.gov", q="x", named=("search", "q", "x"))
    assert parse_scope("https://data.example.gov/api/3/action/package_show?id=abc").dataset == "abc"
    assert parse_scope("https://d.example/group/maps/") == Scope("https://d.example", fq=('groups:"maps"',),
                                                                 named=("group", "maps"))
    assert parse_scope("https://d.example/en/organization/x").fq == ('organization:"x"',)
    search = parse_scope("https://d.example/dataset/?tags=rain&res_format=CSV&q=daily&sort=name+asc")
    assert (search.fq, search.q) == (('tags:"rain"', 'res_format:"CSV"'), "daily")
    assert parse_scope("https://d.example/dataset/") == Scope("https://d.example")
    # two portals, or two parts of one, never share a default collection name
    names = {parse_scope(u).collection() for u in (
        "https://d.example", "https://d.example:8443", "https://d.example/data", "https://d.example/dataset/a",
        "https://d.example/organization/a", "https://d.example/group/a", "https://d.example/dataset/?tags=a")}
    assert len(names) == 7 and parse_scope("https://d.example/").collection() == "d.example"


def actions(server) -> list[tuple[str, dict[str, str]]]:
    return [(r.path.rsplit("/", 1)[1], r.query) for r in server.requests if "/api/3/action/" in r.path]


async def test_a_dataset_url_mirrors_that_dataset_only(ckan_server, fetcher):
    run = await harvest(CKANSource(ckan_server.url + "/dataset/dataset-004", SourceOptions()), fetcher)
    assert [r.source_id for r in run.records] == [ckan_server.packages[4]["id"]]
    assert actions(ckan_server) == [("package_show", {"id": "dataset-004"})]     # no search at all
    assert run.final == {}


async def test_a_resource_url_mirrors_that_resource_only(ckan_server, fetcher):
    package = ckan_server.packages[1]
    resource = package["resources"][1]
    url = f"{ckan_server.url}/dataset/{package['name']}/resource/{resource['id']}"
    [record] = (await harvest(CKANSource(url, SourceOptions()), fetcher)).records
    assert [f.url for f in record.files] == [resource["url"]]


async def test_an_unknown_dataset_or_resource_is_not_a_collection(ckan_server, fetcher):
    with pytest.raises(NotACollection, match="no dataset 'nothing-here'"):
        await harvest(CKANSource(ckan_server.url + "/dataset/nothing-here", SourceOptions()), fetcher)
    with pytest.raises(NotACollection, match="has no resource 'r-9'"):
        await harvest(CKANSource(ckan_server.url + "/dataset/dataset-001/resource/r-9", SourceOptions()), fetcher)


async def test_group_and_search_pages_mirror_what_they_show(ckan_server, fetcher):
    group = await harvest(CKANSource(ckan_server.url + "/group/rainfall", SourceOptions()), fetcher)
    assert sorted(r.metadata.title for r in group.records) == sorted(f"Dataset {i}" for i in range(0, 25, 5))
    search = await harvest(CKANSource(ckan_server.url + "/en/dataset/?tags=tag-2&organization=rain-office",
                                      SourceOptions()), fetcher)
    assert sorted(r.metadata.title for r in search.records) == ["Dataset 14", "Dataset 2", "Dataset 20",
                                                                 "Dataset 8"]
    assert [q["fq"] for name, q in actions(ckan_server)] == [
        'groups:"rainfall"', 'tags:"tag-2" AND organization:"rain-office"']


async def test_the_portal_root_mirrors_the_whole_portal(ckan_server, fetcher):
    run = await harvest(CKANSource(ckan_server.url, SourceOptions()), fetcher)
    assert len(run.records) == 25
    assert actions(ckan_server) == [("package_search", {"rows": str(ROWS), "start": "0",
                                                        "sort": "metadata_created asc, id asc"})]


async def test_a_rerun_asks_only_for_datasets_modified_since_the_last_one(ckan_server, fetcher):
    src = CKANSource(ckan_server.url + "/organization/rain-office", SourceOptions())
    first = await harvest(src, fetcher)
    assert len(first.records) == 13
    ckan_server.touch(4)
    again = await harvest(src, fetcher, first.final)
    assert [r.source_id for r in again.records] == [ckan_server.packages[4]["id"]]
    fq = actions(ckan_server)[-1][1]["fq"]
    since = (parse_when(first.final["since"]) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert fq == f'organization:"rain-office" AND metadata_modified:[{since} TO *]'
    assert again.final["since"] >= first.final["since"]


async def test_a_resumed_search_keeps_its_bound(fetcher):
    n = ROWS + 20
    async with running(CKANServer(n=n)) as server:
        state = {"since": "2021-01-10T00:00:00Z"}         # less an hour: datasets 9 .. were modified since
        first = await harvest(CKANSource(server.url, SourceOptions()), fetcher, state)
        assert len(first.records) == n - 9
        server.packages[3]["metadata_modified"] = "2021-01-20T00:00:00.000000"
        part = await harvest(CKANSource(server.url, SourceOptions()), fetcher, state, stop_after_checkpoints=1)
        assert part.checkpoints[-1]["since"] == "2021-01-09T23:00:00Z"
        rest = await harvest(CKANSource(server.url, SourceOptions()), fetcher, part.checkpoints[-1])
        assert len(part.records) + len(rest.records) == n - 8
        assert {q.get("fq") for q in server.searches()} == {"metadata_modified:[2021-01-09T23:00:00Z TO *]"}


@pytest.mark.parametrize(("fmt", "url", "extra", "service"), [
    ("WMS", "https://geo.example/ows?service=WMS&request=GetCapabilities", {}, True),
    ("", "https://geo.example/geoserver/wfs?SERVICE=WFS&REQUEST=GetFeature&typeName=x", {}, True),
    ("ArcGIS GeoServices REST API", "https://gis.example/arcgis/rest/services/a/MapServer", {}, True),
    ("Esri REST", "https://gis.example/server/x", {}, True),
    ("", "https://data.example/sparql", {}, True),
    ("JSON", "https://data.example/api/v1/rain", {"resource_type": "api"}, True),
    ("HTML", "https://publisher.example/catalogue/rain", {}, True),
    ("API", "https://data.example/dump/rain.csv", {}, False),     # a URL naming a file is a file
    ("CSV", "https://data.example/rain.csv", {}, False),
    ("JSON", "https://data.example/rain.json", {}, False),
    ("ZIP", "https://data.example/download?id=7", {}, False),
    ("GeoJSON", "https://data.example/rain.geojson", {}, False),
])
def test_services_and_pages_are_links_files_are_files(fmt, url, extra, service):
    assert is_service({"format": fmt, "url": url, **extra}) is service


async def test_a_dataset_s_services_are_recorded_as_links(ckan_server, fetcher):
    package = service_package(ckan_server.url, 100)
    ckan_server.packages.append(package)
    [record] = (await harvest(CKANSource(f"{ckan_server.url}/dataset/{package['name']}", SourceOptions()),
                              fetcher)).records
    assert [f.url for f in record.files] == [package["resources"][0]["url"]]
    assert record.metadata.links == tuple(r["url"] for r in package["resources"][1:])
