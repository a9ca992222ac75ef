"""Directory import (``add -r``): entries, symlinks, hidden files, HAMT switch, errors."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from mirror.errors import UsageError
from mirror.store.cid import CID
from mirror.store.dagpb import PBLink, decode_node
from mirror.store.directory import build_directory, import_path
from mirror.store.hamt import hamt_hash, murmur3_x64_128
from mirror.store.profiles import PROFILES
from mirror.store.unixfs import DIRECTORY, HAMT_SHARD, SYMLINK, decode_unixfs, import_bytes
from tests.store.vectors import BlockCollector

V0 = PROFILES["unixfs-v0-2015"]
V1 = PROFILES["unixfs-v1-2025"]


def test_directory_result_and_blocks(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"alpha")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_bytes(b"beta!")
    (tmp_path / "empty").mkdir()
    (tmp_path / "link").symlink_to("a.txt")
    sink = BlockCollector()
    result = import_path(tmp_path, V1, sink, recursive=True)
    assert (result.sha256, result.size, result.blocks) == ("", 10, sink.puts)
    assert sink.puts == 6       # 2 raw files, symlink, empty dir, sub, root
    root = decode_node(sink.blocks[result.cid])
    assert [link.name for link in root.links] == ["a.txt", "empty", "link", "sub"]
    assert decode_unixfs(root.data).type == DIRECTORY
    link = decode_node(sink.blocks[CID.from_bytes(root.links[2].hash)])
    assert decode_unixfs(link.data) == decode_unixfs(b"\x08\x04\x12\x05a.txt")
    assert decode_unixfs(link.data).type == SYMLINK
    assert result.dag_size == len(sink.blocks[result.cid]) + sum(x.tsize for x in root.links)


def test_single_file_path_keeps_its_digest(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"hello world")
    result = import_path(tmp_path / "f", V1)
    assert result == import_bytes(b"hello world", V1)


def test_top_level_symlink_is_stored_as_symlink(tmp_path: Path) -> None:
    (tmp_path / "l").symlink_to("foo")
    assert str(import_path(tmp_path / "l", V0).cid) == "QmTB8BaCJdCH5H3k7GrxJsxgDNmNYGGR71C58ERkivXoj5"


def test_directory_needs_recursive(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory") as info:
        import_path(tmp_path, V1)
    assert "-r" in info.value.hint


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read .*nope: No such file"):
        import_path(tmp_path / "nope", V1)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"x")
    secret.chmod(0)
    with pytest.raises(UsageError, match="Permission denied"):
        import_path(tmp_path, V1, recursive=True)


def test_special_files_are_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UsageError, match="not a regular file"):
        import_path(tmp_path, V1, recursive=True)


def test_non_utf8_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / os.fsdecode(b"bad\xff")).write_bytes(b"x")
    with pytest.raises(UsageError, match="not valid UTF-8"):
        import_path(tmp_path, V1, recursive=True)


def test_hidden_files_are_skipped_unless_asked(tmp_path: Path) -> None:
    (tmp_path / ".dot").write_bytes(b"x")
    plain = import_path(tmp_path, V1, recursive=True)
    assert str(plain.cid) == "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
    assert import_path(tmp_path, V1, recursive=True, hidden=True).cid != plain.cid


def test_threshold_is_strictly_greater() -> None:
    """Two entries whose links estimate is exactly the threshold stay a plain directory."""
    x = import_bytes(b"x", V0)
    entries = [PBLink(bytes(x.cid), name, x.dag_size) for name in ("aa", "bb")]
    at = replace(V0, hamt_threshold=2 * (2 + 34))
    sink = BlockCollector()
    assert decode_unixfs(decode_node(sink.blocks[build_directory(entries, at, sink)[0]]).data).type \
        == DIRECTORY
    above = replace(V0, hamt_threshold=2 * (2 + 34) - 1)
    cid = build_directory(entries, above, sink)[0]
    assert decode_unixfs(decode_node(sink.blocks[cid]).data).type == HAMT_SHARD
    never = replace(V0, hamt_threshold=0, hamt_estimate="disabled")
    assert decode_unixfs(decode_node(sink.blocks[build_directory(entries, never, sink)[0]]).data).type \
        == DIRECTORY


def test_murmur3_reference_values() -> None:
    assert murmur3_x64_128(b"") == (0, 0)
    assert murmur3_x64_128(b"hello") == (0xCBD8A7B341BD9B02, 0x5B1E906A48AE1D19)
    assert murmur3_x64_128(b"The quick brown fox jumps over the lazy dog")[0] == 0xE34BBC7BBC071B6C
    assert hamt_hash("hello") == 0xCBD8A7B341BD9B02
