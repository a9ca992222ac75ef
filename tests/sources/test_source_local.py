"""The manifest and folder sources (local files; a remote manifest from tests.servers.site)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mirror.errors import UsageError
from mirror.sources import SourceOptions
from mirror.sources.folder import FolderSource
from mirror.sources.manifest import CHECKPOINT_LINES, ManifestSource
from tests.sources.harvest import harvest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"


async def test_jsonl_manifest_records_and_bad_lines(fetcher):
    run = await harvest(ManifestSource(str(FIXTURES / "mixed.jsonl"), SourceOptions()), fetcher)
    alpha, remote, broken, no_licence, array, beta = run.records
    assert alpha.source_id == "files/alpha.txt" and alpha.error is None
    assert alpha.files[0].url == str(FIXTURES / "files" / "alpha.txt")
    assert (alpha.files[0].name, alpha.files[0].media_type) == ("alpha.txt", "text/plain")
    doc = alpha.metadata
    assert (doc.title, doc.creators, doc.date, doc.description, doc.subjects, doc.language, doc.type) == (
        "Alpha", ("A. Author",), "2024-01-01", "First.", ("x", "y"), "en", "Text")
    assert list(alpha.license_statements) == ["CC0-1.0"] and json.loads(doc.raw_record)["title"] == "Alpha"
    assert remote.source_id == "remote-1" and remote.files[0].url == "https://example.org/remote.pdf"
    assert remote.metadata.title == "remote.pdf"
    assert broken.error.startswith("line 3: invalid JSON") and not broken.files
    assert no_licence.error == "line 4: missing 'license'" and no_licence.source_id == "files/beta.txt"
    assert array.error == "line 6: not a JSON object" and array.source_id == "mixed.jsonl:6"
    assert beta.files[0].url == str(FIXTURES / "files" / "beta.txt")      # ../ resolved
    assert list(beta.license_statements) == ["CC-BY-4.0", "CC-BY-SA-4.0"]
    assert (beta.metadata.creators, beta.metadata.subjects) == (("Solo Author",), ("one",))
    assert run.checkpoints == [{}]


async def test_csv_manifest(fetcher):
    run = await harvest(ManifestSource(str(FIXTURES / "good.csv"), SourceOptions()), fetcher)
    alpha, remote, no_url, two_lines = run.records
    assert alpha.source_id == "alpha"
    assert list(alpha.metadata.creators) == ["Doe, J.", "Roe, R."] and list(alpha.metadata.subjects) == ["a", "b"]
    assert alpha.metadata.description == "Has, a comma"
    assert remote.source_id == "https://example.org/x.csv" and list(remote.metadata.creators) == []
    assert no_url.error == "line 4: missing 'url'"
    assert two_lines.metadata.title == "Two\nlines" and two_lines.error is None


async def test_checkpoints_resume_and_changed_lines(tmp_path, fetcher):
    manifest = tmp_path / "big.ndjson"
    lines = [json.dumps({"url": f"https://example.org/{i}.txt", "license": "CC0-1.0"}) for i in range(250)]
    manifest.write_text("\n".join(lines) + "\n")
    run = await harvest(ManifestSource(str(manifest), SourceOptions()), fetcher)
    assert len(run.records) == 250
    assert run.checkpoints == [{"line": str(CHECKPOINT_LINES)}, {"line": str(2 * CHECKPOINT_LINES)}, {}]
    rest = await harvest(ManifestSource(str(manifest), SourceOptions()), fetcher, {"line": "200"})
    assert [r.source_id for r in rest.records] == [f"https://example.org/{i}.txt" for i in range(200, 250)]
    lines[7] = json.dumps({"url": "https://example.org/7.txt", "license": "CC0-1.0", "title": "new"})
    manifest.write_text("\n".join(lines) + "\n")
    again = await harvest(ManifestSource(str(manifest), SourceOptions()), fetcher)
    changed = [a.source_id for a, b in zip(run.records, again.records) if a.datestamp != b.datestamp]
    assert changed == ["https://example.org/7.txt"]


async def test_remote_manifest_resolves_against_its_url(site_server, fetcher):
    src = ManifestSource(site_server.url + "/collection/manifest.jsonl", SourceOptions())
    run = await harvest(src, fetcher)
    assert [f.url for r in run.records for f in r.files] == [site_server.url + "/collection/files/a.txt"]
    port = site_server.url.rsplit(":", 1)[1]
    assert src.default_collection() == f"127.0.0.1-{port}-collection"
    other = ManifestSource(site_server.url + "/collection/papers.csv", SourceOptions())
    assert other.default_collection() == f"127.0.0.1-{port}-collection-papers"


def test_manifest_collection_names():
    assert ManifestSource(str(FIXTURES / "mixed.jsonl"), SourceOptions()).default_collection() == "mixed"
    assert ManifestSource("/data/my-docs/manifest.jsonl", SourceOptions()).default_collection() == "my-docs"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "Open Papers"
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "a_first-note.txt").write_text("a")
    (root / "sub" / "b.csv").write_text("x,y\n")
    (root / ".hidden").write_text("h")
    (root / ".git" / "config").write_text("c")
    outside = tmp_path / "outside.txt"
    outside.write_text("o")
    os.symlink(root / "a_first-note.txt", root / "link-inside.txt")
    os.symlink(outside, root / "link-outside.txt")
    os.symlink(root / "sub", root / "sub-link")
    return root


async def test_folder_files_under_the_given_licence(folder, fetcher):
    src = FolderSource(str(folder), SourceOptions(license=["CC-BY-4.0"]))
    run = await harvest(src, fetcher)
    assert [r.source_id for r in run.records] == ["a_first-note.txt", "link-inside.txt", "sub/b.csv"]
    first = run.records[0]
    assert first.metadata.title == "a first note" and list(first.license_statements) == ["CC-BY-4.0"]
    assert first.files[0].url == str(folder / "a_first-note.txt") and first.files[0].size == 1
    assert run.records[2].files[0].media_type == "text/csv"
    assert src.default_collection() == "open-papers"
    again = await harvest(FolderSource(str(folder), SourceOptions(license=["CC-BY-4.0"])), fetcher)
    assert [r.datestamp for r in again.records] == [r.datestamp for r in run.records]
    resumed = await harvest(FolderSource(str(folder), SourceOptions(license=["CC0-1.0"])), fetcher, {"count": "2"})
    assert [r.source_id for r in resumed.records] == ["sub/b.csv"]


def test_folder_needs_a_licence(folder):
    with pytest.raises(UsageError, match="needs the licence") as info:
        FolderSource(str(folder), SourceOptions())
    assert "--assume-license" in (info.value.hint or "")
