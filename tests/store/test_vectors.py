"""Every CID of docs ipfs-digest §5.1-5.5 (vectors.csv), reproduced from the input bytes.

Inputs are generated here (ChaCha20 streams, HAMT names, small trees in tmp_path); nothing large
is committed. The two 1 GiB vectors run only with ``--runslow``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from mirror.store.cid import CID, HASH_NAMES
from mirror.store.dagpb import PBLink, decode_node
from mirror.store.directory import build_directory, import_path
from mirror.store.profiles import PROFILES, Profile
from mirror.store.unixfs import ImportResult
from mirror.store.unixfs import StreamImport, UnixTime, decode_unixfs, import_bytes, import_file
from tests.store.vectors import BlockCollector, ChaChaStream, hamt_names, load_vectors

MULTIBLOCK = Path(__file__).with_name("multiblock.txt")    # gateway-conformance's 1026-byte lorem
SLOW_SIZE = 512 * 1024 * 1024
STREAMED_SIZE = 64 * 1024 * 1024        # chacha vectors up to this size are also fed to StreamImport
PIECES = (1, 4096, 65_536, 300_001, 2**20, 2**20 + 3)   # the sizes bytes arrive in, in turn

TREES: dict[str, dict] = {
    "planets": {"mars.txt": b"Hello Mars!\n", "venus.txt": b"Hello Venus!\n"},
    "moons": {"jupiter": {"europa.txt": b"Hello Europa!\n"}, "mercury.txt": b"hey you are no moon!\n",
              "saturn": {"titan.txt": b"Hello Titan!\n"}},
    "hey-hello": {"hey": b"Hey\n", "hello": {"world": b"World\n"}},
    "planets-hidden": {"mars.txt": b"Hello Mars\n", "venus.txt": b"Hello Venus\n",
                       ".asteroids": {"ceres.txt": b"Hello Ceres\n", "pallas.txt": b"Hello Pallas\n"},
                       ".charon.txt": b"Hello Charon\n", ".gitignore": b"mars.txt\n",
                       ".pluto.txt": b"Hello Pluto\n"},
    "mfs": {"mfs1.txt": b"file1\n", "mfs2.txt": b"file2\n"},
    "symlink": {"bar": ("symlink", "foo"), "foo": b"content\n"},
    "empty": {},
    "dir-with-files": {"ascii-copy.txt": b"hello application/vnd.ipld.car\n",
                       "ascii.txt": b"hello application/vnd.ipld.car\n",
                       "hello.txt": b"hello world\n", "multiblock.txt": MULTIBLOCK.read_bytes()},
}


def parse_profile(spec: str) -> tuple[Profile, set[str]]:
    """``name(+field=value|+flag|-flag)*`` -> (profile, flags that are not profile fields)."""
    base = next(name for name in PROFILES if spec.startswith(name))
    profile, flags = PROFILES[base], set()
    for sign, key, value in re.findall(r"([+-])(\w+)(?:=([\w-]+))?", spec[len(base):]):
        if key == "hash":
            profile = replace(profile, hash_code=HASH_NAMES[value])
        elif value is not None and value != "":
            profile = replace(profile, **{key: int(value)})
        elif key in ("raw_leaves", "trickle"):
            profile = replace(profile, **{key: sign == "+"})
        else:
            flags.add(key)
    return replace(profile, name=spec), flags


def make_tree(root: Path, spec: dict) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name, value in spec.items():
        path = root / name
        if isinstance(value, dict):
            make_tree(path, value)
        elif isinstance(value, tuple):
            os.symlink(value[1], path)
        else:
            path.write_bytes(value)


def shown(cid: CID, flags: set[str]) -> str:
    return str(cid.to_v1()) if "upgrade_v1" in flags else str(cid)


def ids(rows: list[dict[str, str]]) -> list[str]:
    return [f"{row['id']}-{row['kind']}" for row in rows]


BYTES = load_vectors("bytes")


@pytest.mark.parametrize("row", BYTES, ids=ids(BYTES))
def test_small_file(row: dict[str, str]) -> None:
    profile, flags = parse_profile(row["profile"])
    data = row["input"].replace("\\n", "\n").encode("utf-8")
    result = import_bytes(data, profile)
    assert shown(result.cid, flags) == row["expected"]
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)
    assert stream_import(io.BytesIO(data), profile) == result


def stream_import(stream: io.RawIOBase | io.BytesIO, profile: Profile) -> ImportResult:
    """STREAM fed to ``StreamImport`` in pieces of every size in ``PIECES``, in turn."""
    importer, turn = StreamImport(profile), 0
    while piece := stream.read(PIECES[turn % len(PIECES)]):
        importer.write(piece)
        turn += 1
    return importer.finish()


TREE_ROWS = load_vectors("tree")


@pytest.mark.parametrize("row", TREE_ROWS, ids=ids(TREE_ROWS))
def test_tree(row: dict[str, str], tmp_path: Path) -> None:
    profile, flags = parse_profile(row["profile"])
    name, _, inner = row["input"].partition(":")
    make_tree(tmp_path / name, TREES[name])
    result = import_path(tmp_path / name / inner, profile, recursive=True, hidden="hidden" in flags)
    assert str(result.cid) == row["expected"]


def test_wrap_with_directory() -> None:
    (row,) = load_vectors("wrap")
    profile, _ = parse_profile(row["profile"])
    file = import_bytes(b"", profile)
    cid, tsize, blocks = build_directory([PBLink(bytes(file.cid), row["input"], file.dag_size)], profile)
    assert str(cid) == row["expected"]
    assert (tsize, blocks) == (63, 1)          # 57-byte node + the 6-byte empty file


META = load_vectors("meta")


@pytest.mark.parametrize("row", META, ids=ids(META))
def test_mode_and_mtime(row: dict[str, str]) -> None:
    profile, _ = parse_profile(row["profile"])
    options = dict(item.split("=") for item in row["input"].split())
    mtime = None
    if "mtime" in options:
        mtime = UnixTime(int(options["mtime"]), int(options.get("nsecs", 0)))
    mode = int(options["mode"], 8) if "mode" in options else None
    assert str(import_bytes(b"", profile, mode=mode, mtime=mtime).cid) == row["expected"]


CHACHA = load_vectors("chacha")


def _chacha_params(rows: list[dict[str, str]]) -> list:
    params = []
    for row in rows:
        size = int(row["input"].rpartition(":")[2])
        marks = [pytest.mark.slow] if size > SLOW_SIZE else []
        params.append(pytest.param(row, marks=marks, id=f"{row['id']}-{size}B"))
    return params


@pytest.mark.parametrize("row", _chacha_params(CHACHA))
def test_chacha_file(row: dict[str, str]) -> None:
    profile, _ = parse_profile(row["profile"])
    seed, _, size_text = row["input"].rpartition(":")
    size = int(size_text)
    result = import_file(ChaChaStream(seed, size), profile)
    assert str(result.cid) == row["expected"]
    assert result.size == size
    if size <= STREAMED_SIZE:                   # bytes as a download brings them: same DAG
        assert stream_import(io.BufferedReader(ChaChaStream(seed, size)), profile) == result


@pytest.mark.parametrize("seed,size,blocks,root_links", [
    ("chunk-v0-seed", 262_144, 1, 0),              # #40: a bare leaf
    ("chunk-v0-seed", 262_145, 3, 2),              # #41: root + 2 leaves
    ("v0-seed", 174 * 262_144 + 1, 178, 2),        # #43: 174 leaves + 1 leaf, 2 inner nodes, root
])
def test_balanced_layout_blocks(seed: str, size: int, blocks: int, root_links: int) -> None:
    sink = BlockCollector()
    profile = PROFILES["unixfs-v0-2015"]
    result = import_file(ChaChaStream(seed, size), profile, sink)
    assert result.blocks == sink.puts == blocks
    assert result.sha256 == hashlib.file_digest(ChaChaStream(seed, size), "sha256").hexdigest()
    assert all(cid.verify(data) for cid, data in sink.blocks.items())
    root = decode_node(sink.blocks[result.cid])
    assert len(root.links) == root_links
    assert decode_unixfs(root.data).filesize == size
    assert result.dag_size == len(sink.blocks[result.cid]) + sum(link.tsize for link in root.links)


HAMT = load_vectors("hamt")


@pytest.mark.parametrize("row", HAMT, ids=ids(HAMT))
def test_hamt_threshold(row: dict[str, str]) -> None:
    """#50-#53 from entries (thousands of real files are slow to create here; #54 uses files)."""
    profile, _ = parse_profile(row["profile"])
    seed, count, name_len, last_len = row["input"].split(":")
    x = import_bytes(b"x", profile)
    entries = [PBLink(bytes(x.cid), name, x.dag_size)
               for name in hamt_names(seed, int(count), int(name_len), int(last_len))]
    sink = BlockCollector()
    cid, _tsize, _blocks = build_directory(entries, profile, sink)
    assert str(cid) == row["expected"]
    root_type = decode_unixfs(decode_node(sink.blocks[cid]).data).type
    assert root_type == (5 if row["id"] in ("51", "53") else 1)    # HAMT shard / plain directory


def test_hamt_gateway_fixture(tmp_path: Path) -> None:
    """#54: 1.txt..1000.txt, each the 1026-byte multiblock file, forced into one HAMT."""
    (row,) = load_vectors("hamt1000")
    profile, _ = parse_profile(row["profile"])
    content = MULTIBLOCK.read_bytes()
    for i in range(1, int(row["input"]) + 1):
        (tmp_path / f"{i}.txt").write_bytes(content)
    sink = BlockCollector()
    result = import_path(tmp_path, profile, sink, recursive=True)
    assert str(result.cid) == row["expected"]
    assert len(sink.blocks[result.cid]) == 12_046
