"""``openmirror cid``, ``add``, ``cat`` and ``car``: the content store from the command line."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from cli.groups import WholeHelpGroup
from cli.context import AppContext, pass_app
from cli.errors import handle_errors, report
from cli.output import emit_json, emit_rows, printable, stderr_console
from mirror.errors import NoHome
from mirror.settings import Settings
from mirror.store import ContentStore, ImportResult, cid_of, open_store, parse_content_path
from mirror.store.cid import CID
from mirror.store.directory import TreeEntry
from mirror.store.exporter import SCOPES
from mirror.units import format_size

_CHUNK = 1 << 20

profile_option = click.option("--profile", metavar="NAME",
                              help="Import profile: unixfs-v1-2025 or unixfs-v0-2015 "
                                   "(default: the store.profile setting).")
recursive_option = click.option("-r", "--recursive", is_flag=True, help="Add directories and their contents.")
hidden_option = click.option("-H", "--hidden", is_flag=True, help="Include files whose names start with a dot.")


def _store(app: AppContext) -> ContentStore:
    """The store of a home that must exist (commands that only read never create a node)."""
    return open_store(app.existing_home)


def _settings(app: AppContext) -> Settings:
    """The home's settings, or the defaults (and environment) when there is no home yet."""
    try:
        return app.existing_home.settings
    except NoHome:
        return Settings()


@click.command("cid")
@click.argument("path", type=click.Path(path_type=Path))
@profile_option
@recursive_option
@hidden_option
@pass_app
@handle_errors
def cid_command(app: AppContext, path: Path, profile: str | None, recursive: bool, hidden: bool) -> None:
    """Print the CID `add` would give PATH, storing nothing.

    Like `ipfs add -nQ`: only the CID is printed, identical to Kubo's under the same profile.

    \b
    Examples:
        openmirror cid report.pdf
        openmirror cid --profile unixfs-v0-2015 report.pdf
        openmirror cid -r website/
    """
    result = cid_of(path, profile or _settings(app).store.profile, recursive=recursive, hidden=hidden)
    click.echo(str(result.cid))


@click.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@profile_option
@recursive_option
@hidden_option
@click.option("--collection", default="local", show_default=True, help="Collection to index files in.")
@click.option("--license", "license_", metavar="SPDX|URL", help="Licence of the files (SPDX id or licence URL).")
@click.option("--no-index", is_flag=True, help="Only store; do not index the files for search.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per path.")
@click.option("--ipfs-api", metavar="URL", help="Also add and pin in this Kubo node (default: store.ipfs_api).")
@pass_app
@handle_errors
def add_command(app: AppContext, paths: tuple[Path, ...], profile: str | None, recursive: bool,
                hidden: bool, collection: str, license_: str | None, no_index: bool, as_json: bool,
                ipfs_api: str | None) -> None:
    """Store files (or, with -r, directories) and print their CIDs.

    One line per path, `added PATH CID`: the CID is always the last word; with -r every file and
    folder below a directory has its line too, before the directory's own. Files are also indexed
    for search (in --collection, with --license); only documents with an open licence spread to
    other nodes. With --ipfs-api (or the store.ipfs_api setting) the exact blocks are also
    imported and pinned in that Kubo node. A path that fails is reported and skipped; nothing of
    it is stored.

    \b
    Examples:
        openmirror add report.pdf --license CC-BY-4.0
        openmirror add -r --hidden website/ --json
        openmirror add --ipfs-api http://127.0.0.1:5001 report.pdf
    """
    settings = app.home.settings
    settings.set("store.ipfs_api", ipfs_api)
    options = {"recursive": recursive, "hidden": hidden, "profile": profile, "collection": collection,
               "license": license_, "index": not no_index}
    import mirror.ingest  # noqa: F401  (imported before the loop runs: an import reads files)
    code = asyncio.run(_add_paths(app, list(paths), options, settings.store.ipfs_api,
                                  settings.store.ipfs_api_auth or None, as_json or app.json))
    if code:
        sys.exit(code)


async def _add_paths(app: AppContext, paths: list[Path], options: dict, api: str,
                     auth: str | None, as_json: bool) -> int:
    """Add each path, rendering as it goes; returns the exit code (the worst failure's, or 0)."""
    from mirror.ingest import add_paths

    kubo = None
    if api:
        from mirror.store.kubo import KuboClient  # aiohttp loads only when Kubo is in use
        kubo = KuboClient(api, auth)
    code = 0
    try:
        if kubo is not None:
            await kubo.version()            # refuse early, before storing anything, if Kubo is down
        async for added in add_paths(app.home, paths, kubo=kubo, **options):
            if added.error is not None:
                report(added.error.message, added.error.hint)
                code = max(code, added.error.exit_code)
            elif added.result is not None:
                for entry in added.entries:          # -r: everything below, then the root
                    _render_entry(entry, as_json)
                _render_added(added.path, added.result, as_json)
    finally:
        if kubo is not None:
            await kubo.close()
    return code


def _render_entry(entry: TreeEntry, as_json: bool) -> None:
    if as_json:
        emit_json({"path": entry.path, "cid": str(entry.cid), "type": entry.kind})
    else:
        click.echo(f"added {printable(entry.path)} {entry.cid}")


def _render_added(path: Path, result: ImportResult, as_json: bool) -> None:
    if as_json:
        emit_json({"path": str(path), "cid": str(result.cid), "size": result.size,
                   "sha256": result.sha256, "profile": result.profile})
    else:
        click.echo(f"added {path} {result.cid}")


@click.command("cat")
@click.argument("path", metavar="CID[/PATH]")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="First byte to print.")
@click.option("--length", type=click.IntRange(min=0), default=None, help="Bytes to print at most.")
@pass_app
@handle_errors
def cat_command(app: AppContext, path: str, offset: int, length: int | None) -> None:
    """Stream the bytes of a stored file to stdout.

    The file is named by its CID, or by a path below a directory's CID, as Kubo and browsers
    write it: CID/PATH, /ipfs/CID/PATH or ipfs://CID/PATH. Every block is verified against its
    hash as it is read; a damaged block stops the output with exit code 4.

    \b
    Examples:
        openmirror cat bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e
        openmirror cat /ipfs/bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64/notes/a.txt
        openmirror cat --offset 1000 --length 100 QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY
    """
    target = parse_content_path(path)
    store = _store(app)
    store.require(target.cid)
    out = sys.stdout.buffer
    for part in store.cat(store.resolve_path(target), offset, length):
        out.write(part)
    out.flush()


@click.command("ls")
@click.argument("path", metavar="CID[/PATH]")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
@pass_app
@handle_errors
def ls_command(app: AppContext, path: str, as_json: bool) -> None:
    """List a stored directory: the CID, type, size and name of each entry.

    Like `ipfs ls`: the directory is named by its CID or a path below one (CID/PATH,
    /ipfs/CID/PATH, ipfs://CID/PATH); a table on a terminal, tab-separated lines when piped.

    \b
    Examples:
        openmirror ls bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64
        openmirror ls /ipfs/bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64/notes --json
    """
    target = parse_content_path(path)
    store = _store(app)
    store.require(target.cid)
    entries = store.list_dir(store.resolve_path(target))
    as_json = as_json or app.json
    rows = [{"cid": str(e.cid), "type": e.type, "size": e.size,
             "name": e.name if as_json else printable(e.name) + ("/" if e.type == "directory" else "")}
            for e in entries]
    emit_rows(rows, ["cid", "type", "size", "name"], as_json=as_json)


@click.group("car", cls=WholeHelpGroup)
def car_group() -> None:
    """Export and import CAR files (content-addressed archives)."""


@car_group.command("export")
@click.argument("cids", nargs=-1, required=True)
@click.option("-o", "--output", required=True, metavar="FILE", help="CAR file to write ('-' for stdout).")
@click.option("--scope", type=click.Choice(SCOPES), default="all", show_default=True,
              help="all: the whole DAG; entity: a file, or a directory node alone; block: the roots only.")
@pass_app
@handle_errors
def car_export(app: AppContext, cids: tuple[str, ...], output: str, scope: str) -> None:
    """Write the DAGs under CIDS to a CARv1 file.

    Blocks come depth-first, each once, roots in the header; the file appears only when complete.

    \b
    Examples:
        openmirror car export bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64 -o report.car
        openmirror car export CID1 CID2 -o - | ipfs dag import
    """
    roots = [CID.decode(text) for text in cids]
    store = _store(app)
    if output == "-":
        written = store.export_car(roots, sys.stdout.buffer, scope)  # type: ignore[arg-type]
    else:
        written = store.export_car(roots, Path(output), scope)  # type: ignore[arg-type]
        stderr_console.print(f"wrote {output}: {format_size(written)}, {len(roots)} root(s)")


@car_group.command("import")
@click.argument("file", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per root.")
@pass_app
@handle_errors
def car_import(app: AppContext, file: str, as_json: bool) -> None:
    """Verify every block of a CAR file (v1 or v2) and store them; print its root CIDs.

    A corrupted or truncated CAR is refused with exit code 4 and nothing of it is stored. Roots
    the CAR does not fully hold are imported as far as they go, with a warning. The gateway serves
    them only if a published document lists them, or once pinned (openmirror pin add).

    \b
    Examples:
        openmirror car import report.car
        ipfs dag export CID | openmirror car import -
    """
    from mirror.carfile import import_car_file     # the index loads only for the commands that need it

    source = sys.stdin.buffer if file == "-" else Path(file)
    for root, complete in asyncio.run(import_car_file(app.home, source)):
        if as_json or app.json:
            emit_json({"cid": str(root), "complete": complete})
        else:
            click.echo(str(root))
        if not complete:
            click.echo(f"Warning: {root} is not complete in the local store (the CAR lacks some of "
                       f"its blocks)", err=True)


COMMANDS = [cid_command, add_command, cat_command, ls_command, car_group]
