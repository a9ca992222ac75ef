"""The node home: one folder holding settings, blocks, the index and the node's key.

    HOME/
      openmirror.toml     settings (created with every key commented out)
      blocks/             the blockstore (mirror.store.blockstore)
      index.sqlite        the metadata index (indexer)
      staging/            bodies being fetched, before import
      node.key            Ed25519 private key, mode 0600
      admin.token         the administrative API's token, mode 0600 (made on first use)
      node.api            the local URL of the node serving on this home, while it serves
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from mirror.errors import ConfigError
from mirror.settings import Settings, template

HOME_ENV = "OPENMIRROR_HOME"


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("openmirror", appauthor=False))


@dataclass
class Home:
    path: Path
    settings: Settings

    @property
    def settings_file(self) -> Path:
        return self.path / "openmirror.toml"

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

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> "Home":
        """Open (creating on first use) the home at PATH, $OPENMIRROR_HOME or the default."""
        raw = path or os.environ.get(HOME_ENV) or default_home()
        root = Path(raw).expanduser().resolve()
        try:
            if root.exists() and not root.is_dir():
                raise ConfigError(f"home {root} exists and is not a folder")
            for sub in (root, root / "blocks", root / "staging"):
                sub.mkdir(parents=True, exist_ok=True)
            settings_file = root / "openmirror.toml"
            if not settings_file.exists():
                settings_file.write_text(template(), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot create home {root}: {exc.strerror or exc}") from exc
        return cls(path=root, settings=Settings(settings_file))
