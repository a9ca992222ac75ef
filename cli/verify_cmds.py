"""``openmirror verify``: check the index, its entries and every local block, and (with --repair) fix
damage from peers."""

from __future__ import annotations

import asyncio
import sys

import click

from cli.context import AppContext, pass_app
from cli.errors import handle_errors
from cli.output import emit_json, printable, stderr_console
from mirror.errors import EXIT_INTEGRITY, EXIT_OK
from mirror.node.copies.repair import VerifyReport, verify_home
from mirror.units import format_size


@click.command("verify")
@click.option("--repair", is_flag=True, help="Fetch good copies of damaged or missing blocks from peers.")
@click.option("--peer", "peers", multiple=True, metavar="URL",
              help="Also ask this peer when repairing (repeatable); node.peers, known peers and "
                   "known holders are always asked.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@pass_app
@handle_errors
def verify_command(app: AppContext, repair: bool, peers: tuple[str, ...], as_json: bool) -> None:
    """Check the index file, every stored entry and block, and every held content.

    Prints one line per problem (the index file damaged, an entry whose signature or chain no
    longer verifies, a block corrupted, missing or unreadable) and exits 4 when damage remains,
    0 when all is well; blocks a killed import left are counted. With --repair, damaged blocks
    are fetched again from the peers and holders that have them, every block verified; a content
    still damaged is no longer marked held, and the blocks a killed import left are removed.

    \b
    Examples:
        openmirror verify
        openmirror verify --repair
        openmirror verify --repair --peer http://mirror.example.org:8470 --json
    """
    report = asyncio.run(verify_home(app.home if repair else app.existing_home, repair=repair, peers=peers))
    if as_json or app.json:
        emit_json(report.to_dict())
    else:
        _print(report)
    sys.exit(EXIT_INTEGRITY if report.failed else EXIT_OK)


def _print(report: VerifyReport) -> None:
    for problem in report.index_problems:
        click.echo(f"index\t{printable(problem)}")
    for bad in report.feeds.bad:
        click.echo(f"entry\t{bad['author']}\t{bad['seq']}\t{printable(bad['problem'])}")
    for sha256 in report.unheld:
        click.echo(f"unheld\t{sha256}\tno longer marked held: some of its blocks are missing")
    for damage in report.damage:
        state = "repaired" if damage.repaired else damage.kind
        where = damage.path or (f"content {damage.contents[0][:16]}…" if damage.contents else "")
        line = f"{state}\t{damage.cid}\t{where}"
        click.echo(line + (f"\t{damage.detail}" if damage.detail and not damage.repaired else ""))
    if report.index_problems:
        stderr_console.print("the index file is damaged: restore it from a backup, or move it "
                             "away and mirror again", highlight=False)
        return
    summary = (f"checked {report.blocks} blocks ({format_size(report.bytes)}), {report.contents} held "
               f"contents and {report.feeds.entries} entries in {report.seconds:.1f} s: ")
    fixed = sum(d.repaired for d in report.damage)
    left = len(report.remaining) + len(report.feeds.bad)
    summary += "all is well" if not (report.damage or report.feeds.bad) else f"{fixed} repaired, {left} damaged"
    left_behind = report.reclaimed
    if left_behind.blocks:
        summary += (f"; {left_behind.blocks} blocks ({format_size(left_behind.bytes)}) left by a killed "
                    "import " + ("to reclaim with --repair" if left_behind.dry_run else "reclaimed"))
    stderr_console.print(summary, highlight=False)


COMMANDS = [verify_command]
