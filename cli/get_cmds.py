"""``openmirror get``: a file or a directory by CID (or a path below one), from the local store or
from the peers that hold it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Callable, Coroutine

import click

from cli.context import AppContext, pass_app
from cli.errors import handle_errors
from cli.output import emit_json, printable
from cli.progress import bars
from mirror.errors import UsageError
from mirror.node.copies.get import GetResult, Progress, get_content
from mirror.store import open_store
from mirror.store.cid import CID
from mirror.store.paths import parse_content_path
from mirror.units import format_rate, format_size


@click.command("get")
@click.argument("path", metavar="CID[/PATH]")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Write the file here (atomically; into it if it is a folder), or a directory as "
                   "this new folder; without -o a file goes to stdout.")
@click.option("--peer", "peers", multiple=True, metavar="URL",
              help="Also ask this peer (repeatable); node.peers and known peers are always asked.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON (needs -o).")
@pass_app
@handle_errors
def get_command(app: AppContext, path: str, output: Path | None, peers: tuple[str, ...],
                as_json: bool) -> None:
    """Get a file or a directory by CID, fetching it from peers if it is not held here.

    The content is named by its CID or a path below one, as Kubo and browsers write it: CID/PATH,
    /ipfs/CID/PATH or ipfs://CID/PATH. Every block is verified against its hash before it is
    stored; blocks come from all the peers that hold the content at once.

    \b
    Examples:
        openmirror get bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi -o paper.pdf
        openmirror get ipfs://bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64/notes -o notes
        openmirror get QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY --peer http://10.0.0.5:8470
        openmirror get bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e -o f.txt --json
    """
    target = parse_content_path(path)
    as_json = as_json or app.json
    if as_json and output is None:
        raise UsageError("--json needs -o FILE (without it, stdout carries the file)")
    result = _with_bar(lambda progress: get_content(app.home, target, peers=peers, out=output,
                                                    progress=progress),
                       show=output is not None and sys.stderr.isatty() and not as_json)
    if output is None:
        _stream(app, CID.decode(result.cid))
    elif as_json:
        emit_json(result.to_dict())
    else:
        click.echo(_summary(result), err=True)


def _with_bar(work: Callable[[Progress | None], Coroutine[Any, Any, GetResult]], *, show: bool) -> GetResult:
    """Run WORK, with a progress bar (bytes of the DAG, bytes/s) on stderr when it is a terminal
    and blocks come from peers."""
    if not show:
        return asyncio.run(work(None))
    with bars(transient=True) as bar:
        task = bar.add_task("get", total=None, unit="bytes", detail="")

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        return asyncio.run(work(progress))


def _stream(app: AppContext, root: CID) -> None:
    out = sys.stdout.buffer
    for part in open_store(app.home).cat(root):
        out.write(part)
    out.flush()


def _summary(result: GetResult) -> str:
    what = format_size(result.size)
    if result.tree is not None:
        what = f"{result.tree.files} files in {result.tree.folders} folders, {what}"
        if result.tree.skipped:
            what += f"; {len(result.tree.skipped)} symlink(s) not written"
    if result.stats is None:
        return printable(f"wrote {result.path} ({what}, held locally)")
    stats = result.stats
    line = (f"wrote {result.path} ({what}; {stats.blocks} blocks from "
            f"{sum(1 for b in stats.per_holder_blocks.values() if b)} peer(s) in {stats.seconds:.1f} s, "
            f"{format_rate(stats.bytes / stats.seconds) if stats.seconds else 'at once'})")
    if stats.liars:
        line += f"; dropped for wrong bytes: {', '.join(stats.liars)}"
    return printable(line)


COMMANDS = [get_command]
