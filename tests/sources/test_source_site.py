"""The website crawl against the local website (tests.servers.site) with the real Fetcher."""

from __future__ import annotations

from mirror.sources import SourceOptions
from mirror.sources.site import CrawlScope, SiteSource
from tests.servers.site import CC_BY
from tests.sources.harvest import harvest

DEPTH_1 = ["/docs/license-link.html", "/docs/license-a.html", "/docs/jsonld.html", "/docs/dc-meta.html",
           "/docs/link-header.html", "/docs/nc.html", "/docs/no-license.html", "/docs/paper.html",
           "/docs/data.html", "/docs/deep/1.html", "/docs/private/secret.html", "/docs/gone.html"]


def crawl(server, **options) -> SiteSource:
    return SiteSource(server.docs, SourceOptions(**options))


def by_path(run, server) -> dict:
    return {k.removeprefix(server.url): v for k, v in run.by_id().items()}


def paths(run, server) -> list[str]:
    return [r.source_id.removeprefix(server.url) for r in run.records]


async def test_crawl_stays_in_scope_and_reads_each_page_once(site_server, fetcher):
    run = await harvest(crawl(site_server), fetcher)
    got = paths(run, site_server)
    assert got[0] == "/docs/" and len(got) == len(set(got))
    assert set(DEPTH_1) <= set(got)
    assert {"/docs/deep/2.html", "/docs/deep/3.html"} <= set(got) and "/docs/deep/4.html" not in got
    assert "/other/page.html" not in got and site_server.fetched("/other/page.html") == 0
    assert not any("elsewhere" in g or g.startswith(("mailto", "javascript")) for g in got)
    # the fragment link is the same page; the redirect leads to it again but it is one record
    assert got.count("/docs/license-link.html") == 1 and "/docs/redirect" not in got
    assert site_server.fetched("/docs/license-link.html") == 2 and site_server.fetched("/docs/redirect") == 1
    assert site_server.fetched("/docs/") == 1
    assert len(got) == 18 and run.final == {}


async def test_robots_gone_and_licences(site_server, fetcher):
    recs = by_path(await harvest(crawl(site_server), fetcher), site_server)
    assert recs["/docs/private/secret.html"].skipped == "robots"
    assert site_server.fetched("/docs/private/secret.html") == 0
    assert recs["/docs/gone.html"].skipped == "gone"
    assert list(recs["/docs/nc.html"].license_statements) == ["https://creativecommons.org/licenses/by-nc/4.0/"]
    assert list(recs["/docs/no-license.html"].license_statements) == []
    assert [f.url.removeprefix(site_server.url) for f in recs["/docs/paper.html"].files] == \
        ["/docs/paper.html", "/docs/paper.pdf"]


async def test_linked_files_become_records_inheriting_the_licence(site_server, fetcher):
    recs = by_path(await harvest(crawl(site_server), fetcher), site_server)
    data_page = site_server.url + "/docs/data.html"
    for path in ("/docs/table.csv", "/files/report.pdf"):       # same host, even outside the path scope
        rec = recs[path]
        assert list(rec.license_statements) == [CC_BY] and rec.metadata.landing_url == data_page
        assert rec.files[0].page is None and site_server.fetched(path) == 0   # the pipeline fetches it
    download = recs["/docs/download?id=7"]            # no extension: fetched, answers CSV
    assert download.files[0].page is not None and download.files[0].media_type == "text/csv"
    assert list(download.license_statements) == [CC_BY]
    assert not any("x.pdf" in k for k in recs)         # a file on another host is not taken


async def test_depth_limit(site_server, fetcher):
    run = await harvest(crawl(site_server, max_depth=1), fetcher)
    assert paths(run, site_server) == ["/docs/"] + DEPTH_1
    assert site_server.fetched("/docs/deep/2.html") == 0
    zero = await harvest(crawl(site_server, max_depth=0), fetcher)
    assert paths(zero, site_server) == ["/docs/"]


async def test_resume_from_the_saved_frontier(site_server, fetcher):
    full = paths(await harvest(crawl(site_server), fetcher), site_server)
    src = crawl(site_server)
    src.checkpoint_every = 8
    first = await harvest(src, fetcher, stop_after_checkpoints=1)
    assert set(first.checkpoints[0]) == {"queue", "seen"}
    rest = await harvest(crawl(site_server), fetcher, first.checkpoints[0])
    both = paths(first, site_server) + paths(rest, site_server)
    assert sorted(both) == sorted(full)


async def test_detect_and_scope(site_server, fetcher):
    assert await SiteSource.detect(site_server.docs, fetcher)
    assert not await SiteSource.detect(site_server.url + "/image.png", fetcher)
    assert not await SiteSource.detect(site_server.url + "/missing", fetcher)
    scope = CrawlScope("https://h.example/docs/index.html")
    assert "https://h.example/docs/a/b.html" in scope and "https://h.example/docs" not in scope
    assert "http://h.example/docs/a.html" not in scope and "https://h.example:8443/docs/" not in scope
    assert CrawlScope("https://h.example/docs").prefix == "/"
    port = site_server.url.rsplit(":", 1)[1]
    assert crawl(site_server).default_collection() == f"127.0.0.1-{port}-docs"


async def test_accept_reject_and_no_parent_choose_files_as_wget_does(site_server, fetcher):
    recs = by_path(await harvest(crawl(site_server, accept=("pdf",), no_parent=True), fetcher), site_server)
    paper = recs["/docs/paper.html"]                      # the page is left, the PDF it declares kept
    assert [f.url.removeprefix(site_server.url) for f in paper.files] == ["/docs/paper.pdf"]
    assert recs["/docs/table.csv"].skipped == "filtered" and recs["/docs/jsonld.html"].skipped == "filtered"
    assert "/files/report.pdf" not in recs                # --no-parent: outside the start folder
    assert "/docs/deep/2.html" in recs                    # pages are still read for their links
    assert site_server.fetched("/docs/table.csv") == 0    # a filtered file is never fetched

    recs = by_path(await harvest(crawl(site_server, reject=("*.pdf,html",)), fetcher), site_server)
    assert recs["/files/report.pdf"].skipped == "filtered" and recs["/docs/paper.html"].skipped == "filtered"
    assert recs["/docs/"].skipped == "filtered"           # a folder URL is index.html
    assert recs["/docs/table.csv"].skipped is None and recs["/docs/download?id=7"].skipped is None
