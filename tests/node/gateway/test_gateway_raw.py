"""Trustless gateway, raw blocks: negotiation, headers, statuses, ranges, the probe, the limiter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from yarl import URL
from tests.node.holder_server import HolderServer, gateway, http, make_node  # noqa: F401  (fixtures)

from mirror.node.gateway.routes import accepted_types, negotiate
from mirror.node.gateway.request import GATEWAY, Problem
from mirror.node.limits import UploadLimiter
from mirror.store.cid import CID, RAW
from tests.node.node_helpers import wait_for

RAW_TYPE = "application/vnd.ipld.raw"
PROBE = "bafkqaaa"
BLOCK = b"a block of bytes, " * 50


def put(server: HolderServer, data: bytes = BLOCK) -> CID:
    cid = CID.of(data, RAW)
    server.node.store.blocks.put(cid, data)
    return cid


async def test_raw_block_with_every_trustless_header(gateway, http) -> None:
    cid = put(gateway)
    async with http.get(f"{gateway.url}/ipfs/{cid}?format=raw") as resp:
        body = await resp.read()
        headers = resp.headers
    assert resp.status == 200 and body == BLOCK
    assert headers["Content-Type"] == RAW_TYPE
    assert headers["Content-Length"] == str(len(BLOCK))
    assert headers["Content-Disposition"] == f'attachment; filename="{cid}.bin"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "public, max-age=29030400, immutable"
    assert headers["Etag"] == f'"{cid}.raw"'
    assert headers["X-Ipfs-Path"] == f"/ipfs/{cid}"
    assert headers["X-Ipfs-Roots"] == str(cid)
    assert headers["Vary"] == "Accept"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Ipfs-Roots" in headers["Access-Control-Expose-Headers"]
    assert "Content-Location" not in headers          # the format came from the query


async def test_accept_header_selects_raw_and_sets_content_location(gateway, http) -> None:
    cid = put(gateway)
    async with http.get(f"{gateway.url}/ipfs/{cid}", headers={"Accept": RAW_TYPE}) as resp:
        assert resp.status == 200 and await resp.read() == BLOCK
        assert resp.headers["Content-Location"] == f"/ipfs/{cid}?format=raw"
    car_first = {"Accept": "application/vnd.ipld.car"}
    async with http.get(f"{gateway.url}/ipfs/{cid}?format=raw", headers=car_first) as resp:
        assert resp.headers["Content-Type"] == RAW_TYPE      # format= beats Accept


async def test_head_has_the_headers_and_no_body(gateway, http) -> None:
    cid = put(gateway)
    async with http.head(f"{gateway.url}/ipfs/{cid}?format=raw") as resp:
        assert resp.status == 200 and await resp.read() == b""
        assert resp.headers["Content-Length"] == str(len(BLOCK))
        assert resp.headers["Etag"] == f'"{cid}.raw"'
    async with http.head(f"{gateway.url}/ipfs/{CID.of(b'other', RAW)}?format=raw") as resp:
        assert resp.status == 404


async def test_probe_cid_answers_empty(gateway, http) -> None:
    for query in ("?format=raw", ""):
        headers = {"Accept": RAW_TYPE} if not query else {}
        async with http.get(f"{gateway.url}/ipfs/{PROBE}{query}", headers=headers) as resp:
            assert resp.status == 200 and await resp.read() == b""
            assert resp.headers["Content-Type"] == RAW_TYPE


async def test_range_on_a_raw_block(gateway, http) -> None:
    cid = put(gateway)
    url = f"{gateway.url}/ipfs/{cid}?format=raw"
    async with http.get(url, headers={"Range": "bytes=5-14"}) as resp:
        assert resp.status == 206 and await resp.read() == BLOCK[5:15]
        assert resp.headers["Content-Range"] == f"bytes 5-14/{len(BLOCK)}"
    async with http.get(url, headers={"Range": "bytes=-4"}) as resp:
        assert resp.status == 206 and await resp.read() == BLOCK[-4:]
    async with http.get(url, headers={"Range": f"bytes={len(BLOCK)}-"}) as resp:
        assert resp.status == 416 and resp.headers["Content-Range"] == f"bytes */{len(BLOCK)}"
    async with http.get(url, headers={"Range": "bytes=0-1,5-6"}) as resp:
        assert resp.status == 200 and await resp.read() == BLOCK       # several ranges: all of it


async def test_if_none_match_gives_304(gateway, http) -> None:
    cid = put(gateway)
    url = f"{gateway.url}/ipfs/{cid}?format=raw"
    async with http.get(url, headers={"If-None-Match": f'"{cid}.raw"'}) as resp:
        assert resp.status == 304 and await resp.read() == b""
        assert resp.headers["Etag"] == f'"{cid}.raw"'
    async with http.get(url, headers={"If-None-Match": '"something-else"'}) as resp:
        assert resp.status == 200


@pytest.mark.parametrize("path, headers, status", [
    ("/ipfs/not-a-cid?format=raw", {}, 400),
    ("/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzd!?format=raw", {}, 400),
    ("/ipfs/{cid}/some/path?format=raw", {}, 400),
    ("/ipfs/{cid}?format=bogus", {}, 400),
    ("/ipfs/{cid}", {"Service-Worker": "script"}, 400),
    ("/ipfs/{missing}?format=raw", {}, 404),
    ("/ipfs/{missing}?format=raw", {"Cache-Control": "only-if-cached"}, 412),
    ("/ipfs/{cid}?format=raw", {"Cache-Control": "only-if-cached"}, 200),
    ("/ipfs/{cid}?format=tar", {}, 406),
    ("/ipfs/{cid}?format=dag-json", {}, 406),
    ("/ipfs/{cid}", {"Accept": "application/vnd.ipld.dag-json"}, 406),
    ("/ipfs/{cid}", {"Accept": "application/x-tar, application/vnd.ipld.raw;q=0.5"}, 200),
])
async def test_statuses(gateway, http, path: str, headers: dict[str, str], status: int) -> None:
    cid = put(gateway)
    url = gateway.url + path.format(cid=cid, missing=CID.of(b"not held", RAW))
    async with http.get(url, headers=headers) as resp:
        text = await resp.text()
        assert resp.status == status, text
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
    if status >= 400:
        assert text.strip()                                  # a one-line reason


async def test_options_preflight_has_cors(gateway, http) -> None:
    async with http.options(f"{gateway.url}/ipfs/{PROBE}") as resp:
        assert resp.status == 200
        assert "GET" in resp.headers["Access-Control-Allow-Methods"]


def test_accept_ranking_and_negotiation() -> None:
    ranked = accepted_types("text/html;q=0.9, application/vnd.ipld.car;version=1;q=1, */*;q=0")
    assert ranked == [("application/vnd.ipld.car", {"version": "1"}), ("text/html", {})]
    assert negotiate({}, "text/html,application/xhtml+xml,*/*;q=0.8").kind == "file"
    assert negotiate({}, "").kind == "file"
    wanted = negotiate({}, "application/vnd.ipld.car; dups=y")
    assert (wanted.kind, wanted.from_accept, dict(wanted.params)) == ("car", True, {"dups": "y"})
    assert negotiate({"format": "raw"}, "application/vnd.ipld.car").from_accept is False
    with pytest.raises(Problem) as err:
        negotiate({"format": "cbor"}, "")
    assert err.value.status == 406


def test_token_bucket_delays_by_the_bytes_over_the_burst() -> None:
    bucket = UploadLimiter(rate=1000, burst=100)
    assert bucket.delay_for(100) == 0
    assert bucket.delay_for(500) == pytest.approx(0.5, abs=0.02)
    assert bucket.delay_for(100) == pytest.approx(0.6, abs=0.02)      # queued behind the first
    assert bucket.taken == 700


async def test_upload_rate_setting_limits_served_bodies(tmp_path: Path, http) -> None:
    node = await make_node(tmp_path / "limited", upload_rate=1_000_000)
    server = await HolderServer(node).start()
    try:
        cid = put(server)
        async with http.get(f"{server.url}/ipfs/{cid}?format=raw") as resp:
            assert await resp.read() == BLOCK
        limiter = server.app[GATEWAY].limiter
        assert limiter is not None and limiter.rate == 1_000_000 and limiter.taken == len(BLOCK)
    finally:
        await server.close()
        await node.close()


async def test_dot_segments_are_refused(gateway, http) -> None:
    cid = put(gateway)
    for path in (f"/ipfs/{cid}/a/../b", f"/ipfs/{cid}/./b", f"/ipfs/{cid}/a/%2E%2E/b"):
        async with http.get(URL(gateway.url + path, encoded=True)) as resp:
            assert resp.status == 400 and "not allowed" in await resp.text(), path


async def test_a_busy_gateway_says_429_with_retry_after_then_serves_again(tmp_path: Path, http) -> None:
    """Past node.gateway_in_flight answers at once, an IPFS client is told to come back (Kubo and
    Rainbow put the provider in cooldown) instead of queueing on a node already at work."""
    node = await make_node(tmp_path / "busy", upload_rate=100_000, in_flight=2)
    server = await HolderServer(node).start()
    try:
        cid = put(server, b"x" * 150_000)          # past the 64 KiB burst: ~1 s a body at 100 kB/s
        url = f"{server.url}/ipfs/{cid}?format=raw"
        slow = [asyncio.create_task(_status(http, url)) for _ in range(2)]
        await wait_for(lambda: server.node_state().in_flight == 2, what="two answers in flight")
        async with http.get(url) as resp:
            assert resp.status == 429 and resp.headers["Retry-After"] == "1"
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert await asyncio.gather(*slow) == [200, 200]
        assert await _status(http, f"{server.url}/ipfs/{PROBE}?format=raw") == 200
    finally:
        await server.close()


async def _status(http, url: str) -> int:
    async with http.get(url) as resp:
        await resp.read()
        return resp.status
