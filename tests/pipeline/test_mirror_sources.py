"""`openmirror mirror` end to end for every other source kind, and politeness measured server-side."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from indexer.index import Index
from indexer.search import SearchQuery
from mirror.ingest import INLINE_BYTES, SPOOL_BYTES
from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID
from mirror.store.profiles import get_profile
from mirror.store.unixfs import import_bytes
from tests.servers.ckan import service_package
from tests.servers.origin import payload


async def run_mirror(cli_run, *args: str):
    res = await asyncio.to_thread(cli_run, "mirror", *args, "--json")
    assert res.stdout.strip(), res.stderr
    return res, json.loads(res.stdout.strip().splitlines()[-1])


async def titles(home: Path, text: str) -> set[str]:
    async with await Index.open(home / "index.sqlite") as index:
        return {h.title for h in await index.search(SearchQuery(text=text, limit=200))}


async def test_site_crawl_is_polite_and_gated(cli_run, home_dir: Path, site_server):
    res, s = await run_mirror(cli_run, site_server.docs, "--delay", "0.2")
    assert res.exit_code == 0, res.stderr
    assert s["kind"] == "site" and s["stored"] >= 6
    assert s["skipped"].get("non-commercial") == 1 and s["skipped"].get("no-license", 0) >= 1
    assert all(not r.path.startswith("/docs/private/") for r in site_server.requests)  # robots
    starts = sorted(r.at for r in site_server.requests if r.path != "/robots.txt")
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    # 0.2 s between request starts per host, as the server saw them: one request sent late (a
    # loaded machine) narrows one gap, never the span of them all
    assert starts[-1] - starts[0] >= 0.2 * len(gaps) - 0.05, gaps
    assert min(gaps) >= 0.1, gaps
    assert "Anchor licence" in await titles(home_dir, "anchor")  # pages are searchable


async def test_a_site_recrawl_asks_conditionally_and_counts_304_as_unchanged(cli_run, home_dir: Path, site_server):
    """Every page and file stored answers 200 with an ETag and a Last-Modified; the recrawl sends
    them back, the server answers 304 and sends no body, nothing is imported again, the links of the
    pages answered 304 are still followed (read back from the store), and a page changed since
    comes back whole."""
    fast = ("--delay", "0", "--per-host", "8")
    res, first = await run_mirror(cli_run, site_server.docs, *fast)
    assert res.exit_code == 0 and first["stored"] >= 8 and site_server.conditional == []
    stored = await _stored_paths(home_dir, first["collection"], site_server.url) | {"/docs/paper.pdf"}
    site_server.pages["/docs/dc-meta.html"].body += b"<!-- edited -->"
    res, again = await run_mirror(cli_run, site_server.docs, *fast)
    assert res.exit_code == 0, res.stderr
    assert again["stored"] == again["updated"] == 1 and again["unchanged"] == first["stored"] - 1
    assert sorted(set(site_server.conditional)) == sorted(stored)          # every stored URL, with validators
    assert sorted(site_server.not_modified) == sorted(stored - {"/docs/dc-meta.html"})
    assert again["skipped"] == first["skipped"] and again["bytes"] == len(site_server.pages["/docs/dc-meta.html"].body)
    assert site_server.fetched("/docs/deep/3.html") == 2                     # reached again through 304 pages


async def test_a_304_whose_blocks_are_gone_is_fetched_again(cli_run, home_dir: Path, site_server):
    fast = ("--delay", "0", "--per-host", "8")
    page = site_server.url + "/docs/license-link.html"
    _, first = await run_mirror(cli_run, page, "--depth", "0", *fast)
    async with await Index.open(home_dir / "index.sqlite") as index:
        [content] = (await index.get_document(first["collection"], page)).contents
    assert BlockStore(home_dir / "blocks").delete(CID.decode(content.cid))
    path = "/docs/license-link.html"
    before = site_server.fetched(path)
    res, again = await run_mirror(cli_run, page, "--depth", "0", *fast)
    assert res.exit_code == 0 and again["unchanged"] == 1, res.stderr
    assert site_server.conditional == site_server.not_modified == [path]
    assert site_server.fetched(path) - before == 4     # two detection probes, the 304, the page again
    assert BlockStore(home_dir / "blocks").has(CID.decode(content.cid))


async def _stored_paths(home: Path, collection: str, root: str) -> set[str]:
    async with await Index.open(home / "index.sqlite") as index:
        hits = await index.search(SearchQuery(text="", limit=200, collection=collection))
    return {h.source_url.removeprefix(root).split("?")[0] for h in hits if h.source_url}


async def test_a_page_is_licensed_by_its_own_statements_not_its_photos(cli_run, home_dir: Path, site_server):
    res, s = await run_mirror(cli_run, site_server.url + "/journal/", "--delay", "0", "--per-host", "8")
    assert res.exit_code == 0, res.stderr
    # the captions' CC BY-SA decides nothing: the footers do (one in German prose)
    assert s["stored"] == 1 and s["skipped"] == {"non-commercial": 2, "no-license": 1}
    assert await titles(home_dir, "Artikel") == {"Ein Artikel"}
    [conflict] = s["conflicts"]
    assert conflict["source_id"].endswith("/journal/disagree.html")
    assert conflict["note"] == ("licence statements disagree (CC-BY-4.0, CC-BY-NC-SA-4.0): the most "
                                "restrictive, CC-BY-NC-SA-4.0, decides")
    async with await Index.open(home_dir / "index.sqlite") as index:
        status = await index.get_record_statuses(s["collection"], [conflict["source_id"]])
    assert status[conflict["source_id"]].detail.endswith(f"non-commercial ({conflict['note']})")
    text = await asyncio.to_thread(cli_run, "mirror", site_server.url + "/journal/", "--delay", "0")
    assert f"{conflict['source_id']}: {conflict['note']}" in text.stdout


async def test_sitemap_then_incremental(cli_run, home_dir: Path, site_server):
    _, first = await run_mirror(cli_run, site_server.sitemap, "--delay", "0")
    assert first["kind"] == "sitemap" and first["stored"] >= 5 and first["failed"] == 0
    _, second = await run_mirror(cli_run, site_server.sitemap, "--delay", "0")
    assert second["stored"] == 0


async def test_ckan_portal(cli_run, home_dir: Path, ckan_server):
    res, s = await run_mirror(cli_run, ckan_server.url, "--kind", "ckan", "--delay", "0", "--per-host", "8")
    assert res.exit_code == 0, res.stderr
    # licences cycle cc-by, odc-odbl, uk-ogl, cc-nc, other-closed, notspecified, cc-zero over 25 datasets
    assert s["stored"] == 15 and s["skipped"]["non-commercial"] == 4
    async with await Index.open(home_dir / "index.sqlite") as index:
        stats = await index.stats()
        assert stats.documents == 15
        licences = {h.license for h in await index.search(SearchQuery(text="", limit=100, collection=s["collection"]))}
    assert licences <= {"CC-BY-4.0", "ODbL-1.0", "OGL-UK-3.0", "CC0-1.0"}


def ckan_actions(server) -> list[tuple[str, dict[str, str]]]:
    return [(r.path.rsplit("/", 1)[1], r.query) for r in server.requests if "/api/3/action/" in r.path]


async def test_ckan_dataset_organization_and_portal_urls_mirror_what_they_name(cli_run, home_dir: Path,
                                                                               ckan_server):
    fast = ("--delay", "0", "--per-host", "8")
    port = ckan_server.url.rsplit(":", 1)[1]
    res, one = await run_mirror(cli_run, ckan_server.url + "/dataset/dataset-000", *fast)
    assert res.exit_code == 0, res.stderr
    assert (one["kind"], one["stored"], one["collection"]) == ("ckan", 1, f"127.0.0.1-{port}-dataset-dataset-000")
    assert [a for a, _ in ckan_actions(ckan_server)] == ["status_show", "package_show"]   # detection, the dataset
    files = [r.path for r in ckan_server.requests if r.path.startswith("/files/")]
    assert files == ["/files/dataset-000/data.csv"]             # that dataset's resources only

    ckan_server.requests.clear()
    res, org = await run_mirror(cli_run, ckan_server.url + "/organization/map-office", *fast)
    assert res.exit_code == 0 and org["collection"] == f"127.0.0.1-{port}-organization-map-office"
    assert org["stored"] + sum(org["skipped"].values()) == 12
    searches = [q for a, q in ckan_actions(ckan_server) if a == "package_search"]
    assert [q.get("fq") for q in searches] == ['organization:"map-office"']
    assert {r.path.split("/")[2] for r in ckan_server.requests if r.path.startswith("/files/")} == \
        {p["name"] for i, p in enumerate(ckan_server.packages) if i % 2 and i % 7 not in (3, 4, 5)}

    ckan_server.requests.clear()
    res, portal = await run_mirror(cli_run, ckan_server.url, *fast)
    assert res.exit_code == 0 and portal["collection"] == f"127.0.0.1-{port}" and portal["stored"] == 15
    assert [q.get("fq") for a, q in ckan_actions(ckan_server) if a == "package_search"] == [None]
    ckan_server.touch(2)
    ckan_server.requests.clear()
    res, again = await run_mirror(cli_run, ckan_server.url, *fast)
    assert res.exit_code == 0 and (again["stored"], again["updated"]) == (1, 1)   # its record changed
    [search] = [q for a, q in ckan_actions(ckan_server) if a == "package_search"]
    assert search["fq"].startswith("metadata_modified:[") and search["fq"].endswith(" TO *]")
    assert {r.path for r in ckan_server.requests if r.path.startswith("/files/")} == {
        "/files/dataset-002/data.csv"}                        # nothing else was fetched,
    assert ckan_server.not_modified == ["/files/dataset-002/data.csv"]     # and that one not sent again


async def test_ckan_services_are_recorded_as_links_never_fetched(cli_run, home_dir: Path, ckan_server):
    package = service_package(ckan_server.url, 100)            # licensed uk-ogl (100 % 7 == 2)
    only_services = service_package(ckan_server.url, 107)      # uk-ogl too
    only_services["resources"] = only_services["resources"][1:]
    ckan_server.packages += [package, only_services]
    for dataset in (package, only_services):
        res, s = await run_mirror(cli_run, f"{ckan_server.url}/dataset/{dataset['name']}", "--delay", "0",
                                  "--collection", "geo")
        assert res.exit_code == 0, res.stderr
    assert (s["stored"], s["skipped"]) == (0, {"no-file": 1})
    services = ("/ows", "/arcgis/", "/api/rain", "/catalogue/")
    assert not [r.path for r in ckan_server.requests if r.path.startswith(services)]
    assert [r.path for r in ckan_server.requests if r.path.startswith("/files/")] == [
        f"/files/{package['name']}/data.csv"]
    async with await Index.open(home_dir / "index.sqlite") as index:
        statuses = await index.get_record_statuses("geo", [package["id"], only_services["id"]])
        [content] = (await index.get_document("geo", package["id"])).contents
    assert statuses[package["id"]].detail.endswith(" 4 link(s) recorded, not mirrored")
    assert statuses[only_services["id"]].detail.endswith(" no-file (4 link(s) recorded, not mirrored)")
    assert content.url == package["resources"][0]["url"]


async def test_internet_archive_item_url_mirrors_the_item(cli_run, home_dir: Path, archive_server):
    res, s = await run_mirror(cli_run, archive_server.url + "/details/item-0003", "--kind", "archive-org",
                              "--delay", "0")
    assert res.exit_code == 0, res.stderr
    assert s["stored"] == 1 and s["collection"].endswith("-item-0003")
    assert not [r for r in archive_server.requests if r.path.endswith("/scrape")]
    assert sorted(r.path for r in archive_server.requests if r.path.startswith("/serve/")) == \
        ["/serve/item-0003/item-0003.pdf", "/serve/item-0003/tables/data.csv"]


async def test_internet_archive_collection(cli_run, home_dir: Path, archive_server):
    res, s = await run_mirror(cli_run, archive_server.url + "/details/fakecoll", "--kind", "archive-org",
                              "--delay", "0", "--per-host", "8", "--limit", "40")
    assert res.exit_code == 0, res.stderr
    assert s["stored"] == 20 and s["skipped"]["non-commercial"] == 10
    assert sum(s["skipped"].values()) == 20


async def test_folder_and_dry_run(cli_run, home_dir: Path, tmp_path: Path):
    folder = tmp_path / "reports"
    folder.mkdir()
    for i in range(3):
        (folder / f"report-{i}.txt").write_text(f"annual report number {i} about rainfall")
    (folder / ".hidden").write_text("not harvested")
    res, dry = await run_mirror(cli_run, str(folder), "--license", "CC0-1.0", "--dry-run")
    assert dry["stored"] == 3 and dry["dry_run"] is True
    assert not (home_dir / "index.sqlite").exists() or not await titles(home_dir, "rainfall")
    res, s = await run_mirror(cli_run, str(folder), "--license", "CC0-1.0")
    assert s["kind"] == "folder" and s["stored"] == 3
    assert len(await titles(home_dir, "rainfall")) == 3
    res = await asyncio.to_thread(cli_run, "mirror", str(folder))
    assert res.exit_code == 2 and "--assume-license" in res.stderr


async def test_remote_manifest(cli_run, home_dir: Path, site_server):
    res, s = await run_mirror(cli_run, site_server.url + "/collection/manifest.jsonl", "--delay", "0")
    assert res.exit_code == 0, res.stderr
    assert s["kind"] == "manifest" and s["stored"] >= 1


# Around each threshold of the harvest's import paths: a body imported on the event loop (at most
# INLINE_BYTES, no parser needed), in memory through a thread (at most SPOOL_BYTES), staged to a file.
BODY_SIZES = [0, 20_000, INLINE_BYTES, INLINE_BYTES + 1, SPOOL_BYTES, SPOOL_BYTES + 1, 3 * 2**20 + 17]


async def test_bodies_of_every_size_are_stored_as_ipfs_add_stores_them(cli_run, home_dir: Path,
                                                                      tmp_path: Path, origin):
    manifest = tmp_path / "sizes.jsonl"
    lines = [{"url": origin.url(f"/file/{n}?ct=text/plain"), "license": "CC0-1.0", "title": f"size {n}",
              "id": f"size-{n}"} for n in BODY_SIZES]
    lines.append({"url": origin.url("/html?charset=utf-8"), "license": "CC0-1.0", "title": "greeting",
                  "id": "html"})
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    res, s = await run_mirror(cli_run, str(manifest), "--delay", "0", "--per-host", "4", "--allow-private")
    assert res.exit_code == 0, res.stderr
    assert s["stored"] == len(lines) and s["bytes"] == sum(BODY_SIZES) + len(payload_html())
    profile = get_profile("unixfs-v1-2025")
    async with await Index.open(home_dir / "index.sqlite") as index:
        for n in BODY_SIZES:
            (content,) = (await index.get_document(s["collection"], f"size-{n}")).contents
            expected = import_bytes(payload(n), profile)
            assert (content.cid, content.sha256, content.size) == (str(expected.cid), expected.sha256, n)
        assert "greeting" in {h.title for h in await index.search(SearchQuery(text="café", limit=5))}
    staging = home_dir / "staging"
    assert not staging.exists() or not any(p.is_file() for p in staging.rglob("*"))   # nothing left
    read_back = await asyncio.to_thread(cli_run, "cat", str(expected.cid))     # the staged one
    assert read_back.exit_code == 0 and read_back.stdout_bytes == payload(BODY_SIZES[-1])


def payload_html() -> bytes:
    return "<html><body>Grüße, café</body></html>".encode()
