"""The Kubo RPC adapter against the fake Kubo (tests/fakes/kubo.py), plus the fake's own fidelity."""

from __future__ import annotations

import asyncio
import io
import os
import socket
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from mirror.errors import CIDMismatch, KuboError, NotReady
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.car import aiter_car
from mirror.store.cid import CID, RAW
from mirror.store.kubo import KuboClient, add_params, api_base
from mirror.store.profiles import PROFILES
from tests.fakes.kubo import FakeKubo


@pytest.fixture
async def kubo(tmp_path: Path):
    async with FakeKubo(tmp_path) as fake:
        yield fake


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(BlockStore(tmp_path / "ours"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_api_base_and_add_params() -> None:
    assert api_base("http://127.0.0.1:5001") == "http://127.0.0.1:5001/api/v0"
    assert api_base("http://h:5001/api/v0/") == "http://h:5001/api/v0"
    assert api_base("/ip4/127.0.0.1/tcp/5001") == "http://127.0.0.1:5001/api/v0"
    assert api_base("/ip6/::1/tcp/5001") == "http://[::1]:5001/api/v0"
    with pytest.raises(KuboError):
        api_base("127.0.0.1:5001")
    v1 = dict(add_params(PROFILES["unixfs-v1-2025"]))
    assert (v1["cid-version"], v1["raw-leaves"], v1["chunker"], v1["max-file-links"], v1["hash"]) == \
        ("1", "true", "size-1048576", "1024", "sha2-256")
    v0 = dict(add_params(PROFILES["unixfs-v0-2015"]))
    assert (v0["cid-version"], v0["raw-leaves"], v0["chunker"], v0["max-file-links"]) == \
        ("0", "false", "size-262144", "174")


async def test_version_and_request_shape(kubo: FakeKubo) -> None:
    async with KuboClient(kubo.url, auth="Bearer s3cret") as client:
        assert (await client.version())["Version"] == "0.40.0"
        assert (await client.id())["ID"].startswith("12D3KooW")
    assert [s.method for s in kubo.seen] == ["POST", "POST"]
    assert all("Origin" not in s.headers for s in kubo.seen)
    assert all(s.headers.get("Authorization") == "Bearer s3cret" for s in kubo.seen)


@pytest.mark.parametrize("name", list(PROFILES))
async def test_add_file_gives_our_cid_in_both_profiles(kubo: FakeKubo, store: ContentStore,
                                                       tmp_path: Path, name: str) -> None:
    path = tmp_path / "two and a half chunks.bin"
    path.write_bytes(os.urandom(PROFILES[name].chunk_size * 5 // 2))
    ours = store.cid_of(path, profile=name).cid
    async with KuboClient(kubo.url) as client:
        assert await client.add_file(path, PROFILES[name]) == ours
        assert await client.is_pinned(ours)
    query = dict(kubo.seen[-2].query)
    assert query["cid-version"] == str(PROFILES[name].cid_version)
    assert kubo.seen[-2].command == "add"


async def test_a_lying_kubo_raises_cid_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello world")
    async with FakeKubo(tmp_path, lie_about_add=True) as fake, KuboClient(fake.url) as client:
        with pytest.raises(CIDMismatch) as info:
            await client.add_file(path, PROFILES["unixfs-v1-2025"])
    assert info.value.exit_code == 4
    assert "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e" in str(info.value)


async def test_push_imports_exact_blocks_and_pins(kubo: FakeKubo, store: ContentStore,
                                                  tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"alpha")
    (tree / "sub" / "big.bin").write_bytes(os.urandom(2_500_000))
    for name in PROFILES:
        root = store.add_path(tree, recursive=True, profile=name).cid
        async with KuboClient(kubo.url) as client:
            await client.push(store.blocks, root)
            assert await client.is_pinned(root)
        assert kubo.is_pinned(root)
        assert set(store.blocks.iter_multihashes()) <= set(kubo.blocks.iter_multihashes())
    imports = [s for s in kubo.seen if s.command == "dag/import"]
    assert imports and dict(imports[0].query)["pin-roots"] == "true"


async def test_is_pinned_is_false_for_an_unpinned_cid(kubo: FakeKubo) -> None:
    async with KuboClient(kubo.url) as client:
        assert not await client.is_pinned(CID.of(b"never added", RAW))


async def test_incomplete_dag_import_fails_with_kubo_pin_error(kubo: FakeKubo, store: ContentStore,
                                                               tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_bytes(b"x" * 10)
    (tmp_path / "d" / "y").write_bytes(b"y" * 10)
    root = store.add_path(tmp_path / "d", recursive=True).cid
    async with KuboClient(kubo.url) as client:
        with pytest.raises(KuboError, match="could not pin"):     # the CAR holds the directory node only
            await client.dag_import(aiter_car(store.blocks, [root], "entity"))
        assert not await client.is_pinned(root)


async def test_stream_error_after_output_is_detected(tmp_path: Path, store: ContentStore) -> None:
    root = store.add_file(io.BytesIO(b"content"), "unixfs-v1-2025").cid
    path = tmp_path / "f.txt"
    path.write_bytes(b"content")
    async with FakeKubo(tmp_path, stream_error="pin: context canceled") as fake, \
            KuboClient(fake.url) as client:
        with pytest.raises(KuboError, match="did not report the root"):
            await client.push(store.blocks, root)
        with pytest.raises(KuboError, match="no CID"):
            await client.add_file(path, PROFILES["unixfs-v1-2025"])


async def test_fake_sends_the_stream_error_trailer_on_the_wire(tmp_path: Path) -> None:
    async with FakeKubo(tmp_path, stream_error="boom") as fake:
        port = int(fake.url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = (b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\nhello\r\n--x--\r\n")
        writer.write(b"POST /api/v0/add?cid-version=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\n"
                     + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        raw = await reader.read()
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert b"200 OK" in head and b"Trailer: X-Stream-Error" in head and b"X-Chunked-Output: 1" in head
    assert payload.endswith(b"0\r\nX-Stream-Error: boom\r\n\r\n")


async def test_fake_refuses_get_unknown_commands_and_origins(kubo: FakeKubo) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{kubo.url}/api/v0/version") as resp:
            assert resp.status == 405 and resp.headers["Allow"] == "OPTIONS, POST"
            assert await resp.text() == "405 - Method Not Allowed\n"
        async with session.post(f"{kubo.url}/api/v0/no/such/command") as resp:
            assert resp.status == 404 and await resp.text() == "404 page not found\n"
        async with session.post(f"{kubo.url}/api/v0/version",
                                headers={"Origin": "http://evil.example"}) as resp:
            assert resp.status == 403
        async with session.post(f"{kubo.url}/api/v0/pin/ls?arg=notacid") as resp:
            assert resp.status == 500
            assert (await resp.json())["Type"] == "error"
        async with session.post(f"{kubo.url}/api/v0/add?pin=maybe") as resp:
            assert resp.status == 400 and (await resp.json())["Code"] == 1


async def test_client_errors_are_clear(kubo: FakeKubo, tmp_path: Path) -> None:
    async with KuboClient(kubo.url + "/not-the-api") as client:
        with pytest.raises(KuboError) as info:
            await client.version()
        assert info.value.status == 404 and info.value.hint
    async with KuboClient(kubo.url) as client:
        with pytest.raises(KuboError) as info:
            await client.block_stat(CID.of(b"absent", RAW))
        assert info.value.status == 500 and "could not find" in info.value.message


async def test_a_server_that_answers_405_is_reported(unused_tcp_port: int) -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=405, text="405 method not allowed")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", unused_tcp_port)
    await site.start()
    try:
        async with KuboClient(f"http://127.0.0.1:{unused_tcp_port}") as client:
            with pytest.raises(KuboError) as info:
                await client.version()
        assert info.value.status == 405 and "POST" in (info.value.hint or "")
    finally:
        await runner.cleanup()


async def test_connection_refused_is_not_ready() -> None:
    async with KuboClient(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(NotReady) as info:
            await client.version()
    assert info.value.exit_code == 3 and "ipfs daemon" in (info.value.hint or "")


async def test_block_stat(kubo: FakeKubo, store: ContentStore, tmp_path: Path) -> None:
    cid = store.add_file(io.BytesIO(b"hello world"), "unixfs-v1-2025").cid
    async with KuboClient(kubo.url) as client:
        await client.push(store.blocks, cid)
        assert await client.block_stat(cid) == 11
