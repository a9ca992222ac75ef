"""``openmirror export`` and ``openmirror import``: move a collection between homes on a disk."""

from __future__ import annotations

import asyncio
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, TypeVar

import click

from cli.context import AppContext, pass_app
from cli.errors import handle_errors
from cli.output import emit_json
from cli.progress import bars
from mirror.bundle import ExportReport, ImportReport, export_bundle, import_bundle
from mirror.bundle.files import Progress as ProgressFn
from mirror.units import format_size

T = TypeVar("T")
_LABELS = {"entries": "entries written", "content": "content", "verify": "entries verified",
           "apply": "entries applied", "text": "text extracted"}


@click.command("export")
@click.argument("collection")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), metavar="PATH",
              help="Folder to create (or a file ending in .tar) for the bundle.")
@click.option("--force", is_flag=True, help="Replace the bundle already at PATH.")
@click.option("--allow-missing", is_flag=True,
              help="Export even if some contents are not held here (they are left out).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@pass_app
@handle_errors
def export_command(app: AppContext, collection: str, output: Path, force: bool, allow_missing: bool,
                   as_json: bool) -> None:
    """Write a collection's content and signed entries as an offline bundle.

    The bundle holds a CAR of every content of the collection's live documents and the signed
    feed entries that describe them, so another home can import it without any network. PATH is
    a new folder, or one .tar file when it ends in .tar.

    \b
    Examples:
        openmirror export notes -o /media/usb/notes
        openmirror export notes -o notes.tar --json
        openmirror export zenodo -o /media/usb/zenodo --allow-missing --force
    """
    report = _run(lambda progress: export_bundle(app.existing_home, collection, output, force=force,
                                                 allow_missing=allow_missing, progress=progress),
                  show=not (as_json or app.json))
    if as_json or app.json:
        emit_json(report.to_dict())
    else:
        _print_export(report)


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@pass_app
@handle_errors
def import_command(app: AppContext, path: Path, as_json: bool) -> None:
    """Verify a bundle completely and make its collection searchable and servable here.

    Every block is checked against its CID and every entry's signature and chain before anything
    is kept; a damaged bundle changes nothing (exit 4). Entries are merged exactly as a sync from
    a peer would merge them: this node's licence gate and blocked authors apply.

    \b
    Examples:
        openmirror import /media/usb/notes
        openmirror import notes.tar --json
    """
    report = _run(lambda progress: import_bundle(app.home, path, progress=progress),
                  show=not (as_json or app.json))
    if as_json or app.json:
        emit_json(report.to_dict())
    else:
        _print_import(report)


def _run(work: Callable[[ProgressFn | None], Awaitable[T]], *, show: bool) -> T:
    """Run WORK, with progress bars on stderr when it is a terminal."""
    if not (show and sys.stderr.isatty()):
        return asyncio.run(work(None))  # type: ignore[arg-type]
    with _bars() as progress:
        return asyncio.run(work(progress))  # type: ignore[arg-type]


@contextmanager
def _bars() -> Iterator[ProgressFn]:
    with bars(transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(what: str, done: int, total: int | None) -> None:
            if what not in tasks:
                unit = "bytes" if what == "content" else "items"
                tasks[what] = bar.add_task(_LABELS.get(what, what), total=total, unit=unit, detail="")
            bar.update(tasks[what], completed=done, total=total)

        yield progress


def _print_export(r: ExportReport) -> None:
    click.echo(f"exported {r.collection!r} to {r.path}: {r.documents} documents, {r.contents} "
               f"contents ({format_size(r.content_bytes)}; CAR {format_size(r.car_bytes)}), {r.authors} "
               f"authors, {r.entries} entries in {r.seconds:.1f}s")
    if r.missing:
        click.echo(f"left out {r.missing} contents not held here (--allow-missing)")


def _print_import(r: ImportReport) -> None:
    searchable = ", ".join(f"{name!r} ({count} documents)" for name, count in r.collections.items())
    click.echo(f"imported {r.path} (collection {r.collection!r}, exported by {r.exported_by[:16]}… "
               f"on {r.created[:10]}) in {r.seconds:.1f}s")
    click.echo(f"searchable here: {searchable}")
    click.echo(f"documents applied {r.documents_applied}; entries verified {r.entries}, new "
               f"{r.entries_stored}; contents {r.contents}, kept {r.contents_kept}, new blocks "
               f"{r.blocks_new} ({format_size(r.bytes_new)}), text extracted from {r.texts}")
    notes = [(r.refused_licence, "entries refused by this node's licence gate (stored, not indexed)"),
             (r.contents_dropped, "contents not kept: no document here refers to them"),
             (len(r.authors_skipped), "feeds skipped: blocked or not accepted here"),
             (len(r.forked), "feeds that do not continue ours: fork evidence recorded"),
             (r.deferred, "entries dated in the future: a later sync applies them")]
    for count, text in notes:
        if count:
            click.echo(f"  {count} {text}")


COMMANDS = [export_command, import_command]
