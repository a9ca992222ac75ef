"""The state a command body needs: the home, its settings, and the output mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:                  # the home (settings, platformdirs) loads when a command asks
    from mirror.home import Home


@dataclass
class AppContext:
    home_path: str | Path | None
    json: bool = False
    verbose: int = 0
    quiet: bool = False
    _home: Home | None = field(default=None, repr=False)

    @property
    def home(self) -> Home:
        """The home, created on first use (commands that write)."""
        if self._home is None:
            from mirror.home import Home

            self._home = Home.open(self.home_path)
        return self._home

    @property
    def existing_home(self) -> Home:
        """The home, which must exist: commands that only read never create an empty node
        (``NoHome``, exit 3)."""
        if self._home is None:
            from mirror.home import Home

            self._home = Home.open(self.home_path, create=False)
        return self._home


pass_app = click.make_pass_decorator(AppContext)
