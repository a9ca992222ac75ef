from pathlib import Path

import pytest

from mirror.errors import ConfigError
from mirror.home import Home
from mirror.settings import SETTINGS, Settings, parse_size


@pytest.mark.parametrize("text,expected", [
    ("300KB", 300_000), ("20GB", 20 * 10**9), ("20GiB", 20 * 2**30), ("1024", 1024),
    ("1.5MiB", 1572864), ("7 kib", 7168),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "12 parsecs", "-3GB", "GB"])
def test_parse_size_rejects(text):
    with pytest.raises(ConfigError):
        parse_size(text)


def test_layering_default_file_env_flag(tmp_path: Path):
    f = tmp_path / "openmirror.toml"
    f.write_text("[fetch]\nper_host = 5\ndelay = 2.0\n")
    s = Settings(f, env={"OPENMIRROR_FETCH_DELAY": "3.5"})
    assert s.fetch.per_host == 5 and s.origin("fetch.per_host").startswith("file")
    assert s.fetch.delay == 3.5 and s.origin("fetch.delay").startswith("env")
    assert s.fetch.concurrency == 16 and s.origin("fetch.concurrency") == "default"
    s.set("fetch.per_host", 9)
    assert s.fetch.per_host == 9 and s.origin("fetch.per_host") == "flag"


def test_unknown_setting_in_file_is_a_clear_error(tmp_path: Path):
    f = tmp_path / "openmirror.toml"
    f.write_text("[fetch]\nper_hots = 5\n")
    with pytest.raises(ConfigError, match="unknown setting fetch.per_hots"):
        Settings(f, env={})


def test_home_created_with_template_that_parses(tmp_path: Path):
    home = Home.open(tmp_path / "h")
    assert home.settings_file.exists() and home.blocks_dir.is_dir()
    # the template lists every setting, commented out, and parses to the defaults
    text = home.settings_file.read_text()
    for s in SETTINGS:
        assert f"# {s.name} = " in text
    assert home.settings.store.profile == "unixfs-v1-2025"


def test_config_show_cli(cli_run):
    res = cli_run("config", "show", "--json")
    assert res.exit_code == 0
    assert '"key": "node.copies"' in res.output


def test_docs_settings_md_is_current():
    from mirror.settings import markdown
    doc = Path(__file__).parents[1] / "docs" / "settings.md"
    assert doc.read_text() == markdown(), "regenerate: python -m mirror.settings > docs/settings.md"


def test_config_show_masks_secrets_unless_asked(tmp_path: Path) -> None:
    """Tokens never reach a pasted ``config show`` (issue 16 item 2); ``--show-secrets`` prints them."""
    import os
    import subprocess
    import sys

    root = Path(__file__).parents[1]
    home = tmp_path / "home"
    home.mkdir()
    (home / "openmirror.toml").write_text('[node]\nadmin_token = "admin-secret-1"\n'
                                          '[store]\nipfs_api_auth = "Bearer kubo-secret-2"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENMIRROR_")}
    env |= {"PYTHONPATH": str(root), "OPENMIRROR_PINNING_TOKEN": "pin-secret-3"}
    secrets = ("admin-secret-1", "kubo-secret-2", "pin-secret-3")

    def show(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "cli.main", "--home", str(home), "config", "show", *args],
                              cwd=root, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    for args in ((), ("--json",)):
        shown = show(*args)
        assert not [s for s in secrets if s in shown], shown
        assert shown.count("********") == 3
    assert "node.copies" in show() and '"origin": "env OPENMIRROR_PINNING_TOKEN"' in show("--json")
    revealed = show("--show-secrets", "--json")
    assert all(s in revealed for s in secrets)
