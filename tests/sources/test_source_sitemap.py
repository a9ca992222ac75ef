"""The sitemap source against the local website (tests.servers.site) with the real Fetcher."""

from __future__ import annotations

import gzip

import pytest

from mirror.errors import FetchError, TooLarge
from mirror.sources import SourceOptions
from mirror.sources.sitemap import SitemapSource, gunzip, sitemap_kind
from tests.servers.site import CC_BY
from tests.sources.harvest import harvest

ALL = ["/docs/", "/docs/license-link.html", "/docs/license-a.html", "/docs/jsonld.html", "/docs/dc-meta.html",
       "/docs/link-header.html", "/docs/no-license.html", "/docs/paper.html", "/docs/gone.html",
       "/docs/private/secret.html", "/docs/table.csv"]


def ids(run, server) -> list[str]:
    return [r.source_id.removeprefix(server.url) for r in run.records]


async def test_index_with_a_gzipped_child_lists_every_url(site_server, fetcher):
    run = await harvest(SitemapSource(site_server.sitemap, SourceOptions()), fetcher)
    assert ids(run, site_server) == ALL
    recs = {k.removeprefix(site_server.url): v for k, v in run.by_id().items()}
    assert recs["/docs/jsonld.html"].datestamp == "2024-02-01"
    assert recs["/docs/gone.html"].skipped == "gone" and recs["/docs/gone.html"].datestamp is None
    assert recs["/docs/private/secret.html"].skipped == "robots"
    assert site_server.fetched("/docs/private/secret.html") == 0


async def test_each_page_is_read_for_metadata_and_licence(site_server, fetcher):
    run = await harvest(SitemapSource(site_server.sitemap, SourceOptions()), fetcher)
    recs = {k.removeprefix(site_server.url): v for k, v in run.by_id().items()}
    assert list(recs["/docs/license-link.html"].license_statements) == [CC_BY]
    assert list(recs["/docs/license-a.html"].license_statements) == \
        ["http://creativecommons.org/licenses/by-sa/4.0/deed.fr"]
    assert list(recs["/docs/jsonld.html"].license_statements) == \
        ["https://creativecommons.org/publicdomain/zero/1.0/"]
    assert list(recs["/docs/link-header.html"].license_statements) == [CC_BY]
    assert list(recs["/docs/no-license.html"].license_statements) == []
    dc = recs["/docs/dc-meta.html"]
    assert list(dc.license_statements) == [CC_BY]
    assert (dc.metadata.title, dc.metadata.creators, dc.metadata.date, dc.metadata.language) == \
        ("Dublin Core title", ("Doe, Jane",), "2019-05-06", "en")
    assert dc.metadata.description == "About DC page."
    page = recs["/docs/license-link.html"]
    assert page.files[0].page is not None and page.files[0].media_type == "text/html"
    assert page.metadata.landing_url == page.source_id


async def test_citation_pdf_url_is_a_second_file(site_server, fetcher):
    run = await harvest(SitemapSource(site_server.sitemap, SourceOptions()), fetcher)
    paper = run.by_id()[site_server.url + "/docs/paper.html"]
    assert paper.metadata.title == "A paper about mirrors"
    assert list(paper.metadata.creators) == ["Smith, Ann", "Lee, Bo"]
    assert [f.url.removeprefix(site_server.url) for f in paper.files] == ["/docs/paper.html", "/docs/paper.pdf"]
    assert paper.files[1].page is None and paper.files[1].media_type == "application/pdf"
    table = run.by_id()[site_server.url + "/docs/table.csv"]
    assert table.files[0].page is not None and table.files[0].media_type == "text/csv"


async def test_a_single_urlset(site_server, fetcher):
    run = await harvest(SitemapSource(site_server.urlset, SourceOptions()), fetcher)
    assert ids(run, site_server) == ALL[:4]
    assert run.checkpoints == [{"cursor": "4", "since": "", "started": run.checkpoints[0]["started"]},
                               {"since": run.checkpoints[0]["started"]}]


async def test_resume_after_a_child_sitemap_and_inside_one(site_server, fetcher):
    first = await harvest(SitemapSource(site_server.sitemap, SourceOptions()), fetcher, stop_after_checkpoints=2)
    assert first.checkpoints[-1]["cursor"] == "1" and len(first.records) == 4
    rest = await harvest(SitemapSource(site_server.sitemap, SourceOptions()), fetcher, first.checkpoints[-1])
    assert ids(rest, site_server) == ALL[4:]
    inside = await harvest(SitemapSource(site_server.sitemap, SourceOptions()), fetcher,
                           {"cursor": "1.5", "started": "2030-01-01T00:00:00Z"})
    assert ids(inside, site_server) == ALL[9:]
    assert inside.final == {"since": "2030-01-01T00:00:00Z"}


async def test_incremental_run_reads_only_what_changed(site_server, fetcher):
    done = await harvest(SitemapSource(site_server.sitemap, SourceOptions()), fetcher)
    site_server.touch("/docs/jsonld.html", "2999-01-01")
    before = len(site_server.requests)
    again = await harvest(SitemapSource(site_server.sitemap, SourceOptions()), fetcher, done.final)
    assert ids(again, site_server) == ["/docs/jsonld.html"]
    fetched = [r.path for r in site_server.requests[before:]]
    assert "/sitemaps/more.xml.gz" not in fetched       # its lastmod is older than the last run
    assert fetched.count("/docs/jsonld.html") == 1 and "/docs/" not in fetched


async def test_a_failed_child_sitemap_is_a_failed_record_and_keeps_since(site_server, fetcher):
    site_server.sitemap_lastmod["/sitemaps/missing.xml"] = "2024-06-01"
    run = await harvest(SitemapSource(site_server.sitemap, SourceOptions()), fetcher,
                        {"since": "2001-01-01T00:00:00Z"})
    failed = run.by_id()[site_server.url + "/sitemaps/missing.xml"]
    assert "gone" in failed.error and len(run.records) == len(ALL) + 1
    assert run.final == {"since": "2001-01-01T00:00:00Z"}


async def test_a_missing_root_sitemap_fails_the_run(site_server, fetcher):
    with pytest.raises(FetchError, match="gone"):
        await harvest(SitemapSource(site_server.url + "/nope.xml", SourceOptions()), fetcher)


async def test_detect(site_server, fetcher):
    assert await SitemapSource.detect(site_server.sitemap, fetcher)
    assert await SitemapSource.detect(site_server.url + "/sitemaps/more.xml.gz", fetcher)
    assert not await SitemapSource.detect(site_server.docs, fetcher)
    port = site_server.url.rsplit(":", 1)[1]
    assert SitemapSource(site_server.sitemap, SourceOptions()).default_collection() == f"127.0.0.1-{port}"
    assert SitemapSource(site_server.urlset, SourceOptions()).default_collection() == f"127.0.0.1-{port}-sitemaps-pages"


def test_gzip_bomb_is_stopped_with_bounded_output():
    bomb = gzip.compress(b"\0" * (8 * 2**20))
    with pytest.raises(TooLarge):
        gunzip(bomb, "http://x/sitemap.xml.gz", limit=2**20)
    assert gunzip(b"<urlset/>", "u") == b"<urlset/>"
    assert sitemap_kind(b"<?xml version='1.0'?><sitemapindex xmlns='x'/>") == "sitemapindex"
    assert sitemap_kind(b"<html><body/></html>") is None
    assert sitemap_kind(b'<!DOCTYPE x [<!ENTITY a "b">]><urlset>&a;</urlset>') == "urlset"
