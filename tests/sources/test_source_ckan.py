"""The CKAN source against the local portal (tests.servers.ckan) with the real Fetcher."""

from __future__ import annotations

import pytest

from mirror.errors import FetchError
from mirror.sources import SourceOptions, open_source
from mirror.sources.ckan import ROWS, CKANSource, portal
from tests.servers.ckan import CKANServer, running
from tests.sources.harvest import harvest


async def test_harvest_pages_all_datasets(fetcher):
    async with running(CKANServer(n=2 * ROWS + 5)) as server:
        src = CKANSource(server.url, SourceOptions())
        run = await harvest(src, fetcher)
        assert len(run.records) == 2 * ROWS + 5 and src.total == 2 * ROWS + 5
        assert len({r.source_id for r in run.records}) == 2 * ROWS + 5
        assert run.checkpoints == [{"start": str(ROWS)}, {"start": str(2 * ROWS)}, {}]
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
    assert src.root == ckan_server.url and src.default_collection() == "127.0.0.1-rain-office"
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
    assert isinstance(opened, CKANSource) and opened.default_collection() == "127.0.0.1"


def test_portal_roots():
    assert portal("https://data.example.gov/data/dataset/abc") == ("https://data.example.gov/data", None)
    assert portal("https://data.example.gov/api/3/action/package_search?q=x") == ("https://data.example.gov", None)
    assert portal("https://d.example/group/maps/") == ("https://d.example", 'groups:"maps"')
