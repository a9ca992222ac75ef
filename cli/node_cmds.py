"""``openmirror serve``, ``join``, ``peers`` and ``status``: run a volunteer node and look at it."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from cli import logs, process
from cli.groups import WholeHelpGroup
from cli.context import AppContext, pass_app
from cli.errors import handle_errors, report
from cli.params import size_value
from cli.output import emit_json, emit_mapping, emit_rows, printable
from mirror.errors import EXIT_FAILURE
from mirror.node import control
from mirror.units import format_size

PEER_COLUMNS = ["url", "node_id", "state", "last_contact", "lag", "failures", "conflicts"]
CONFLICT_COLUMNS = ["author", "status", "sha256", "cid", "size", "bound_cid", "first_seen"]
SIZE_FIELDS = ("storage_used", "storage_budget", "storage_budget_used", "own_bytes", "upload_rate",
               "network_free", "copies_missing_bytes")


FACES = (("search", "search page", "/"), ("oai", "OAI-PMH", "/oai"), ("gateway", "IPFS gateway", "/ipfs/"),
         ("api", "JSON API", "/api/v1/"))


def _ready_printer(as_json: bool) -> Any:
    """The ready line: the node id, its URL, and where each of its faces is."""
    def ready(node: Any) -> None:
        faces = {key: node.url + path for key, _, path in FACES}
        if as_json:
            emit_json({"node_id": node.identity.node_id, "url": node.url, **faces})
            return
        click.echo(f"openmirror node {node.identity.node_id} serving on {node.url}")
        for key, label, _ in FACES:
            click.echo(f"  {label:<13}{faces[key]}")
        sys.stdout.flush()
    return ready


listen_options = [
    click.option("--listen", metavar="HOST:PORT", help="Address to serve on (default: node.listen)."),
    click.option("--port", type=click.IntRange(0, 65535),
                 help="Port to serve on, on node.listen's host (0: any free port)."),
    click.option("--public-url", metavar="URL",
                 help="URL others reach this node at (default: node.public_url, else http://LISTEN; "
                      "with --listen 0.0.0.0 the address this machine's traffic leaves from)."),
]


def with_listen_options(fn: Any) -> Any:
    for option in reversed(listen_options):
        fn = option(fn)
    return fn


def diffusion_options(fn: Any) -> Any:
    """The options of ``serve`` and ``join`` that say what this volunteer holds for others."""
    options = [
        click.option("--storage", metavar="SIZE",
                     help="Bytes of others' content to hold, e.g. 300MiB or 20GiB (default: node.storage)."),
        click.option("--copies", type=click.IntRange(1, 100), metavar="K",
                     help="Target live copies of every content in the network (default: node.copies)."),
        click.option("--collection", "collections", multiple=True, metavar="NAME",
                     help="Hold only content of this collection (repeatable)."),
        click.option("--license", "licenses", multiple=True, metavar="SPDX",
                     help="Hold only content under this licence (repeatable)."),
        click.option("--upload-rate", metavar="SIZE",
                     help="Bytes per second served to others, e.g. 5MiB (default: node.upload_rate)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _overrides(storage: str | None, copies: int | None, collections: tuple[str, ...],
               licenses: tuple[str, ...], upload_rate: str | None) -> dict[str, Any]:
    """The node.* settings the diffusion options set (only those given)."""
    given = {"storage": size_value("--storage", storage), "copies": copies,
             "collections": list(collections) or None, "licenses": list(licenses) or None,
             "upload_rate": size_value("--upload-rate", upload_rate)}
    return {name: value for name, value in given.items() if value is not None}


def _public(url: str | None) -> dict[str, Any]:
    """The node.public_url override of --public-url (checked where the node is built)."""
    return {} if url is None else {"public_url": url}


@click.command("serve")
@with_listen_options
@click.option("--peer", "peers", multiple=True, metavar="URL", help="Peer to sync with (repeatable).")
@diffusion_options
@click.option("--json", "as_json", is_flag=True, help="Print the node id and URLs as JSON when ready.")
@pass_app
@handle_errors
def serve_cmd(app: AppContext, listen: str | None, port: int | None, public_url: str | None,
              peers: tuple[str, ...], storage: str | None, copies: int | None, collections: tuple[str, ...],
              licenses: tuple[str, ...], upload_rate: str | None, as_json: bool) -> None:
    """Run this node: serve the index and content, sync with peers, hold copies, until interrupted.

    At its URL the node serves a search page (/, with /doc/CID and /collection/ pages), an OAI-PMH
    provider (/oai), an IPFS trustless gateway (/ipfs/CID) and a JSON API (/api/v1/status,
    /api/v1/search?q=...); the ready line names each. It logs its work (syncs, copies, audits) on
    stderr; Ctrl-C stops it.

    \b
    Examples:
        openmirror serve
        openmirror serve --port 8080
        openmirror serve --listen 0.0.0.0:8470 --public-url http://mirror.example.org:8470
        openmirror serve --storage 20GiB --copies 3 --collection theses --license CC-BY-4.0
    """
    overrides = _overrides(storage, copies, collections, licenses, upload_rate) | _public(public_url)
    logs.configure(app.verbose, app.quiet, node=True)
    asyncio.run(control.serve(app.home, listen=listen, port=port, peers=list(peers),
                              on_ready=_ready_printer(as_json or app.json), **overrides))


@click.command("join")
@click.argument("url")
@with_listen_options
@click.option("--once", is_flag=True, help="Sync once, print a summary and exit.")
@diffusion_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary (or the ready line) as JSON.")
@pass_app
@handle_errors
def join_cmd(app: AppContext, url: str, listen: str | None, port: int | None, public_url: str | None,
             once: bool, storage: str | None, copies: int | None, collections: tuple[str, ...],
             licenses: tuple[str, ...], upload_rate: str | None, as_json: bool) -> None:
    """Join the network through the node at URL: add it as a peer, sync, hold copies, keep serving.

    \b
    Examples:
        openmirror join http://mirror.example.org:8470
        openmirror join http://mirror.example.org:8470 --port 8471 --storage 300GiB --copies 3
        openmirror join http://mirror.example.org:8470 --once --json
    """
    as_json = as_json or app.json
    overrides = _overrides(storage, copies, collections, licenses, upload_rate) | _public(public_url)
    if not once:
        logs.configure(app.verbose, app.quiet, node=True)
        asyncio.run(control.join(app.home, url, listen=listen, port=port, on_ready=_ready_printer(as_json),
                                 **overrides))
        return
    summary = asyncio.run(control.join_once(app.home, url, **overrides))
    errors = summary["errors"]
    if as_json:
        emit_json(summary)
    elif summary["peer"] in errors and not summary["entries"]:
        report(f"could not join {summary['peer']}: {printable(errors[summary['peer']])}")
    else:
        click.echo(f"joined {summary['peer']}: {summary['entries']} entries from "
                   f"{len(summary['feeds'])} feed(s), {summary['documents']} documents, "
                   f"{format_size(summary['bytes'])} in {summary['seconds']:.1f}s, lag {summary['lag']}")
    for peer, message in errors.items() if not as_json else ():
        if not (peer == summary["peer"] and not summary["entries"]):
            click.echo(printable(f"  {peer}: {message}"), err=True)
    if errors:
        sys.exit(EXIT_FAILURE)


@click.group("peers", cls=WholeHelpGroup, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per peer.")
@pass_app
@click.pass_context
@handle_errors
def peers_group(ctx: click.Context, app: AppContext, as_json: bool) -> None:
    """List this node's peers with their state, last contact and lag; manage peers and trust.

    \b
    Examples:
        openmirror peers
        openmirror peers --json
        openmirror peers add http://mirror.example.org:8470
        openmirror peers block omaoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4a
    """
    if ctx.invoked_subcommand is None:
        rows = asyncio.run(control.list_peers_of(app.existing_home))
        emit_rows(rows, PEER_COLUMNS, as_json=as_json or app.json, title="peers")


@peers_group.command("add")
@click.argument("url")
@pass_app
@handle_errors
def peers_add(app: AppContext, url: str) -> None:
    """Add a peer to sync with.

    While a node serves this home, the peer is added through it (its admin API, with the home's
    admin.token), and it syncs with the peer at once; otherwise the next start does.

    \b
    Examples:
        openmirror peers add http://mirror.example.org:8470
    """
    emit_mapping(asyncio.run(control.add_peer_to(app.home, url)), as_json=app.json)


@peers_group.command("remove")
@click.argument("url")
@pass_app
@handle_errors
def peers_remove(app: AppContext, url: str) -> None:
    """Forget a peer.

    \b
    Examples:
        openmirror peers remove http://mirror.example.org:8470
    """
    emit_mapping(asyncio.run(control.remove_peer_from(app.home, url)), as_json=app.json)


@peers_group.command("conflicts")
@click.option("--author", metavar="KEY", help="Only the claims of this author (a node id).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per claim.")
@pass_app
@handle_errors
def peers_conflicts(app: AppContext, author: str | None, as_json: bool) -> None:
    """List content claims kept as evidence against their authors.

    A claim is evidence when the CID it names holds other bytes than the sha256 and size it
    claims (mismatch), or when the content is bound here, verified, to another CID (conflict).
    Such a claim never replaces the verified CID; block its author to remove it.

    \b
    Examples:
        openmirror peers conflicts
        openmirror peers conflicts --json
        openmirror peers conflicts --author omaoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4a
    """
    rows = asyncio.run(control.list_conflicts(app.home, author=author))
    emit_rows(rows, CONFLICT_COLUMNS, as_json=as_json or app.json, title="conflicting claims")


@peers_group.command("block")
@click.argument("key")
@pass_app
@handle_errors
def peers_block(app: AppContext, key: str) -> None:
    """Stop merging and relaying the entries of the author KEY (a node id).

    \b
    Examples:
        openmirror peers block omaoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4a
    """
    emit_mapping(asyncio.run(control.set_blocked(app.home, key, True)), as_json=app.json)


@peers_group.command("unblock")
@click.argument("key")
@pass_app
@handle_errors
def peers_unblock(app: AppContext, key: str) -> None:
    """Merge and relay the entries of the author KEY again.

    \b
    Examples:
        openmirror peers unblock omaoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4a
    """
    emit_mapping(asyncio.run(control.set_blocked(app.home, key, False)), as_json=app.json)


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option("--check", is_flag=True,
              help="First check the whole index file with SQLite's quick check (slower on a large index).")
@pass_app
@handle_errors
def status_cmd(app: AppContext, as_json: bool, check: bool) -> None:
    """Show this node's id, peers, documents, held content, storage, budget and copies.

    Reads the home, so it works whether or not the node is running. The JSON form adds the
    copies figures per collection (contents, held here, under-replicated, distribution of
    known live copies) and the index quota (authors no longer pulled, and why). Warnings
    say when the live nodes or the network's free capacity cannot give every document its
    copies. Damage met in the index file is an error (exit 4), never a status; --check looks
    for it in the whole file first (`openmirror verify` checks everything).

    \b
    Examples:
        openmirror status
        openmirror status --json
        openmirror status --check
    """
    status = control.status(app.existing_home, check=check)
    if not (as_json or app.json):            # sizes for people; JSON keeps the byte counts
        status = {k: format_size(v) if k in SIZE_FIELDS and isinstance(v, int) else v for k, v in status.items()
                  if k != "warnings" or v}
    emit_mapping(status, as_json=as_json or app.json)
    process.leave(0)


COMMANDS = [serve_cmd, join_cmd, peers_group, status_cmd]
