"""``openmirror rm`` and ``gc``: retract documents, and reclaim the blocks nothing references."""

from __future__ import annotations

import asyncio

import click

from cli.context import AppContext, pass_app
from cli.errors import handle_errors
from cli.output import emit_json
from mirror.remove import collect_garbage, remove
from mirror.units import format_size


@click.command("rm")
@click.argument("cid", required=False)
@click.option("--collection", metavar="NAME", help="Remove every document of this collection instead.")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as one JSON object.")
@pass_app
@handle_errors
def rm_command(app: AppContext, cid: str | None, collection: str | None, as_json: bool) -> None:
    """Retract the documents of a CID (or of a collection) and unpin it; gc reclaims the blocks.

    A retraction is signed into this node's feed: peers apply it at their next sync (the documents
    leave their search, their copies go), and this node's search, web pages, OAI-PMH and gateway
    drop them at once. A later mirror of the same source stores them again.

    \b
    Examples:
        openmirror rm bafkreic3fwx4stdw2ytlwfhmcvwwuagollys6ygn733ff3a42wl6l5md5q
        openmirror rm --collection notes --json
        openmirror rm --collection notes && openmirror gc
    """
    removed = asyncio.run(remove(app.existing_home, cid=cid, collection=collection))
    if as_json or app.json:
        emit_json(removed.to_dict())
        return
    click.echo(f"removed {removed.documents} document(s), unpinned {removed.unpinned}; "
               "peers drop them at their next sync; openmirror gc reclaims their blocks")


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@pass_app
@handle_errors
def gc_command(app: AppContext, dry_run: bool, as_json: bool) -> None:
    """Delete the blocks no live document and no pin references, and what killed runs left.

    It needs the home alone: it refuses (exit 3) while a node serves on it or another command
    writes it. Staging files of killed harvests and journals of killed imports go too.

    \b
    Examples:
        openmirror gc
        openmirror gc --dry-run --json
    """
    swept = asyncio.run(collect_garbage(app.existing_home, dry_run=dry_run))
    if as_json or app.json:
        emit_json(swept.to_dict())
        return
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {swept.blocks} block(s), {format_size(swept.bytes)}, and {swept.staging} "
               f"left-over staging file(s); kept {swept.kept} block(s)")


COMMANDS = [rm_command, gc_command]
