"""``openmirror config``: show the effective settings."""

from __future__ import annotations

import click

from cli.groups import WholeHelpGroup
from cli.context import AppContext, pass_app
from cli.errors import handle_errors
from cli.output import emit_rows


@click.group("config", cls=WholeHelpGroup)
def config_group() -> None:
    """Show and locate the node's settings."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per setting.")
@pass_app
@handle_errors
def config_show(app: AppContext, as_json: bool) -> None:
    """Print every setting, its effective value and where it came from.

    \b
    Examples:
        openmirror config show
        openmirror --home /srv/mirror config show --json
    """
    home = app.home
    emit_rows(home.settings.rows(), ["key", "value", "origin"], as_json=as_json or app.json,
              title=str(home.settings_file))


@config_group.command("path")
@pass_app
@handle_errors
def config_path(app: AppContext) -> None:
    """Print the path of the settings file.

    \b
    Examples:
        openmirror config path
    """
    click.echo(str(app.home.settings_file))


COMMANDS = [config_group]
