"""``openmirror pin remote``: replicate chosen collections to an IPFS Pinning Service."""

from __future__ import annotations

import asyncio

import click

from cli.groups import WholeHelpGroup
from cli.context import AppContext, pass_app
from cli.errors import handle_errors
from cli.output import emit_json, emit_mapping
from mirror.node.copies.pinning import pin_home


@click.group("pin", cls=WholeHelpGroup)
def pin_group() -> None:
    """Pin content on other services."""


@pin_group.command("remote")
@click.option("--collection", "collections", multiple=True, metavar="NAME",
              help="Collection to pin (repeatable; default: the pinning.collections setting).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@pass_app
@handle_errors
def pin_remote(app: AppContext, collections: tuple[str, ...], as_json: bool) -> None:
    """Pin every content of the chosen collections on the pinning service, once.

    Uses pinning.endpoint and pinning.token (any IPFS Pinning Service API: IPFS Cluster, Pinata,
    Filebase, …). Contents already pinned there are left alone; failed pins are asked again.

    \b
    Examples:
        openmirror pin remote --collection theses
        OPENMIRROR_PINNING_TOKEN=... openmirror pin remote --json
    """
    home = app.home
    chosen = list(collections) or list(home.settings.pinning.collections)
    report = asyncio.run(pin_home(home, chosen))
    if as_json or app.json:
        emit_json(report.to_dict())
        return
    emit_mapping({k: v for k, v in report.to_dict().items() if k != "failed"}, as_json=False)
    for failure in report.failed:
        click.echo(f"failed\t{failure['cid']}\t{failure['error']}")


COMMANDS = [pin_group]
