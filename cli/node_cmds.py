"""``openmirror serve``, ``join``, ``peers`` and ``status``: run a volunteer node and look at it."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from cli.context import AppContext, pass_app
from cli.errors import handle_errors
from cli.output import emit_json, emit_mapping, emit_rows
from mirror.errors import EXIT_FAILURE
from mirror.node import control

PEER_COLUMNS = ["url", "node_id", "state", "last_contact", "lag", "failures"]


def _ready_printer(as_json: bool) -> Any:
    def ready(node: Any) -> None:
        if as_json:
            emit_json({"node_id": node.identity.node_id, "url": node.url})
        else:
            click.echo(f"openmirror node {node.identity.node_id} serving on {node.url}")
            sys.stdout.flush()
    return ready


@click.command("serve")
@click.option("--listen", metavar="HOST:PORT", help="Address to serve on (default: node.listen).")
@click.option("--peer", "peers", multiple=True, metavar="URL", help="Peer to sync with (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the node id and URL as JSON when ready.")
@pass_app
@handle_errors
def serve_cmd(app: AppContext, listen: str | None, peers: tuple[str, ...], as_json: bool) -> None:
    """Run this node: serve the index and content, sync with peers, until interrupted.

    \b
    Examples:
        openmirror serve
        openmirror serve --listen 0.0.0.0:8470 --peer http://mirror.example.org:8470
    """
    asyncio.run(control.serve(app.home, listen=listen, peers=list(peers),
                              on_ready=_ready_printer(as_json or app.json)))


@click.command("join")
@click.argument("url")
@click.option("--listen", metavar="HOST:PORT", help="Address to serve on (default: node.listen).")
@click.option("--once", is_flag=True, help="Sync once, print a summary and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary (or the ready line) as JSON.")
@pass_app
@handle_errors
def join_cmd(app: AppContext, url: str, listen: str | None, once: bool, as_json: bool) -> None:
    """Join the network through the node at URL: add it as a peer, sync, keep serving.

    \b
    Examples:
        openmirror join http://mirror.example.org:8470
        openmirror join http://mirror.example.org:8470 --once --json
    """
    as_json = as_json or app.json
    if not once:
        asyncio.run(control.serve(app.home, listen=listen, peers=[url],
                                  on_ready=_ready_printer(as_json)))
        return
    summary = asyncio.run(control.join_once(app.home, url))
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"joined {summary['peer']}: {summary['entries']} entries from "
                   f"{len(summary['feeds'])} feed(s), {summary['documents']} documents, "
                   f"{summary['bytes']} bytes in {summary['seconds']:.1f}s, lag {summary['lag']}")
        for peer, message in summary["errors"].items():
            click.echo(f"  {peer}: {message}", err=True)
    if summary["errors"]:
        sys.exit(EXIT_FAILURE)


@click.group("peers", invoke_without_command=True)
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
        rows = asyncio.run(control.list_peers(app.home))
        emit_rows(rows, PEER_COLUMNS, as_json=as_json or app.json, title="peers")


@peers_group.command("add")
@click.argument("url")
@pass_app
@handle_errors
def peers_add(app: AppContext, url: str) -> None:
    """Add a peer to sync with.

    \b
    Examples:
        openmirror peers add http://mirror.example.org:8470
    """
    emit_mapping(asyncio.run(control.add_peer(app.home, url)), as_json=app.json)


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
    emit_mapping(asyncio.run(control.remove_peer(app.home, url)), as_json=app.json)


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
@pass_app
@handle_errors
def status_cmd(app: AppContext, as_json: bool) -> None:
    """Show this node's id, peers, documents, held content, storage used and feeds.

    Reads the home, so it works whether or not the node is running.

    \b
    Examples:
        openmirror status
        openmirror status --json
    """
    emit_mapping(asyncio.run(control.status(app.home)), as_json=as_json or app.json)


COMMANDS = [serve_cmd, join_cmd, peers_group, status_cmd]
