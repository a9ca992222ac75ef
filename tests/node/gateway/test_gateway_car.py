"""Trustless gateway, CAR responses: scopes, paths, byte ranges, duplicates, headers, truncation."""

from __future__ import annotations

import io
import os
from pathlib import Path

import aiohttp
import pytest
from tests.node.holder_server import SMALL, HolderServer, gateway, http  # noqa: F401  (fixtures)

from mirror.node.gateway.car import byte_span
from mirror.node.http import Problem
from mirror.store import ContentStore
from mirror.store.blockstore import BlockStore
from mirror.store.car import CarReader, import_car
from mirror.store.cid import CID
from mirror.store.exporter import walk_dag, walk_file_range

CAR_TYPE = "application/vnd.ipld.car"
PROBE = "bafkqaaa"


def read_car(body: bytes) -> tuple[list[CID], list[CID]]:
    """(roots, block CIDs in order) of a CAR body; every block is verified by the reader."""
    reader = CarReader(io.BytesIO(body))
    return reader.roots, [cid for cid, _block in reader]


async def get_car(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, bytes, dict]:
    async with http.get(url, headers=headers) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


@pytest.fixture
def tree(gateway: HolderServer, tmp_path: Path) -> dict[str, CID]:
    """A directory with a multi-block file, a small page and a sub-directory; their CIDs."""
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    big = os.urandom(20_000)
    (root / "big.bin").write_bytes(big)
    (root / "sub" / "note.txt").write_bytes(b"hello\n")
    store = gateway.node.store
    top = store.add_path(root, recursive=True, profile=SMALL).cid
    return {"root": top, "big": store.resolve(top, "big.bin"), "sub": store.resolve(top, "sub"),
            "note": store.resolve(top, "sub/note.txt")}


def expected(gateway: HolderServer, cid: CID, scope: str = "all") -> list[CID]:
    return [c for c, _ in walk_dag(gateway.node.store.blocks, cid, scope)]  # type: ignore[arg-type]


async def test_car_of_a_whole_dag_imports_into_a_fresh_store(gateway, http, tree, tmp_path) -> None:
    status, body, headers = await get_car(http, f"{gateway.url}/ipfs/{tree['root']}?format=car")
    assert status == 200
    assert headers["Content-Type"] == f"{CAR_TYPE}; version=1; order=dfs; dups=n"
    assert headers["Accept-Ranges"] == "none"
    assert headers["Content-Disposition"] == f'attachment; filename="{tree["root"]}.car"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "public, max-age=29030400, immutable"
    assert headers["Etag"].startswith(f'W/"{tree["root"]}.car.')
    assert "Content-Length" not in headers
    roots, blocks = read_car(body)
    assert roots == [tree["root"]] and blocks == expected(gateway, tree["root"])
    fresh = ContentStore(BlockStore(tmp_path / "fresh"))
    assert import_car(fresh.blocks, io.BytesIO(body)) == [tree["root"]]
    assert fresh.has_all(tree["root"])
    original = b"".join(gateway.node.store.cat(tree["big"]))
    assert b"".join(fresh.cat(fresh.resolve(tree["root"], "big.bin"))) == original


@pytest.mark.parametrize("scope", ["all", "entity", "block"])
async def test_each_dag_scope_on_a_directory_and_a_file(gateway, http, tree, scope: str) -> None:
    for name in ("root", "big"):
        url = f"{gateway.url}/ipfs/{tree[name]}?format=car&dag-scope={scope}"
        status, body, _ = await get_car(http, url)
        assert status == 200
        assert read_car(body)[1] == expected(gateway, tree[name], scope)
    _, body, _ = await get_car(http, f"{gateway.url}/ipfs/{tree['root']}?format=car&dag-scope={scope}")
    count = len(read_car(body)[1])
    assert count == {"block": 1, "entity": 1, "all": len(expected(gateway, tree["root"]))}[scope]


async def test_path_blocks_come_first_then_the_terminal(gateway, http, tree) -> None:
    url = f"{gateway.url}/ipfs/{tree['root']}/sub/note.txt?format=car&dag-scope=block"
    status, body, headers = await get_car(http, url)
    roots, blocks = read_car(body)
    assert status == 200 and roots == [tree["root"]]
    assert blocks == [tree["root"], tree["sub"], tree["note"]]
    assert headers["X-Ipfs-Roots"] == f"{tree['root']},{tree['sub']},{tree['note']}"
    status, _, _ = await get_car(http, f"{gateway.url}/ipfs/{tree['root']}/nope?format=car")
    assert status == 404


async def test_entity_bytes_sends_only_the_blocks_of_the_range(gateway, http, tree) -> None:
    blocks_store = gateway.node.store.blocks
    url = f"{gateway.url}/ipfs/{tree['big']}?format=car&entity-bytes=5000:6999"
    _, body, headers = await get_car(http, url)
    want = [c for c, _b, _p in walk_file_range(blocks_store, tree["big"], 5000, 2000)]
    got = read_car(body)[1]
    assert got == list(dict.fromkeys(want)) and len(got) < len(expected(gateway, tree["big"]))
    _, tail, _ = await get_car(http, f"{gateway.url}/ipfs/{tree['big']}?format=car&entity-bytes=-1000:*")
    assert read_car(tail)[1] == list(dict.fromkeys(
        c for c, _b, _p in walk_file_range(blocks_store, tree["big"], 19_000, 1000)))
    _, whole, other = await get_car(http, f"{gateway.url}/ipfs/{tree['big']}?format=car")
    assert headers["Etag"] != other["Etag"]                         # the Etag varies with the range
    status, _, _ = await get_car(http, f"{gateway.url}/ipfs/{tree['big']}?format=car&entity-bytes=99999:*")
    assert status == 400
    _, on_dir, _ = await get_car(http, f"{gateway.url}/ipfs/{tree['root']}?format=car&entity-bytes=0:10")
    assert read_car(on_dir)[1] == [tree["root"]]                     # ignored for a directory


def test_byte_span_rules() -> None:
    assert byte_span((0, None), 100) == (0, 100)
    assert byte_span((-10, None), 100) == (90, 10)
    assert byte_span((10, -50), 100) == (10, 41)
    assert byte_span((0, 500), 100) == (0, 100)
    assert byte_span((60, -50), 100) is None                         # empty: the block only
    with pytest.raises(Problem):
        byte_span((100, None), 100)


async def test_duplicates_are_repeated_only_with_dups_y(gateway, http, tmp_path) -> None:
    zeros = gateway.node.add_bytes(tmp_path, "zeros.bin", bytes(8192)).cid   # 8 equal leaves
    _, once, headers = await get_car(http, f"{gateway.url}/ipfs/{zeros}?format=car")
    _, every, headers_y = await get_car(http, f"{gateway.url}/ipfs/{zeros}?format=car&car-dups=y")
    assert len(read_car(once)[1]) == len(set(read_car(once)[1])) < len(read_car(every)[1])
    assert read_car(every)[1].count(read_car(once)[1][-1]) == 8
    assert headers_y["Content-Type"].endswith("dups=y") and headers["Content-Type"].endswith("dups=n")
    assert headers["Etag"] != headers_y["Etag"]
    _, by_accept, _ = await get_car(http, f"{gateway.url}/ipfs/{zeros}", Accept=f"{CAR_TYPE}; dups=y")
    assert by_accept == every


async def test_probe_car_has_the_root_and_no_identity_block(gateway, http) -> None:
    status, body, _ = await get_car(http, f"{gateway.url}/ipfs/{PROBE}?format=car")
    assert status == 200 and read_car(body) == ([CID.decode(PROBE)], [])


async def test_accept_header_head_and_304(gateway, http, tree) -> None:
    url = f"{gateway.url}/ipfs/{tree['root']}"
    async with http.get(url, headers={"Accept": f"{CAR_TYPE}; version=1"}) as resp:
        assert resp.status == 200 and read_car(await resp.read())[0] == [tree["root"]]
        assert resp.headers["Content-Location"] == f"/ipfs/{tree['root']}?format=car"
        etag = resp.headers["Etag"]
    async with http.head(url + "?format=car") as resp:
        assert resp.status == 200 and await resp.read() == b""
        assert resp.headers["Content-Type"].startswith(CAR_TYPE)
    async with http.get(url + "?format=car", headers={"If-None-Match": etag}) as resp:
        assert resp.status == 304


@pytest.mark.parametrize("query, status", [
    ("format=car&car-version=2", 406), ("format=car&car-version=x", 400),
    ("format=car&dag-scope=everything", 400), ("format=car&car-dups=maybe", 400),
    ("format=car&car-order=bfs", 400), ("format=car&car-order=unk", 200),
    ("format=car&entity-bytes=1-2", 400), ("format=car&entity-bytes=9:3", 400),
])
async def test_bad_car_parameters(gateway, http, tree, query: str, status: int) -> None:
    got, _, _ = await get_car(http, f"{gateway.url}/ipfs/{tree['big']}?{query}")
    assert got == status


async def test_missing_root_is_404_and_a_missing_child_ends_the_stream(gateway, http, tree) -> None:
    status, _, _ = await get_car(http, f"{gateway.url}/ipfs/{CID.of(b'x', 0x55)}?format=car")
    assert status == 404
    blocks = expected(gateway, tree["big"])
    gateway.node.store.blocks.delete(blocks[-1])                      # the last leaf
    body = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.get(f"{gateway.url}/ipfs/{tree['big']}?format=car") as resp:
            assert resp.status == 200
            async for chunk in resp.content.iter_any():
                body += chunk
    roots, got = read_car(bytes(body))         # what arrived is a valid CAR prefix ...
    assert roots == [tree["big"]] and got == blocks[:len(got)] and len(got) < len(blocks)
