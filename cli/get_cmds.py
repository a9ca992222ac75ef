"""``openmirror get``: a file by CID, from the local store or from the peers that hold it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from cli.context import AppContext, pass_app
from cli.errors import handle_errors
from cli.output import emit_json, stderr_console
from mirror.errors import UsageError
from mirror.node.copies.get import GetResult, get_content
from mirror.store import open_store
from mirror.store.cid import CID


@click.command("get")
@click.argument("cid")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the file here (atomically) instead of to stdout.")
@click.option("--peer", "peers", multiple=True, metavar="URL",
              help="Also ask this peer (repeatable); node.peers and known peers are always asked.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON (needs -o).")
@pass_app
@handle_errors
def get_command(app: AppContext, cid: str, output: Path | None, peers: tuple[str, ...],
                as_json: bool) -> None:
    """Get a file by CID, fetching it from peers if it is not held here.

    Every block is verified against its hash before it is stored; blocks come from all the
    peers that hold the content at once. Without -o the bytes go to stdout.

    \b
    Examples:
        openmirror get bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi -o paper.pdf
        openmirror get QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY --peer http://10.0.0.5:8470
        openmirror get bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e -o f.txt --json
    """
    root = CID.decode(cid)
    as_json = as_json or app.json
    if as_json and output is None:
        raise UsageError("--json needs -o FILE (without it, stdout carries the file)")
    result = asyncio.run(get_content(app.home, root, peers=peers, out=output))
    if output is None:
        _stream(app, root)
    elif as_json:
        emit_json(result.to_dict())
    else:
        stderr_console.print(_summary(result))


def _stream(app: AppContext, root: CID) -> None:
    out = sys.stdout.buffer
    for part in open_store(app.home).cat(root):
        out.write(part)
    out.flush()


def _summary(result: GetResult) -> str:
    if result.stats is None:
        return f"wrote {result.path} ({result.size} bytes, held locally)"
    stats = result.stats
    line = (f"wrote {result.path} ({result.size} bytes; {stats.blocks} blocks from "
            f"{sum(1 for b in stats.per_holder_blocks.values() if b)} peer(s) in {stats.seconds:.1f} s)")
    if stats.liars:
        line += f"; dropped for wrong bytes: {', '.join(stats.liars)}"
    return line


COMMANDS = [get_command]
