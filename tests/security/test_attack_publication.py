"""A node publishes only what it means to (issue 16 item 2), attacked on loopback with real
processes: a document without an open licence stays private to its home (not in the signed feed,
the search page, the JSON API, OAI-PMH, the routing API or the gateway, in any format or encoding,
nor in a peer that syncs from it), content stored outside any document is not served either, and
no absolute local path reaches a peer in any entry."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import aiohttp

from mirror.store.cid import CID
from tests.processes import ok, serving

SECRET = "zanzibarquokka"          # a word only the private documents contain


def files(tmp_path: Path) -> dict[str, Path]:
    """A private note, a private file of several blocks, a file added with --no-index, a folder
    and a manifest naming files by absolute and relative paths, and a licensed report."""
    work = tmp_path / "work"
    (work / "folder" / "sub").mkdir(parents=True)
    (work / "folder" / "sub" / "river.txt").write_text("rivers of the folder, licensed\n")
    (work / "files").mkdir()
    (work / "files" / "lake.txt").write_text("a lake named in a manifest by a relative path\n")
    (work / "files" / "sea.txt").write_text("a sea named in a manifest by its absolute path\n")
    (work / "manifest.jsonl").write_text(
        json.dumps({"url": "files/lake.txt", "license": "CC0-1.0", "title": "Lake"}) + "\n"
        + json.dumps({"url": str(work / "files" / "sea.txt"), "license": "CC0-1.0", "title": "Sea"}) + "\n")
    (work / "report.txt").write_text("a public report with an open licence\n")
    (work / "secret.txt").write_text(f"my private note: {SECRET}\n")
    big = bytearray(os.urandom(3 << 20))
    big[:len(SECRET)] = SECRET.encode()
    (work / "big-secret.bin").write_bytes(bytes(big))
    (work / "unindexed.bin").write_bytes(os.urandom(5000))
    return {"work": work, "secret": work / "secret.txt", "big": work / "big-secret.bin",
            "unindexed": work / "unindexed.bin", "report": work / "report.txt"}


async def fill(home: Path, f: dict[str, Path]) -> dict[str, str]:
    """Everything stored in HOME through the CLI; the CIDs of what must stay private."""
    work = f["work"]
    await ok(home, "mirror", str(work / "folder"), "--assume-license", "CC-BY-4.0")
    await ok(home, "mirror", str(work / "manifest.jsonl"))
    await ok(home, "add", str(f["report"]), "--license", "CC-BY-4.0", "--collection", "reports")
    cids = {name: (await ok(home, "add", str(f[name]))).split()[-1] for name in ("secret", "big")}
    cids["unindexed"] = (await ok(home, "add", "--no-index", str(f["unindexed"]))).split()[-1]
    return cids


def inner_block(home: Path, cid: str) -> str:
    """A leaf block of a stored DAG of several blocks, by its CID."""
    from mirror.store.blockstore import BlockStore
    from mirror.store.dagpb import decode_node

    node = decode_node(BlockStore(home / "blocks").get(CID.decode(cid)))
    return str(CID.from_bytes(node.links[0].hash))


async def get(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, bytes]:
    async with http.get(url, headers=headers) as resp:
        return resp.status, await resp.read()


async def test_a_private_document_appears_in_no_face_and_in_no_peer(tmp_path: Path) -> None:
    home, peer = tmp_path / "home", tmp_path / "peer"
    f = files(tmp_path)
    cids = await fill(home, f)
    async with serving(home) as url, aiohttp.ClientSession() as http:
        for path in (f"/?q={SECRET}", f"/api/v1/search?q={SECRET}", "/api/v1/search?q=&limit=100",
                     "/oai?verb=ListRecords&metadataPrefix=oai_dc", "/oai?verb=ListIdentifiers&metadataPrefix=oai_dc",
                     "/oai?verb=ListSets", "/collection/", "/collection/local"):
            status, body = await get(http, url + path)          # (the search page repeats the query)
            assert b"my private note" not in body and b"secret.txt" not in body, (path, status)
            assert not [c for c in cids.values() if c.encode() in body], path
            assert b"<setSpec>local</setSpec>" not in body and b'href="/collection/local"' not in body, path
        assert (await get(http, url + "/collection/local"))[0] == 404   # only private documents there
        record = "/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:127.0.0.1:local:secret.txt"
        assert b'<error code="idDoesNotExist">' in (await get(http, url + record))[1]
        for name, cid in cids.items():
            v1 = CID.decode(cid).to_v1()
            for text in dict.fromkeys([cid, str(v1), v1.encode("base58btc")]):
                for query, headers in (("", {}), ("?format=raw", {}), ("?format=car", {}),
                                       ("", {"Accept": "application/vnd.ipld.raw"})):
                    status, body = await get(http, f"{url}/ipfs/{text}{query}", **headers)
                    assert status == 404 and SECRET.encode() not in body, (name, text, query, status)
            assert (await get(http, f"{url}/doc/{cid}"))[0] == 404
            status, body = await get(http, f"{url}/routing/v1/providers/{cid}")
            assert b"12D3KooW" not in body, (name, status)             # the node names no copy
        inner = inner_block(home, cids["big"])
        assert (await get(http, f"{url}/ipfs/{inner}?format=raw"))[0] == 404
        public = json.loads((await get(http, url + "/api/v1/search?q=report"))[1])
        assert [h["title"] for h in public] == ["report.txt"]        # what is published still shows
        assert (await get(http, f"{url}/ipfs/{public[0]['cid']}"))[0] == 200
        summary = json.loads(await ok(peer, "join", url, "--once", "--json"))
    assert summary["errors"] == {}
    local = await ok(home, "search", SECRET)                       # the home itself finds them
    assert local.startswith("[private] secret.txt\t") and local.count("\n") == 1
    assert json.loads(await ok(home, "show", cids["big"], "--json"))["private"] is True
    assert SECRET not in await ok(peer, "search", SECRET) and not (await ok(peer, "search", SECRET)).strip()
    payloads = entries(peer)
    assert len(payloads) == summary["entries"] == 4               # river, lake, sea, report; no private one
    assert not [p for p in payloads if SECRET in p or "secret.txt" in p or "big-secret" in p]
    leaked = [p for p in payloads if str(tmp_path) in p or "file://" in p or re.search(r'"/(tmp|home|root)/', p)]
    assert not leaked, leaked[:1]
    bodies = {json.loads(p)["body"]["source_id"]: json.loads(p)["body"] for p in payloads}
    assert set(bodies) == {"sub/river.txt", "files/lake.txt", "files/sea.txt", "report.txt"}
    assert bodies["sub/river.txt"]["contents"][0]["url"] == "river.txt"   # a relative name
    assert bodies["files/sea.txt"]["source_url"] == "sea.txt" and bodies["files/sea.txt"]["raw_record"] is None
    assert bodies["files/lake.txt"]["raw_record"] is not None          # relative: nothing to hide


def entries(home: Path) -> list[str]:
    with closing(sqlite3.connect(home / "index.sqlite")) as conn:
        return [bytes(p).decode() for (p,) in conn.execute("SELECT payload FROM feed_entries")]


async def test_a_rerun_recognises_what_it_stored_and_publishes_no_path(tmp_path: Path) -> None:
    home = tmp_path / "home"
    f = files(tmp_path)
    await fill(home, f)
    again = json.loads(await ok(home, "mirror", str(f["work"] / "manifest.jsonl"), "--json"))
    assert (again["stored"], again["unchanged"], again["retracted"]) == (0, 2, 0)
    again = json.loads(await ok(home, "mirror", str(f["work"] / "folder"), "--assume-license", "CC-BY-4.0", "--json"))
    assert (again["stored"], again["unchanged"], again["retracted"]) == (0, 1, 0)
    cid = (await ok(home, "add", str(f["report"]), "--license", "CC-BY-4.0", "--collection", "reports")).split()[-1]
    shown = json.loads(await ok(home, "show", cid, "--json"))
    assert shown["source_id"] == "report.txt" and shown["source_url"] == f["report"].as_uri()   # kept here
    assert len(entries(home)) == 4                                  # nothing signed twice
