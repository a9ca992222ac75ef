"""The node home: one folder holding settings, blocks, the index and the node's key.

    HOME/
      openmirror.toml     settings (created with every key commented out)
      blocks/             the blockstore (mirror.store.blockstore)
      index.sqlite        the metadata index (indexer)
      staging/            bodies being fetched, before import
      node.key            Ed25519 private key, mode 0600
      admin.token         the administrative API's token, mode 0600 (made on first use)
      node.api            the local URL of the node serving on this home, while it serves
      node.lock           held (flock) by the node serving on this home: its pid and URL (mirror.lock)
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path


from mirror.errors import ConfigError, NoHome
from mirror.settings import Settings, template

HOME_ENV = "OPENMIRROR_HOME"
SETTINGS_FILE = "openmirror.toml"


def default_home() -> Path:
    import platformdirs                  # only when no home is named (it loads tempfile, random)

    return Path(platformdirs.user_data_dir("openmirror", appauthor=False))


@dataclass
class Home:
    path: Path
    settings: Settings

    @property
    def settings_file(self) -> Path:
        return self.path / SETTINGS_FILE

    @property
    def blocks_dir(self) -> Path:
        return self.path / "blocks"

    @property
    def db_path(self) -> Path:
        return self.path / "index.sqlite"

    @property
    def staging_dir(self) -> Path:
        return self.path / "staging"

    @property
    def key_file(self) -> Path:
        return self.path / "node.key"

    @staticmethod
    def root_of(path: str | os.PathLike[str] | None = None) -> Path:
        """Where the home at PATH, $OPENMIRROR_HOME or the default is (touching nothing)."""
        return Path(path or os.environ.get(HOME_ENV) or default_home()).expanduser().resolve()

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, create: bool = True) -> "Home":
        """Open the home at PATH, $OPENMIRROR_HOME or the default, creating it on first use; with
        ``create=False`` (commands that only read) a folder that is not a home yet is ``NoHome``."""
        root = cls.root_of(path)
        if root.exists() and not root.is_dir():
            raise ConfigError(f"home {root} exists and is not a folder")
        if not create:
            if not is_home(root):
                raise NoHome(f"no openmirror home at {root}",
                             hint="mirror or add something first (openmirror mirror SOURCE), or name "
                                  "an existing home with --home or OPENMIRROR_HOME")
            return cls(path=root, settings=Settings(root / SETTINGS_FILE))
        try:
            for sub in (root, root / "blocks", root / "staging"):
                sub.mkdir(parents=True, exist_ok=True)
            settings_file = root / SETTINGS_FILE
            if not settings_file.exists():
                settings_file.write_text(template(), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot create home {root}: {exc.strerror or exc}",
                              hint=_unwritable_hint(exc)) from exc
        return cls(path=root, settings=Settings(settings_file))


def is_home(root: Path) -> bool:
    """True when ROOT is a folder some openmirror command made a home (its settings or its index)."""
    return root.is_dir() and ((root / SETTINGS_FILE).is_file() or (root / "index.sqlite").is_file())


def _unwritable_hint(exc: OSError) -> str | None:
    if exc.errno == errno.EROFS:
        return "the home is on a read-only file system: remount it read-write, or use a home elsewhere (--home)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "you may not write there: use a home of your own (--home DIR)"
    return None
