"""``openmirror pin``: local pins (``add``, ``rm``, ``ls``), and ``remote``: replicate chosen
collections to an IPFS Pinning Service."""

from __future__ import annotations

import asyncio

import click

from cli.groups import WholeHelpGroup
from cli.context import AppContext, pass_app
from cli.errors import handle_errors
from cli.output import emit_json, emit_mapping, emit_rows
from mirror.node.copies.pinning import pin_home
from mirror.pins import list_pins, pin, unpin


@click.group("pin", cls=WholeHelpGroup)
def pin_group() -> None:
    """Pin content here (kept by gc, served by the gateway) or on a pinning service."""


@pin_group.command("add")
@click.argument("cid")
@pass_app
@handle_errors
def pin_add(app: AppContext, cid: str) -> None:
    """Keep CID here and serve it on the gateway, whatever documents say.

    As Kubo's `ipfs pin add`: gc never reclaims a pinned DAG. The gateway serves only what a
    published document references or what is pinned, so pinning is how content stored without an
    open licence (or with add --no-index) is served on purpose. CID must be wholly held here.

    \b
    Examples:
        openmirror pin add bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64
    """
    name, added = asyncio.run(pin(app.existing_home, cid))
    click.echo(f"pinned {name}" if added else f"{name} was pinned already")


@pin_group.command("rm")
@click.argument("cid")
@pass_app
@handle_errors
def pin_rm(app: AppContext, cid: str) -> None:
    """Drop the local pin of CID (gc may then reclaim it).

    \b
    Examples:
        openmirror pin rm bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64
    """
    click.echo(f"unpinned {asyncio.run(unpin(app.existing_home, cid))}")


@pin_group.command("ls")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pin.")
@pass_app
@handle_errors
def pin_ls(app: AppContext, as_json: bool) -> None:
    """List the local pins.

    \b
    Examples:
        openmirror pin ls
    """
    emit_rows(asyncio.run(list_pins(app.existing_home)), ["cid", "pinned_at"], as_json=as_json or app.json,
              title="pins")


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
