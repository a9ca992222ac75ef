"""``open_source``: auto-detection of every kind, ``kind=`` forcing, and NotACollection."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mirror.errors import FetchError, NotACollection
from mirror.sources import SOURCES, SourceOptions, open_source
from mirror.sources.folder import FolderSource

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"


async def kind_of(location: str, fetcher, **options) -> str:
    return (await open_source(location, fetcher, SourceOptions(**options))).kind


def test_registry_names_every_kind():
    assert sorted(SOURCES) == sorted(["oai-pmh", "sitemap", "site", "ckan", "archive-org", "manifest", "folder"])


async def test_local_locations(tmp_path, fetcher):
    assert await kind_of(str(FIXTURES / "mixed.jsonl"), fetcher) == "manifest"
    assert await kind_of(str(FIXTURES / "good.csv"), fetcher) == "manifest"
    assert await kind_of((FIXTURES / "mixed.jsonl").as_uri(), fetcher) == "manifest"
    assert await kind_of(str(FIXTURES), fetcher, license=["CC0-1.0"]) == "folder"


async def test_local_locations_that_are_not_collections(tmp_path, fetcher):
    (tmp_path / "empty").mkdir()
    (tmp_path / "dots").mkdir()
    (tmp_path / "dots" / ".keep").write_text("")
    with pytest.raises(NotACollection, match="no such file or folder"):
        await kind_of(str(tmp_path / "missing.jsonl"), fetcher)
    for name in ("empty", "dots"):
        with pytest.raises(NotACollection, match="holds no files"):
            await kind_of(str(tmp_path / name), fetcher, license=["CC0-1.0"])
    with pytest.raises(NotACollection, match="not a manifest") as info:
        await kind_of(str(FIXTURES / "files" / "alpha.txt"), fetcher)
    assert "--kind" in (info.value.hint or "")


async def test_urls_of_each_kind(oai_server, ckan_server, site_server, fetcher):
    assert await kind_of(oai_server.url, fetcher) == "oai-pmh"
    assert await kind_of(ckan_server.url, fetcher) == "ckan"
    assert await kind_of(site_server.sitemap, fetcher) == "sitemap"
    assert await kind_of(site_server.url + "/sitemaps/more.xml.gz", fetcher) == "sitemap"
    assert await kind_of(site_server.url + "/collection/manifest.jsonl", fetcher) == "manifest"
    assert await kind_of("https://archive.org/details/opensource", fetcher) == "archive-org"
    assert await kind_of(site_server.docs, fetcher) == "site"
    plain = [r for r in site_server.requests if r.path == "/docs/" and not r.query]
    assert len(plain) == 1          # the sitemap and site probes shared one fetch of the page


async def test_urls_that_are_not_collections(site_server, fetcher):
    with pytest.raises(NotACollection, match="not a collection") as info:
        await kind_of(site_server.url + "/image.png", fetcher)
    assert "--kind" in info.value.hint
    with pytest.raises(NotACollection, match="gone"):
        await kind_of(site_server.url + "/nothing-here", fetcher)
    with pytest.raises(NotACollection, match="robots"):
        await kind_of(site_server.url + "/docs/private/secret.html", fetcher)


async def test_an_unreachable_host_is_a_fetch_error(fetcher):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError) as info:
        await kind_of(f"http://127.0.0.1:{port}/", fetcher)
    assert not isinstance(info.value, NotACollection) and info.value.retryable


async def test_kind_forces_the_source(site_server, fetcher):
    forced = await open_source(site_server.sitemap, fetcher, SourceOptions(), kind="site")
    assert forced.kind == "site"
    with pytest.raises(NotACollection, match="unknown source kind"):
        await open_source(site_server.docs, fetcher, SourceOptions(), kind="ftp")
    assert isinstance(await open_source(str(FIXTURES), fetcher, SourceOptions(license=["CC0-1.0"]),
                                        kind="folder"), FolderSource)
