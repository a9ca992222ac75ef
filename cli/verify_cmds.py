"""``openmirror verify``: re-hash every local block and (with --repair) fix damage from peers."""

from __future__ import annotations

import asyncio
import sys

import click

from cli.context import AppContext, pass_app
from cli.errors import handle_errors
from cli.output import emit_json, stderr_console
from mirror.errors import EXIT_INTEGRITY, EXIT_OK
from mirror.node.copies.repair import VerifyReport, verify_home


@click.command("verify")
@click.option("--repair", is_flag=True, help="Fetch good copies of damaged or missing blocks from peers.")
@click.option("--peer", "peers", multiple=True, metavar="URL",
              help="Also ask this peer when repairing (repeatable); node.peers, known peers and "
                   "known holders are always asked.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@pass_app
@handle_errors
def verify_command(app: AppContext, repair: bool, peers: tuple[str, ...], as_json: bool) -> None:
    """Check every stored block against its hash, and every held content for missing blocks.

    Prints one line per damaged block (corrupted, missing or unreadable) and exits 4 when damage
    remains, 0 when all is well. With --repair, damaged blocks are fetched again from the peers
    and holders that have them, every block verified; nothing changes for a block no peer has.

    \b
    Examples:
        openmirror verify
        openmirror verify --repair
        openmirror verify --repair --peer http://mirror.example.org:8470 --json
    """
    report = asyncio.run(verify_home(app.home, repair=repair, peers=peers))
    if as_json or app.json:
        emit_json(report.to_dict())
    else:
        _print(report)
    sys.exit(EXIT_INTEGRITY if report.remaining else EXIT_OK)


def _print(report: VerifyReport) -> None:
    for damage in report.damage:
        state = "repaired" if damage.repaired else damage.kind
        where = damage.path or (f"content {damage.contents[0][:16]}…" if damage.contents else "")
        line = f"{state}\t{damage.cid}\t{where}"
        click.echo(line + (f"\t{damage.detail}" if damage.detail and not damage.repaired else ""))
    summary = (f"checked {report.blocks} blocks ({report.bytes} bytes) and {report.contents} held "
               f"contents in {report.seconds:.1f} s: ")
    fixed = sum(d.repaired for d in report.damage)
    left = len(report.remaining)
    summary += "all is well" if not report.damage else f"{fixed} repaired, {left} damaged"
    stderr_console.print(summary, highlight=False)


COMMANDS = [verify_command]
