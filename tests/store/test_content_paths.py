"""Habits users bring from Kubo and browsers (issue 16 item 5): ``/ipfs/CID/path``, ``ipfs://CID/path``
and ``CID/path`` in ``cat``, ``show``, ``get`` and the gateway; ``ls``; ``get -o DIR``; ``add -r``
listing every file. The commands run as real processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web

from mirror.errors import InvalidCID, UsageError
from mirror.store.cid import CID
from mirror.store.paths import ContentPath, parse_content_path
from tests.node.web_node import WebNode, WebServer, stop_site

ROOT = Path(__file__).resolve().parents[2]
HELLO = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"      # b"hello world"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    return env | {"PYTHONPATH": str(ROOT)}


def openmirror(home: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", "--home", str(home), *args], cwd=cwd,
                          env=_env(), capture_output=True, text=True, timeout=60)


async def run(home: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "cli.main", "--home", str(home),
                                                *args, cwd=ROOT, env=_env(), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """website/: index.html, notes/a.txt, notes/b.txt (hello world), notes/deep/c.txt, a symlink."""
    root = tmp_path / "website"
    (root / "notes" / "deep").mkdir(parents=True)
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "notes" / "a.txt").write_text("note a")
    (root / "notes" / "b.txt").write_bytes(b"hello world")
    (root / "notes" / "deep" / "c.txt").write_text("deep c")
    (root / "notes" / "link").symlink_to("/etc/passwd")
    return root


def test_paths_are_read_in_every_form_people_write() -> None:
    cid = CID.decode(HELLO)
    for text in (f"{HELLO}/a/b.txt", f"/ipfs/{HELLO}/a/b.txt", f"ipfs://{HELLO}/a/b.txt",
                 f"https://gw.example/ipfs/{HELLO}/a/b.txt?filename=x#top", f" {HELLO}//a/./b.txt/ "):
        assert parse_content_path(text) == ContentPath(cid, "a/b.txt"), text
    assert parse_content_path(f"ipfs://{HELLO}/a%20b/%C3%A9.txt").path == "a b/é.txt"
    assert parse_content_path(f"/ipfs/{HELLO}/a%20b").path == "a%20b"    # Kubo's form is taken as typed
    assert parse_content_path(HELLO) == ContentPath(cid)
    assert ContentPath(cid, "a b/é.txt").url_path() == f"/ipfs/{HELLO}/a%20b/%C3%A9.txt"
    for bad in (f"{HELLO}/../etc", "/ipns/example.org/a", "/etc/passwd", "https://example.org/a.txt"):
        with pytest.raises(UsageError):
            parse_content_path(bad)
    with pytest.raises(InvalidCID):
        parse_content_path("ipfs://not-a-cid/a")


def test_add_r_lists_every_file_and_folder_then_the_root(tmp_path: Path, site: Path) -> None:
    home = tmp_path / "home"
    result = openmirror(home, "add", "-r", "website", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line.split(" ") for line in result.stdout.splitlines()]
    assert [(verb, path) for verb, path, _ in lines] == [
        ("added", "website/index.html"), ("added", "website/notes/a.txt"), ("added", "website/notes/b.txt"),
        ("added", "website/notes/deep/c.txt"), ("added", "website/notes/deep"), ("added", "website/notes/link"),
        ("added", "website/notes"), ("added", "website")]
    cids = {path: cid for _, path, cid in lines}
    assert cids["website/notes/b.txt"] == HELLO
    assert cids["website"] == openmirror(home, "cid", "-r", "website", cwd=tmp_path).stdout.strip()
    rows = [json.loads(line) for line in openmirror(home, "add", "-r", "website", "--json",
                                                    cwd=tmp_path).stdout.splitlines()]
    assert [r["path"] for r in rows][-1] == "website" and rows[0]["type"] == "file"
    assert {r["type"] for r in rows[:-1]} == {"file", "directory", "symlink"}


def added_tree(home: Path, site: Path) -> str:
    result = openmirror(home, "add", "-r", str(site))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1].split(" ")[-1]


def test_cat_ls_and_show_follow_paths(tmp_path: Path, site: Path) -> None:
    home = tmp_path / "home"
    root = added_tree(home, site)
    for form in (f"{root}/notes/a.txt", f"/ipfs/{root}/notes/a.txt", f"ipfs://{root}/notes/a.txt"):
        result = openmirror(home, "cat", form)
        assert (result.returncode, result.stdout) == (0, "note a"), (form, result.stderr)
    listed = [line.split("\t") for line in openmirror(home, "ls", f"ipfs://{root}/notes").stdout.splitlines()]
    assert [(kind, size, name) for _, kind, size, name in listed] == [
        ("file", "6", "a.txt"), ("file", "11", "b.txt"), ("directory", "", "deep/"), ("symlink", "11", "link")]
    assert listed[1][0] == HELLO
    rows = [json.loads(line) for line in openmirror(home, "ls", root, "--json").stdout.splitlines()]
    assert [(r["name"], r["type"], r["size"]) for r in rows] == [("index.html", "file", 13),
                                                                  ("notes", "directory", None)]
    missing = openmirror(home, "cat", f"{root}/notes/nothing.txt")
    assert missing.returncode == 1 and missing.stderr.startswith("Error: no 'nothing.txt' in ")
    not_a_dir = openmirror(home, "ls", f"{root}/index.html")
    assert not_a_dir.returncode == 2 and "is not a directory" in not_a_dir.stderr

    hello = tmp_path / "hello.txt"
    hello.write_bytes(b"hello world")
    assert openmirror(home, "add", str(hello), "--license", "CC0-1.0").returncode == 0
    shown = json.loads(openmirror(home, "show", f"/ipfs/{root}/notes/b.txt", "--json").stdout)
    assert shown["contents"][0]["cid"] == HELLO and shown["license"] == "CC0-1.0"


def test_get_writes_a_directory_and_a_file_into_a_folder(tmp_path: Path, site: Path) -> None:
    home = tmp_path / "home"
    root = added_tree(home, site)
    out = tmp_path / "copy"
    result = openmirror(home, "get", root, "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    done = json.loads(result.stdout)
    assert (done["type"], done["files"], done["folders"], done["skipped"]) == ("directory", 4, 3, ["notes/link"])
    assert (out / "notes" / "deep" / "c.txt").read_text() == "deep c"
    assert (out / "index.html").read_text() == "<h1>home</h1>" and not (out / "notes" / "link").exists()

    again = openmirror(home, "get", root, "-o", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
    folder = tmp_path / "downloads"
    folder.mkdir()
    into = openmirror(home, "get", f"ipfs://{root}/notes/a.txt", "-o", str(folder))
    assert into.returncode == 0 and (folder / "a.txt").read_text() == "note a"
    assert "wrote " + str(folder / "a.txt") in into.stderr
    to_stdout = openmirror(home, "get", f"{root}/notes")
    assert to_stdout.returncode == 2 and "Hint: write it to a new folder with -o DIR" in to_stdout.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


@pytest.fixture
async def holder(tmp_path: Path, site: Path):
    """A node serving the gateway that holds the tree; ``served`` lists the paths it answered."""
    server = WebServer(await WebNode.open(tmp_path / "holder"))
    served: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        served.append(request.path)
        return await handler(request)

    server.app.middlewares.append(record)
    await server.start()
    result = await asyncio.to_thread(server.node.store.add_path, site, recursive=True)
    server.served = served            # type: ignore[attr-defined]
    try:
        yield server, str(result.cid)
    finally:
        await stop_site(server)


async def test_get_follows_a_path_through_peers_fetching_only_what_it_needs(tmp_path: Path, holder) -> None:
    server, root = holder
    home = tmp_path / "fresh"
    code, out, err = await run(home, "get", f"/ipfs/{root}/notes/b.txt", "--peer", server.url)
    assert (code, out) == (0, "hello world"), err
    fetched = {path.split("/")[2] for path in server.served if path.startswith("/ipfs/")}
    listing = await asyncio.to_thread(server.node.store.list_dir, CID.decode(root))
    notes = next(e.cid for e in listing if e.name == "notes")
    assert fetched == {root, str(notes), HELLO}           # the two folders on the path, and the file
    code, out, err = await run(home, "get", f"ipfs://{root}/notes", "-o", str(tmp_path / "notes"),
                               "--peer", server.url)
    assert code == 0, err
    assert (tmp_path / "notes" / "deep" / "c.txt").read_text() == "deep c"
    assert "wrote " in err and "3 files in 2 folders" in err


async def test_the_gateway_redirects_ipfs_uris(holder) -> None:
    server, root = holder
    async with ClientSession() as http:
        async with http.get(server.url + "/ipfs/", params={"uri": f"ipfs://{root}/notes/a%20b.txt"},
                            allow_redirects=False) as resp:
            assert resp.status == 301
            assert resp.headers["Location"] == f"/ipfs/{root}/notes/a%20b.txt"
        async with http.get(server.url + "/ipfs/", params={"uri": f"ipfs://{root}/notes/b.txt"}) as resp:
            assert (resp.status, await resp.read()) == (200, b"hello world")
        for bad in ("https://example.org/", f"ipfs://{root}/../x", ""):
            async with http.get(server.url + "/ipfs/", params={"uri": bad}) as resp:
                assert resp.status == 400, bad
