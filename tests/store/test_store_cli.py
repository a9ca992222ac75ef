"""The store commands through the real CLI: cid, add, cat, car export/import, and every error path."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from mirror.store.blockstore import BlockStore
from mirror.store.cid import CID
from tests.fakes.kubo import FakeKubo, kubo  # noqa: F401  (fixture)

HELLO_V1 = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
HELLO_V0 = "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
PLANETS_V0 = "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY"


def blocks_of(home: Path) -> tuple[int, int]:
    root = home / "blocks"
    return BlockStore(root).stats() if root.exists() else (0, 0)


def assert_error(result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("Error: "), result.stderr
    assert all(line.startswith(("Error: ", "Hint: ")) for line in lines), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    path = tmp_path / "hello world.txt"
    path.write_bytes(b"hello world")
    return path


@pytest.fixture
def planets(tmp_path: Path) -> Path:
    root = tmp_path / "planets"
    root.mkdir()
    (root / "mars.txt").write_bytes(b"Hello Mars!\n")
    (root / "venus.txt").write_bytes(b"Hello Venus!\n")
    return root


def run_in(home: Path, *args: str):
    from cli.main import cli

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    return CliRunner().invoke(cli, ["--home", str(home), *args], env=env, catch_exceptions=False)


# --- cid ----------------------------------------------------------------------------------------

def test_cid_prints_only_the_cid_and_stores_nothing(cli_run, home_dir: Path, hello: Path,
                                                    planets: Path) -> None:
    result = cli_run("cid", str(hello))
    assert result.exit_code == 0 and result.stdout == HELLO_V1 + "\n"
    assert cli_run("cid", "--profile", "unixfs-v0-2015", str(hello)).stdout == HELLO_V0 + "\n"
    assert cli_run("cid", "-r", "--profile", "unixfs-v0-2015", str(planets)).stdout == PLANETS_V0 + "\n"
    assert blocks_of(home_dir) == (0, 0)


def test_cid_errors(cli_run, planets: Path, tmp_path: Path) -> None:
    assert_error(cli_run("cid", str(planets)), 2, "is a directory", "Hint: add directories with -r")
    assert_error(cli_run("cid", str(tmp_path / "missing")), 2, "cannot read")
    assert_error(cli_run("cid", "--profile", "nope", str(planets)), 2, "unknown profile")


# --- add ----------------------------------------------------------------------------------------

def test_add_prints_path_then_cid_and_stores(cli_run, home_dir: Path, hello: Path, planets: Path) -> None:
    result = cli_run("add", str(hello), "-r", str(planets), "--profile", "unixfs-v0-2015")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()       # -r: each file below the folder, then the folder
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        f"added {hello}", f"added {planets}/mars.txt", f"added {planets}/venus.txt", f"added {planets}"]
    assert [lines[0].split()[-1], lines[-1].split()[-1]] == [HELLO_V0, PLANETS_V0]
    assert blocks_of(home_dir)[0] == 4          # hello, planets, mars, venus
    assert cli_run("cat", HELLO_V0).stdout_bytes == b"hello world"


def test_add_json(cli_run, hello: Path) -> None:
    result = cli_run("add", "--json", str(hello))
    record = json.loads(result.stdout)
    assert record == {"path": str(hello), "cid": HELLO_V1, "size": 11, "profile": "unixfs-v1-2025",
                      "sha256": "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"}


def test_add_uses_the_profile_setting(home_dir: Path, hello: Path, cli_run) -> None:
    home_dir.mkdir()
    (home_dir / "openmirror.toml").write_text('[store]\nprofile = "unixfs-v0-2015"\n')
    assert cli_run("add", str(hello)).stdout.split()[-1] == HELLO_V0


def test_add_reports_a_bad_path_and_adds_the_others(cli_run, home_dir: Path, hello: Path,
                                                    tmp_path: Path) -> None:
    result = cli_run("add", str(tmp_path / "missing.txt"), str(hello))
    assert_error(result, 2, "cannot read", "missing.txt")
    assert result.stdout.splitlines() == [f"added {hello} {HELLO_V1}"]
    assert blocks_of(home_dir) == (1, 11)


def test_a_failing_tree_stores_nothing(cli_run, home_dir: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_bytes(b"a" * 5000)
    os.mkfifo(tree / "z-pipe")                     # neither file, directory nor symlink
    result = cli_run("add", "-r", str(tree))
    assert_error(result, 2, "z-pipe")
    assert blocks_of(home_dir) == (0, 0)
    assert cli_run("add", "-r", str(tree / "a.txt")).exit_code == 0


def test_add_with_a_missing_directory_flag(cli_run, home_dir: Path, planets: Path) -> None:
    assert_error(cli_run("add", str(planets)), 2, "is a directory", "Hint:")
    assert blocks_of(home_dir) == (0, 0)


# --- add with Kubo ------------------------------------------------------------------------------

def test_add_pushes_and_pins_in_kubo(cli_run, kubo: FakeKubo, hello: Path, planets: Path) -> None:
    result = cli_run("add", "--ipfs-api", kubo.url, str(hello), "-r", str(planets))
    assert result.exit_code == 0, result.output
    given = {f"added {hello}", f"added {planets}"}         # the paths given are pinned (recursively)
    cids = [CID.decode(line.split()[-1]) for line in result.stdout.splitlines()
            if line.rsplit(" ", 1)[0] in given]
    assert len(cids) == 2 and all(kubo.is_pinned(cid) for cid in cids)
    assert [s.command for s in kubo.seen][:2] == ["version", "dag/import"]


def test_add_pushes_with_the_ipfs_api_setting(cli_run, home_dir: Path, kubo: FakeKubo, hello: Path) -> None:
    home_dir.mkdir()
    (home_dir / "openmirror.toml").write_text(f'[store]\nipfs_api = "{kubo.url}"\n')
    result = cli_run("add", str(hello))
    assert result.exit_code == 0 and kubo.is_pinned(CID.decode(HELLO_V1))


def test_add_with_kubo_down_is_not_ready_and_stores_nothing(cli_run, home_dir: Path, hello: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = cli_run("add", "--ipfs-api", f"http://127.0.0.1:{port}", str(hello))
    assert_error(result, 3, "cannot reach the Kubo RPC API", "Hint:")
    assert blocks_of(home_dir) == (0, 0)


# --- cat ----------------------------------------------------------------------------------------

def test_cat_streams_bytes_and_ranges(cli_run, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    cid = cli_run("add", str(path)).stdout.split()[-1]
    assert cli_run("cat", cid).stdout_bytes == data
    part = cli_run("cat", cid, "--offset", str(1024 * 1024 - 3), "--length", "10")
    assert part.stdout_bytes == data[1024 * 1024 - 3: 1024 * 1024 + 7]
    assert cli_run("cat", cid, "--offset", str(len(data) + 5)).stdout_bytes == b""
    assert cli_run("cat", cid, "--offset", "-1").exit_code == 2


def test_cat_errors(cli_run, home_dir: Path, hello: Path, planets: Path) -> None:
    assert_error(cli_run("cat", "not-a-cid"), 2, "invalid CID")
    assert_error(cli_run("cat", HELLO_V1), 3, "no openmirror home")      # reads only: makes none
    directory = cli_run("add", "-r", str(planets)).stdout.split()[-1]
    assert_error(cli_run("cat", HELLO_V1), 1, "not in the local store", "Hint:")
    assert_error(cli_run("cat", directory), 2, "is a directory")


def test_cat_of_a_block_corrupted_on_disk_exits_4(cli_run, home_dir: Path, hello: Path) -> None:
    cli_run("add", str(hello))
    store = BlockStore(home_dir / "blocks")
    store.path_of(CID.decode(HELLO_V1)).write_bytes(b"hello w0rld")
    result = cli_run("cat", HELLO_V1)
    assert_error(result, 4, "corrupted on disk", "Hint:")
    assert result.stdout_bytes == b""


# --- car ----------------------------------------------------------------------------------------

def test_car_round_trip_between_homes(cli_run, home_dir: Path, tmp_path: Path, hello: Path,
                                      planets: Path) -> None:
    file_cid = cli_run("add", str(hello)).stdout.split()[-1]
    dir_cid = cli_run("add", "-r", str(planets)).stdout.split()[-1]
    car = tmp_path / "out.car"
    result = cli_run("car", "export", file_cid, dir_cid, "-o", str(car))
    assert result.exit_code == 0 and result.stdout == "" and car.stat().st_size > 0
    other = tmp_path / "other-home"
    imported = run_in(other, "car", "import", str(car))
    assert imported.exit_code == 0 and imported.stdout.splitlines() == [file_cid, dir_cid]
    assert run_in(other, "cat", file_cid).stdout_bytes == b"hello world"
    from_stdin = cli_run("car", "import", "-", input=car.read_bytes())
    assert from_stdin.exit_code == 0 and from_stdin.stdout.splitlines() == [file_cid, dir_cid]
    as_json = run_in(other, "car", "import", "--json", str(car))
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == [
        {"cid": file_cid, "complete": True}, {"cid": dir_cid, "complete": True}]


def test_car_export_to_stdout_and_scopes(cli_run, planets: Path) -> None:
    dir_cid = cli_run("add", "-r", str(planets)).stdout.split()[-1]
    whole = cli_run("car", "export", dir_cid, "-o", "-").stdout_bytes
    block = cli_run("car", "export", dir_cid, "-o", "-", "--scope", "block").stdout_bytes
    assert whole.startswith(block[:50]) and len(block) < len(whole)
    assert cli_run("car", "export", dir_cid, "-o", "-", "--scope", "most").exit_code == 2


def test_car_export_errors(cli_run, tmp_path: Path) -> None:
    out = tmp_path / "x.car"
    assert_error(cli_run("car", "export", "bogus", "-o", str(out)), 2, "invalid CID")
    assert_error(cli_run("car", "export", HELLO_V1, "-o", str(out)), 3, "no openmirror home")
    assert cli_run("config", "path").exit_code == 0                          # an empty home
    assert_error(cli_run("car", "export", HELLO_V1, "-o", str(out)), 1, "not in the local store")
    assert not out.exists()


def test_corrupted_and_truncated_cars_are_refused_and_store_nothing(cli_run, home_dir: Path,
                                                                   tmp_path: Path, planets: Path) -> None:
    source = tmp_path / "source-home"
    dir_cid = run_in(source, "add", "-r", str(planets)).stdout.split()[-1]
    car = tmp_path / "p.car"
    run_in(source, "car", "export", dir_cid, "-o", str(car))
    data = car.read_bytes()
    corrupted = tmp_path / "corrupted.car"
    corrupted.write_bytes(data[:-2] + bytes([data[-2] ^ 1]) + data[-1:])
    truncated = tmp_path / "truncated.car"
    truncated.write_bytes(data[:-5])
    for bad, words in ((corrupted, "do not hash"), (truncated, "truncated")):
        assert_error(cli_run("car", "import", str(bad)), 4, words)
        assert blocks_of(home_dir) == (0, 0)
    assert_error(cli_run("car", "import", str(tmp_path / "absent.car")), 2, "cannot read")


def test_car_import_warns_about_incomplete_roots(cli_run, tmp_path: Path, planets: Path) -> None:
    source = tmp_path / "source-home"
    dir_cid = run_in(source, "add", "-r", str(planets)).stdout.split()[-1]
    car = tmp_path / "block.car"
    run_in(source, "car", "export", dir_cid, "-o", str(car), "--scope", "block")
    result = cli_run("car", "import", str(car))
    assert result.exit_code == 0 and result.stdout == dir_cid + "\n"
    assert result.stderr.startswith("Warning: ") and dir_cid in result.stderr


def test_store_commands_have_examples_in_help(cli_run) -> None:
    for command in (["cid"], ["add"], ["cat"], ["car", "export"], ["car", "import"]):
        result = cli_run(*command, "--help")
        assert result.exit_code == 0 and "Examples:" in result.stdout
