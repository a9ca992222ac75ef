"""Deserialized gateway responses for browsers: files, ranges, directories, and the sandbox rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.node.holder_server import SMALL, HolderServer, gateway, http  # noqa: F401  (fixtures)

from mirror.node.gateway.files import clean_media_type
from mirror.node.gateway.request import content_disposition
from mirror.store.cid import CID

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def fetch(http, url: str, method: str = "GET", **headers: str) -> tuple[int, bytes, dict]:
    async with http.request(method, url, headers={**BROWSER, **headers},
                            allow_redirects=False) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


def assert_sandboxed(headers: dict) -> None:
    assert headers["Content-Security-Policy"].startswith("sandbox")
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_a_file_is_streamed_with_its_etag_and_sandbox(gateway, http, tmp_path) -> None:
    data = os.urandom(9000)
    cid = gateway.node.add_bytes(tmp_path, "blob", data).cid
    status, body, headers = await fetch(http, f"{gateway.url}/ipfs/{cid}")
    assert status == 200 and body == data
    assert headers["Etag"] == f'"{cid}"' and headers["Content-Length"] == "9000"
    assert headers["Cache-Control"] == "public, max-age=29030400, immutable"
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert_sandboxed(headers)
    status, body, headers = await fetch(http, f"{gateway.url}/ipfs/{cid}", "HEAD")
    assert status == 200 and body == b"" and headers["Content-Length"] == "9000"
    status, _, _ = await fetch(http, f"{gateway.url}/ipfs/{cid}", **{"If-None-Match": f'"{cid}"'})
    assert status == 304


async def test_range_on_a_multi_block_file(gateway, http, tmp_path) -> None:
    data = os.urandom(20_000)
    cid = gateway.node.add_bytes(tmp_path, "big", data).cid
    status, body, headers = await fetch(http, f"{gateway.url}/ipfs/{cid}", Range="bytes=3000-12999")
    assert status == 206 and body == data[3000:13000]
    assert headers["Content-Range"] == "bytes 3000-12999/20000"
    status, body, _ = await fetch(http, f"{gateway.url}/ipfs/{cid}", Range="bytes=19990-")
    assert status == 206 and body == data[19990:]
    status, _, _ = await fetch(http, f"{gateway.url}/ipfs/{cid}", Range="bytes=20000-")
    assert status == 416


async def test_indexed_plain_text_is_inline_with_both_filename_forms(gateway, http, tmp_path) -> None:
    result = gateway.node.add_bytes(tmp_path, "n.txt", "Grüße\n".encode())
    await gateway.node.index_content(result, media_type="text/plain; charset=utf-8", name="notes é.txt")
    status, body, headers = await fetch(http, f"{gateway.url}/ipfs/{result.cid}")
    assert status == 200 and body == "Grüße\n".encode()
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Disposition"] == \
        "inline; filename=\"notes _.txt\"; filename*=UTF-8''notes%20%C3%A9.txt"
    assert_sandboxed(headers)
    _, _, forced = await fetch(http, f"{gateway.url}/ipfs/{result.cid}?download=true&filename=a.txt")
    assert forced["Content-Disposition"] == 'attachment; filename="a.txt"'


@pytest.mark.parametrize("media_type, name", [
    ("text/html", "page.txt"),                  # the index says HTML: never inline
    (None, "page.html"),                        # the name says HTML
    (None, "drawing.svg"),                      # SVG can carry scripts
    ("application/xhtml+xml", None),
    ("image/svg+xml", "pic.png"),
    ("text/javascript", None),
])
async def test_scriptable_content_is_an_attachment(gateway, http, tmp_path, media_type, name) -> None:
    hostile = b"<html><script>fetch('/api/v1/status')</script><svg onload=alert(1)></svg></html>"
    result = gateway.node.add_bytes(tmp_path, "h", hostile)
    await gateway.node.index_content(result, media_type=media_type, name=name)
    status, body, headers = await fetch(http, f"{gateway.url}/ipfs/{result.cid}")
    assert status == 200 and body == hostile
    assert headers["Content-Disposition"].startswith("attachment;")
    assert_sandboxed(headers)
    assert headers["Content-Type"] != "text/html" or "attachment" in headers["Content-Disposition"]


def test_media_types_from_the_index_are_cleaned() -> None:
    assert clean_media_type("Text/Plain; Charset=UTF-8") == "text/plain; charset=utf-8"
    assert clean_media_type("image/png; name=x") == "image/png"
    assert clean_media_type("text/html\r\nX-Evil: 1") is None
    assert clean_media_type("nonsense") is None
    assert content_disposition("inline", '../"evil"\\name;.txt') == \
        "inline; filename=\"name_.txt\"; filename*=UTF-8''name%3B.txt"


@pytest.fixture
def site(gateway: HolderServer, tmp_path: Path) -> CID:
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "<b>bold & café.txt").write_bytes(b"text\n")
    (root / "docs" / "pic.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "web").mkdir()
    (root / "web" / "index.html").write_bytes(b"<html><script>alert(1)</script></html>")
    return gateway.node.store.add_path(root, recursive=True, profile=SMALL).cid


async def test_directory_redirects_then_lists_escaped_entries(gateway, http, site) -> None:
    status, _, headers = await fetch(http, f"{gateway.url}/ipfs/{site}/docs?x=1")
    assert status == 301 and headers["Location"] == f"/ipfs/{site}/docs/?x=1"
    status, body, headers = await fetch(http, f"{gateway.url}/ipfs/{site}/docs/")
    page = body.decode()
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert_sandboxed(headers)
    assert "&lt;b&gt;bold &amp; café.txt" in page and "<b>bold" not in page
    assert 'href="./%3Cb%3Ebold%20%26%20caf%C3%A9.txt"' in page
    assert 'href="../"' in page
    status, body, headers = await fetch(http, f"{gateway.url}/ipfs/{site}/docs/pic.svg")
    assert status == 200 and headers["Content-Type"] == "image/svg+xml"
    assert headers["Content-Disposition"] == 'attachment; filename="pic.svg"'
    status, body, headers = await fetch(
        http, f"{gateway.url}/ipfs/{site}/docs/%3Cb%3Ebold%20%26%20caf%C3%A9.txt")
    assert status == 200 and body == b"text\n" and headers["Content-Disposition"].startswith("inline;")
    roots = headers["X-Ipfs-Roots"].split(",")
    assert roots[0] == str(site) and len(roots) == 3


async def test_index_html_is_served_but_never_runs(gateway, http, site) -> None:
    status, body, headers = await fetch(http, f"{gateway.url}/ipfs/{site}/web/")
    assert status == 200 and body.startswith(b"<html><script>")
    assert headers["Content-Type"] == "text/html"
    assert headers["Content-Disposition"] == 'attachment; filename="index.html"'
    assert_sandboxed(headers)


async def test_missing_paths_and_blocks(gateway, http, site) -> None:
    status, _, headers = await fetch(http, f"{gateway.url}/ipfs/{site}/docs/absent.txt")
    assert status == 404 and headers["Access-Control-Allow-Origin"] == "*"
    status, _, _ = await fetch(http, f"{gateway.url}/ipfs/{CID.of(b'nothing', 0x55)}")
    assert status == 404


async def test_hamt_directory_lists_and_resolves_every_entry(gateway, http, tmp_path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    names = [f"entry-{i:03d}.txt" for i in range(60)]
    for name in names:
        (root / name).write_bytes(name.encode())
    top = gateway.node.store.add_path(root, recursive=True, profile=SMALL).cid
    assert gateway.node.store.stat(top).sharded
    status, body, _ = await fetch(http, f"{gateway.url}/ipfs/{top}/")
    assert status == 200 and all(f">{name}<" in body.decode() for name in names)
    status, body, _ = await fetch(http, f"{gateway.url}/ipfs/{top}/entry-042.txt")
    assert status == 200 and body == b"entry-042.txt"
