"""Homes and bundles for the bundle tests: the real CLI in-process, one home per machine.

``om(home, *args)`` runs ``openmirror --home HOME ARGS`` (click's runner, no traceback caught);
``Homes`` makes fresh homes from one migrated index file (migrating each costs ~0.4 s). The
``source`` fixture (``conftest.py``, one per session) is home A: a small collection ``notes`` (three openly licensed
files, and one under CC-BY-NC that stays private to A: no entry, no bundle), and a document of
another collection added between them, exported once to a folder. Bundles are changed only in copies.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard
from click.testing import CliRunner, Result

from mirror.home import Home
from tests.node.node_helpers import NodeFactory

FILES = {
    "watermills.txt": ("notes", "CC-BY-4.0", "a treatise on watermills and their gears"),
    "sawmills.txt": ("other", "CC0-1.0", "a survey of sawmills along the river"),
    "windmills.txt": ("notes", "CC-BY-SA-4.0", "notes about windmills in the lowlands"),
    "tidemills.txt": ("notes", "CC-BY-NC-4.0", "a pamphlet on tidemills, non-commercial use only"),
    "millponds.txt": ("notes", "CC-BY-4.0", "a register of millponds and their sluices"),
}


def om(home: Path, *args: str) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    return CliRunner().invoke(_cli(), ["--home", str(home), *args], env=env, catch_exceptions=False)


def _cli() -> Any:
    from cli.main import cli
    return cli


def fresh_home(path: Path) -> Path:
    """A new home at PATH with a migrated, empty index."""
    home = Home.open(path)
    shutil.copyfile(NodeFactory.template(), home.db_path)
    return path


def rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home / "index.sqlite") as db:
        return db.execute(sql).fetchall()


def block_files(home: Path) -> list[Path]:
    return [p for p in (home / "blocks").rglob("*.data") if ".staging" not in p.parts]


@dataclass
class Source:
    home: Path
    bundle: Path
    cids: dict[str, str]          # file name -> CID
    files: dict[str, Path]

    def copy_bundle(self, to: Path) -> Path:
        shutil.copytree(self.bundle, to)
        return to


def make_source(root: Path) -> Source:
    home = fresh_home(root / "A")
    cids, files = {}, {}
    for name, (collection, licence, text) in FILES.items():
        path = root / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        result = om(home, "add", str(path), "--collection", collection, "--license", licence)
        assert result.exit_code == 0, result.output
        cids[name], files[name] = result.stdout.split()[-1], path
    bundle = root / "bundle"
    result = om(home, "export", "notes", "-o", str(bundle))
    assert result.exit_code == 0, result.output
    return Source(home, bundle, cids, files)


# -- editing bundles like an attacker would (who can also rewrite the unsigned manifest) ------------

def manifest(bundle: Path) -> dict[str, Any]:
    return json.loads((bundle / "manifest.json").read_text())


def save_manifest(bundle: Path, data: dict[str, Any]) -> None:
    (bundle / "manifest.json").write_text(json.dumps(data))


def reseal(bundle: Path, name: str) -> None:
    """Make the manifest's size and sha256 of file NAME match its bytes again."""
    data = manifest(bundle)
    raw = (bundle / name).read_bytes()
    records = [*data["content"], *(f for feed in data["feeds"] for f in feed["files"])]
    for record in records:
        if record["path"] == name:
            record["size"], record["sha256"] = len(raw), hashlib.sha256(raw).hexdigest()
    save_manifest(bundle, data)


def entries_file(bundle: Path) -> Path:
    return next((bundle / "entries").glob("*.omep"))


def page_records(path: Path) -> list[tuple[bytes, bytes]]:
    """(payload, signature) of every record of a page file."""
    raw = zstandard.ZstdDecompressor().decompress(path.read_bytes())
    count, pos, out = int.from_bytes(raw[6:10], "big"), 10, []
    for _ in range(count):
        length = int.from_bytes(raw[pos:pos + 4], "big")
        out.append((raw[pos + 4:pos + 4 + length], raw[pos + 4 + length:pos + 68 + length]))
        pos += 68 + length
    return out


def write_page(path: Path, records: list[tuple[bytes, bytes]]) -> None:
    from mirror.feed.codec import encode_page
    path.write_bytes(encode_page(records))
