"""The ContentStore facade: profiles, all-or-nothing imports, reading back, completeness."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest

from mirror.errors import BlockNotFound, MirrorError, UnknownProfile, UsageError
from mirror.home import Home
from mirror.store import ContentStore, open_store
from mirror.store.blockstore import BlockStore
from mirror.store.exporter import walk_dag
from mirror.store.profiles import PROFILES

HELLO_V1 = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
HELLO_V0 = "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"


class FailingStream(io.RawIOBase):
    """Gives ``good`` bytes, then fails like a disk or a network mount would."""

    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        if self.left <= 0:
            raise OSError(5, "Input/output error")
        n = min(len(buf), self.left)
        buf[:n] = os.urandom(n)
        self.left -= n
        return n


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(BlockStore(tmp_path / "blocks"))


def test_profile_choice(store: ContentStore, tmp_path: Path) -> None:
    assert str(store.add_file(io.BytesIO(b"hello world")).cid) == HELLO_V1
    assert str(store.add_file(io.BytesIO(b"hello world"), "unixfs-v0-2015").cid) == HELLO_V0
    assert str(store.add_file(io.BytesIO(b"hello world"), PROFILES["unixfs-v0-2015"]).cid) == HELLO_V0
    legacy = ContentStore(BlockStore(tmp_path / "other"), "legacy-cid-v0")
    assert str(legacy.add_file(io.BytesIO(b"hello world")).cid) == HELLO_V0
    with pytest.raises(UnknownProfile):
        store.add_file(io.BytesIO(b"x"), "unixfs-v9")


def test_open_store_uses_the_home_setting(tmp_path: Path) -> None:
    home = Home.open(tmp_path / "home")
    home.settings.set("store.profile", "unixfs-v0-2015")
    assert open_store(home).default_profile.name == "unixfs-v0-2015"


def test_a_stream_that_fails_midway_stores_nothing(store: ContentStore) -> None:
    with pytest.raises(MirrorError, match="Input/output error"):
        store.add_file(FailingStream(3 * 1024 * 1024 + 10))
    assert store.blocks.stats() == (0, 0)
    assert not [p for p in (store.blocks.root / ".staging").rglob("*") if p.is_file()]


def test_add_file_follows_symlinks_and_add_path_keeps_them(store: ContentStore, tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_bytes(b"hello world")
    (tmp_path / "link.txt").symlink_to("real.txt")
    followed = store.add_file(tmp_path / "link.txt")
    assert str(followed.cid) == HELLO_V1 and followed.sha256
    kept = store.add_path(tmp_path / "link.txt")
    assert store.stat(kept.cid).type == "symlink"
    with pytest.raises(UsageError, match="cannot read"):
        store.add_file(tmp_path / "absent.txt")


def test_cid_of_stores_nothing(store: ContentStore, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"f" * 3000)
    assert store.cid_of(io.BytesIO(b"hello world")).cid == store.cid_of(io.BytesIO(b"hello world")).cid
    directory = store.cid_of(tmp_path / "d", recursive=True)
    assert store.blocks.stats() == (0, 0)
    assert store.add_path(tmp_path / "d", recursive=True).cid == directory.cid


def test_reading_back_and_completeness(store: ContentStore, tmp_path: Path) -> None:
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f.bin").write_bytes(data := os.urandom(2_200_000))
    root = store.add_path(tmp_path / "d", recursive=True).cid
    inner = store.resolve(root, "e/f.bin")
    assert b"".join(store.cat(inner, 1_000_000, 5)) == data[1_000_000:1_000_005]
    assert [e.name for e in store.ls(root)] == ["e"]
    assert store.has(root) and store.has_all(root)
    leaf = next(c for c, _ in walk_dag(store.blocks, inner) if c != inner)
    store.blocks.delete(leaf)
    assert store.has(root) and not store.has_all(root)
    store.require(root)
    store.blocks.delete(root)
    with pytest.raises(BlockNotFound, match="not in the local store"):
        store.require(root)
    with pytest.raises(UsageError):
        store.export_car([], io.BytesIO())


def test_async_add_runs_the_import_off_the_loop(store: ContentStore, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"hello world")
    result = asyncio.run(store.add(tmp_path / "a.txt"))
    assert str(result.cid) == HELLO_V1 and store.has(result.cid)
