"""A damaged or forged bundle is refused with one line and an exit code, and nothing of it is kept.

The manifest is not signed, so an attacker can rewrite its checksums ("reseal"): then the entry
signatures, the chain links and the block hashes still catch every change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from mirror.store.car import CarReader, car_header
from mirror.store.cid import encode_varint
from tests.bundle.bundle_helpers import (Source, block_files, entries_file, fresh_home, manifest,
                                         om, page_records, reseal, rows, save_manifest, write_page)


def flip_entries_byte(bundle: Path) -> None:
    path = entries_file(bundle)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))


def forge_entry(bundle: Path) -> None:
    path = entries_file(bundle)
    records = page_records(path)
    payload, signature = records[0]
    records[0] = (payload.replace(b"watermills", b"watermilLs"), signature)
    write_page(path, records)
    reseal(bundle, f"entries/{path.name}")


def drop_entry(bundle: Path) -> None:
    path = entries_file(bundle)
    records = page_records(path)
    write_page(path, records[:1] + records[2:])
    reseal(bundle, f"entries/{path.name}")


def corrupt_block(bundle: Path) -> None:
    path = bundle / "content.car"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01                       # inside the last block's bytes
    path.write_bytes(bytes(raw))
    reseal(bundle, "content.car")


def truncate_car(bundle: Path, *, resealed: bool = True) -> None:
    path = bundle / "content.car"
    path.write_bytes(path.read_bytes()[:-10])
    if resealed:
        reseal(bundle, "content.car")


def drop_car_block(bundle: Path) -> None:
    """A CAR whose header names a root whose block it does not hold."""
    path = bundle / "content.car"
    with open(path, "rb") as fh:
        reader = CarReader(fh)
        sections = list(reader)
    out = bytearray(car_header(reader.roots))
    for cid, block in sections[:-1]:
        out += encode_varint(len(bytes(cid)) + len(block)) + bytes(cid) + block
    path.write_bytes(bytes(out))
    reseal(bundle, "content.car")


def remove_entries_file(bundle: Path) -> None:
    entries_file(bundle).unlink()


def wrong_checksum(bundle: Path) -> None:
    data = manifest(bundle)
    data["content"][0]["sha256"] = "0" * 64
    save_manifest(bundle, data)


def renamed_file(bundle: Path) -> None:
    data = manifest(bundle)
    data["feeds"][0]["files"][0]["path"] = "../../outside.omep"
    save_manifest(bundle, data)


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "flipped byte in an entries file": (flip_entries_byte, "does not match its checksum"),
    # the next entry's link, vouched for by the file's last signature, refuses the forged one
    "forged entry, resealed": (forge_entry, "prev mismatch"),
    "entry left out of the chain, resealed": (drop_entry, "expected 2"),
    "corrupted block, resealed": (corrupt_block, "do not hash to it"),
    "truncated CAR, resealed": (truncate_car, "CAR is truncated"),
    "truncated CAR": (lambda b: truncate_car(b, resealed=False), "the manifest says"),
    "CAR without a root's block, resealed": (drop_car_block, "lacks blocks of 1"),
    "missing entries file": (remove_entries_file, "is missing"),
    "manifest checksum mismatch": (wrong_checksum, "does not match its checksum"),
    "a file named outside the bundle": (renamed_file, "should be named"),
}


def assert_untouched(home: Path) -> None:
    assert rows(home, "SELECT count(*) FROM feed_entries") == [(0,)]
    assert rows(home, "SELECT count(*) FROM documents") == [(0,)]
    assert block_files(home) == []


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damage_is_refused_and_nothing_is_kept(case: str, source: Source, tmp_path: Path):
    damage, message = DAMAGE[case]
    bundle = source.copy_bundle(tmp_path / "bundle")
    damage(bundle)
    home = fresh_home(tmp_path / "B")
    result = om(home, "import", str(bundle))
    assert result.exit_code == 4, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ") and message in line, line
    assert_untouched(home)


@pytest.mark.parametrize("manifest_text, message", [
    (None, "has no manifest.json"),
    ("{not json", "is not JSON"),
    (json.dumps({"format": "something-else", "version": 1}), "format"),
    (json.dumps({"format": "openmirror-bundle", "version": 2}), "unsupported bundle version 2"),
])
def test_what_is_not_a_bundle_is_a_usage_error(manifest_text: str | None, message: str, tmp_path: Path):
    folder = tmp_path / "folder"
    folder.mkdir()
    if manifest_text is not None:
        (folder / "manifest.json").write_text(manifest_text)
    home = fresh_home(tmp_path / "B")
    result = om(home, "import", str(folder))
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert_untouched(home)


def test_a_file_that_is_neither_folder_nor_tar_is_refused(source: Source, tmp_path: Path):
    result = om(fresh_home(tmp_path / "B"), "import", str(source.files["watermills.txt"]))
    assert result.exit_code == 2 and "neither a folder nor a tar file" in result.stderr


def test_a_damaged_bundle_never_loses_what_an_earlier_import_stored(source: Source, tmp_path: Path):
    home = fresh_home(tmp_path / "B")
    assert om(home, "import", str(source.bundle)).exit_code == 0
    blocks = sorted(block_files(home))
    documents = rows(home, "SELECT id, updated_at FROM documents ORDER BY id")
    bundle = source.copy_bundle(tmp_path / "bad")
    corrupt_block(bundle)
    assert om(home, "import", str(bundle)).exit_code == 4
    assert sorted(block_files(home)) == blocks
    assert rows(home, "SELECT id, updated_at FROM documents ORDER BY id") == documents
    assert om(home, "cat", source.cids["watermills.txt"]).stdout_bytes == \
        source.files["watermills.txt"].read_bytes()
