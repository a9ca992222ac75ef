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
@click.option("--show-secrets", is_flag=True,
              help="Print tokens and credentials as they are (masked by default).")
@pass_app
@handle_errors
def config_show(app: AppContext, as_json: bool, show_secrets: bool) -> None:
    """Print every setting, its effective value and where it came from.

    Tokens and credentials (node.admin_token, pinning.token, store.ipfs_api_auth) that are set
    show as ******** unless --show-secrets, so the output can be pasted into a bug report.

    \b
    Examples:
        openmirror config show
        openmirror --home /srv/mirror config show --json
        openmirror config show --show-secrets
    """
    home = app.home
    emit_rows(home.settings.rows(show_secrets=show_secrets), ["key", "value", "origin"],
              as_json=as_json or app.json, title=str(home.settings_file))


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
