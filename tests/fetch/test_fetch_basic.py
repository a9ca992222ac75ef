"""Pages, files, outcomes, decoding and headers against the real origin server."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from mirror.errors import BadResponse, BadStatus, FetchError
from mirror.fetch import Fetcher, FetchedFile, Page, Skipped
from mirror.licenses import decide, from_html, from_link_header
from mirror.settings import Settings
from tests.fetch.conftest import staged_files
from tests.servers.origin import Origin, payload, payload_sha256


@pytest.fixture
async def fetcher(settings: Settings, staging: Path):
    async with Fetcher(settings, staging, per_host=4, delay=0.0) as f:
        yield f


async def test_get_page(fetcher: Fetcher, origin: Origin) -> None:
    page = await fetcher.get_page(origin.url("/file/5000?ct=text/plain"))
    assert isinstance(page, Page)
    assert page.status == 200 and page.body == payload(5000)
    assert page.url == page.final_url == origin.url("/file/5000?ct=text/plain")
    assert page.headers["content-type"] == page.headers["Content-Type"] == "text/plain"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", page.fetched_at)
    assert fetcher.stats.requests == 2 and fetcher.stats.bytes == 5000  # robots.txt, then the page
    assert [h.path for h in origin.recorder.hits] == ["/robots.txt", "/file/5000?ct=text/plain"]


@pytest.mark.parametrize("chunked", ["", "&chunked=1"])
async def test_fetch_file_hashes_while_streaming(fetcher: Fetcher, origin: Origin, staging: Path,
                                                 chunked: str) -> None:
    size = 3 * 2**20 + 17
    result = await fetcher.fetch_file(origin.url(f"/file/{size}?ct=application/pdf;+charset=binary{chunked}"))
    assert isinstance(result, FetchedFile)
    assert result.size == size and result.sha256 == payload_sha256(size)
    assert hashlib.sha256(result.path.read_bytes()).hexdigest() == result.sha256
    assert result.path.parent == staging and staged_files(staging) == [result.path]
    assert result.media_type == "application/pdf"


@pytest.mark.parametrize("size, in_memory", [(0, True), (5000, True), (256 * 1024, True),
                                             (256 * 1024 + 1, False), (3 * 2**20, False)])
@pytest.mark.parametrize("chunked", ["", "?chunked=1"])
async def test_a_small_body_is_spooled_in_memory(fetcher: Fetcher, origin: Origin, staging: Path,
                                                 size: int, in_memory: bool, chunked: str) -> None:
    result = await fetcher.fetch_file(origin.url(f"/file/{size}{chunked}"), spool=256 * 1024)
    assert isinstance(result, FetchedFile)
    assert result.size == size and result.sha256 == payload_sha256(size)
    if in_memory:
        assert result.path is None and result.body == payload(size)
        assert staged_files(staging) == []                      # no file was ever made
    else:
        assert result.body is None and result.path is not None
        assert result.path.read_bytes() == payload(size) and staged_files(staging) == [result.path]
    unhashed = await fetcher.fetch_file(origin.url(f"/file/{size}{chunked}"), spool=256 * 1024,
                                        digest=False)
    assert isinstance(unhashed, FetchedFile) and unhashed.sha256 is None
    assert (unhashed.body if in_memory else unhashed.path.read_bytes()) == payload(size)  # type: ignore[union-attr]


async def test_empty_file(fetcher: Fetcher, origin: Origin) -> None:
    result = await fetcher.fetch_file(origin.url("/file/0"))
    assert isinstance(result, FetchedFile)
    assert result.size == 0 and result.sha256 == hashlib.sha256(b"").hexdigest() and result.path.exists()


@pytest.mark.parametrize("code", [404, 410])
async def test_gone_is_an_outcome(fetcher: Fetcher, origin: Origin, staging: Path, code: int) -> None:
    for result in (await fetcher.get_page(origin.url(f"/status/{code}")),
                   await fetcher.fetch_file(origin.url(f"/status/{code}"))):
        assert result == Skipped(origin.url(f"/status/{code}"), "gone", code)
    assert fetcher.stats.gone == 2 and staged_files(staging) == []


async def test_client_errors_fail_without_retry(fetcher: Fetcher, origin: Origin) -> None:
    with pytest.raises(BadStatus) as info:
        await fetcher.get_page(origin.url("/status/403"))
    assert info.value.status == 403 and not info.value.retryable
    assert origin.recorder.count("/status/403") == 1 and fetcher.stats.errors == 1
    assert info.value.body == b"status page"             # kept for an API's explanation


@pytest.mark.parametrize("code", [400, 404, 410, 422])
async def test_an_error_answer_can_be_read_as_a_page(fetcher: Fetcher, origin: Origin, code: int) -> None:
    page = await fetcher.get_page(origin.url(f"/status/{code}"), any_status=True)
    assert isinstance(page, Page) and (page.status, page.body) == (code, b"status page")
    assert origin.recorder.count(f"/status/{code}") == 1


async def test_a_304_answers_only_a_conditional_request(fetcher: Fetcher, origin: Origin) -> None:
    validators = {"If-None-Match": '"abc"'}
    for got in (await fetcher.get_page(origin.url("/status/304"), headers=validators),
                await fetcher.fetch_file(origin.url("/status/304"), headers=validators, spool=1024)):
        assert not isinstance(got, Skipped) and got.status == 304
    with pytest.raises(BadResponse, match="not conditional"):
        await fetcher.get_page(origin.url("/status/304"))


async def test_identifying_headers(settings: Settings, staging: Path, origin: Origin) -> None:
    settings.set("fetch.contact", "ops@example.org")
    async with Fetcher(settings, staging, delay=0) as fetcher:
        sent = (await fetcher.get_page(origin.url("/headers"))).json()  # type: ignore[union-attr]
    assert sent["User-Agent"] == settings.fetch.user_agent + " (contact: ops@example.org)"
    assert sent["Accept-Encoding"] == "gzip, deflate"
    assert "Origin" not in sent and "Cookie" not in sent


async def test_user_agent_without_contact(fetcher: Fetcher, origin: Origin, settings: Settings) -> None:
    sent = (await fetcher.get_page(origin.url("/headers"))).json()  # type: ignore[union-attr]
    assert sent["User-Agent"] == settings.fetch.user_agent


async def test_extra_request_headers(fetcher: Fetcher, origin: Origin) -> None:
    page = await fetcher.get_page(origin.url("/headers"), headers={"If-None-Match": '"abc"'})
    assert page.json()["If-None-Match"] == '"abc"'  # type: ignore[union-attr]


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
async def test_content_encoding_is_decoded(fetcher: Fetcher, origin: Origin, encoding: str) -> None:
    page = await fetcher.get_page(origin.url(f"/gzip?size=300000&encoding={encoding}"))
    assert page.body == payload(300000)  # type: ignore[union-attr]
    file = await fetcher.fetch_file(origin.url(f"/gzip?size=300000&encoding={encoding}"))
    assert file.sha256 == payload_sha256(300000) and file.size == 300000  # type: ignore[union-attr]


@pytest.mark.parametrize("charset", ["utf-8", "iso-8859-1", "utf-16"])
async def test_page_text_uses_the_declared_charset(fetcher: Fetcher, origin: Origin, charset: str) -> None:
    page = await fetcher.get_page(origin.url(f"/html?charset={charset}"))
    assert "Grüße, café" in page.text()  # type: ignore[union-attr]


def test_page_text_sniffs_meta_and_survives_garbage() -> None:
    meta = Page("u", "u", 200, {}, '<meta charset="windows-1252"><p>café</p>'.encode("cp1252"), "t")
    assert "café" in meta.text()
    bad = Page("u", "u", 200, {"Content-Type": "text/html; charset=nonsense"}, b"\xff\x80ok", "t")
    assert bad.text() == "\ufffd\ufffdok"


async def test_page_json_rejects_non_json(fetcher: Fetcher, origin: Origin) -> None:
    page = await fetcher.get_page(origin.url("/file/100"))
    with pytest.raises(BadResponse):
        page.json()  # type: ignore[union-attr]


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "not a url", "http:///x"])
async def test_only_http_urls(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError) as info:
        await fetcher.get_page(url)
    assert not info.value.retryable and fetcher.stats.requests == 0


@pytest.mark.parametrize(("kind", "spdx"), [
    ("link", "CC-BY-4.0"), ("a", "CC-BY-SA-4.0"), ("jsonld", "CC0-1.0"), ("meta", "CC-BY-4.0"),
    ("header", "CC-BY-4.0"), ("nc", None), ("none", None),
])
async def test_licence_pages(fetcher: Fetcher, origin: Origin, kind: str, spdx: str | None) -> None:
    page = await fetcher.get_page(origin.url(f"/license/{kind}"))
    assert isinstance(page, Page)
    decision = decide(from_html(page.body, page.final_url) + from_link_header(page.headers))
    assert decision.spdx == spdx or (kind == "nc" and decision.reason == "non-commercial")
    assert decision.allowed is (spdx is not None)
