"""The README's two set-up commands (issue 16 item 1): the first works from a fresh clone with the
system's interpreter (Debian's refuses ``pip install`` outside a virtual environment, PEP 668), and
CI runs the second exactly as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_BIN = Path("/usr/bin")


def readme_commands() -> list[str]:
    """The commands of the README's quick start (its first ``sh`` block, comments left out)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", text, re.S)
    assert block is not None, "README.md has no quick start block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_the_quick_start_is_two_commands_in_a_virtual_environment() -> None:
    install, tests = readme_commands()
    for command in (install, tests):
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e ")
    assert "python3 -m pip install" not in (ROOT / "README.md").read_text(encoding="utf-8")
    assert install.endswith('openmirror mirror examples/notes/manifest.jsonl && openmirror search "content addressing"')
    assert tests.endswith("&& python -m pytest")


def test_ci_runs_the_readme_test_command_exactly() -> None:
    _, tests = readme_commands()
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in script
    assert script.index(tests) > script.index('git clone -q "$repo" "$work/openmirror"')


def _system_env(tmp_path: Path) -> dict[str, str]:
    """A newcomer's shell: the system's python3 first on PATH, no virtual environment, no openmirror
    settings, and the user data folder (the default home) in TMP_PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OPENMIRROR_") and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    if (SYSTEM_BIN / "python3").exists():
        env["PATH"] = f"{SYSTEM_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    return env


@pytest.mark.timeout(600)
def test_the_first_command_works_from_a_fresh_clone_with_the_system_python(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    clone = tmp_path / "openmirror"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=60)
    if (ROOT.parent / "shared").is_dir():
        (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    install, _ = readme_commands()
    env = _system_env(tmp_path)
    done = subprocess.run(["sh", "-c", install], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=540)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "notes (manifest): stored 5 (updated 0)" in done.stdout
    assert "Content addressing in five minutes\topenmirror contributors\tCC-BY-4.0" in done.stdout
    assert (tmp_path / "data" / "openmirror" / "index.sqlite").is_file()     # the embedded default home
    version = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c",
                              "import sys; print(sys.base_prefix)"], capture_output=True, text=True)
    if (SYSTEM_BIN / "python3").exists():
        assert version.stdout.strip() == "/usr"           # the venv stands on the system's Python
