"""``openmirror mirror SOURCE``: harvest an openly licensed collection."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Callable

import click
from rich.console import Console

from cli import process
from cli.context import AppContext, pass_app
from cli.errors import handle_errors, report
from cli.params import size_value
from cli.output import emit_json, printable
from cli.progress import bars
from mirror.errors import EXIT_FAILURE, EXIT_OK, MirrorError
from mirror.outcome import Outcome
from mirror.pipeline import MirrorOptions, Summary, mirror_collection
from mirror.units import format_size

EXIT_INTERRUPTED = 130         # 128 + SIGINT, as shells report it
KINDS = ["oai-pmh", "sitemap", "site", "ckan", "archive-org", "manifest", "folder"]


@click.command("mirror")
@click.argument("source")
@click.option("--kind", type=click.Choice(KINDS), help="Force the source kind instead of detecting it.")
@click.option("--collection", help="Collection name (default: derived from the source).")
@click.option("--set", "set_spec", help="OAI-PMH set to harvest.")
@click.option("--metadata-prefix", help="OAI-PMH metadata format (default: oai_openaire or oai_datacite when "
                                        "offered, else oai_dc).")
@click.option("--allow-license", "allow_licenses", multiple=True, metavar="SPDX",
              help="Licence allowed for this run (repeatable; replaces the default open allow-list; "
                   "a trailing * matches a family).")
@click.option("--assume-license", metavar="SPDX|URL",
              help="The licence of a folder, or of a website you own (its pages that state none).")
@click.option("--license", "licenses", multiple=True, metavar="SPDX",
              help="Deprecated, still works: --assume-license for a folder, else --allow-license.")
@click.option("--limit", type=click.IntRange(min=1), help="Stop after N records.")
@click.option("--dry-run", is_flag=True, help="Walk the source and apply the licence gate; fetch nothing.")
@click.option("--per-host", type=click.IntRange(min=1), help="Requests in flight per host (default 2).")
@click.option("--delay", type=click.FloatRange(min=0), help="Seconds between request starts per host (default 0.5).")
@click.option("--concurrency", type=click.IntRange(min=1),
              help="Requests in flight in all (default 16); 8x as many records are stored meanwhile.")
@click.option("--ignore-robots", is_flag=True, help="Do not obey robots.txt (only for sites you run).")
@click.option("--allow-private", is_flag=True,
              help="Also fetch from loopback, private and other non-global addresses that the source "
                   "leads to (implied when SOURCE itself is on one).")
@click.option("--depth", type=click.IntRange(min=0), default=3, show_default=True,
              help="Link depth for a website crawl.")
@click.option("-A", "--accept", multiple=True, metavar="LIST",
              help="Website crawl: keep only files whose names end with, or match, an item of this "
                   "comma-separated list (wget's: pdf,csv or *.pdf).")
@click.option("-R", "--reject", multiple=True, metavar="LIST",
              help="Website crawl: leave files whose names end with, or match, an item of this list.")
@click.option("--no-parent", is_flag=True,
              help="Website crawl: files too only below the start URL's folder (pages always are).")
@click.option("--limit-rate", metavar="RATE",
              help="Download at most RATE bytes per second, e.g. 500KiB or 2MiB (default: fetch.limit_rate).")
@click.option("--keep-missing", is_flag=True,
              help="Manifest or folder: keep the documents whose line or file is gone (by default "
                   "a complete run retracts them).")
@click.option("--profile", help="UnixFS import profile (default: the store.profile setting).")
@click.option("--ipfs-api", metavar="URL",
              help="Also import and pin every file in this Kubo node (default: store.ipfs_api).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object on stdout.")
@pass_app
@handle_errors
def mirror_cmd(app: AppContext, source: str, kind: str | None, collection: str | None,
               set_spec: str | None, metadata_prefix: str | None, allow_licenses: tuple[str, ...],
               assume_license: str | None, licenses: tuple[str, ...], limit: int | None, dry_run: bool,
               per_host: int | None, delay: float | None, concurrency: int | None,
               ignore_robots: bool, allow_private: bool, depth: int, accept: tuple[str, ...],
               reject: tuple[str, ...], no_parent: bool, limit_rate: str | None, keep_missing: bool,
               profile: str | None, ipfs_api: str | None, as_json: bool) -> None:
    """Mirror an openly licensed collection into the local store and index.

    SOURCE is an OAI-PMH endpoint, a sitemap or website, a CKAN portal, an Internet Archive
    collection, a JSON Lines/CSV manifest or a local folder; the kind is detected.

    URLs the source leads to (files, pages, redirects) are not fetched from loopback, private or
    other non-global addresses unless SOURCE is on one or --allow-private is given; only a local
    SOURCE may name local files.

    A run that stops on an error still prints its summary (the counts so far; with --json an
    "error" field) before exiting non-zero; a rerun resumes where it stopped.

    Only openly licensed records are kept: --allow-license replaces the allow-list of licences,
    --assume-license declares the licence of a folder (or of a website you own) that states none;
    a document whose licence is not on the open list (allowed with --allow-license) is kept
    private: searchable here, never published to peers or served. The manifest format is in
    docs/manifest.md.

    A manifest or folder is mirrored whole: a document whose line or file is gone since the last
    run is retracted (peers drop it too), unless --keep-missing; a local file a line names that is
    missing fails that line, named in the summary.

    \b
    Examples:
        openmirror mirror examples/notes/manifest.jsonl
        openmirror mirror https://repo.example.org/oai --set physics --limit 100
        openmirror mirror https://data.example.gov --kind ckan --allow-license CC-BY-4.0
        openmirror mirror ./reports --assume-license CC0-1.0 --json
        openmirror mirror https://docs.example.org/guide/ --accept pdf --no-parent --limit-rate 200KiB
        openmirror mirror https://intranet.example/oai --allow-private
    """
    as_json = as_json or app.json
    options = MirrorOptions(collection=collection, kind=kind, set_spec=set_spec, metadata_prefix=metadata_prefix,
                            licenses=list(licenses) or None, limit=limit, dry_run=dry_run,
                            per_host=per_host, delay=delay, concurrency=concurrency,
                            obey_robots=False if ignore_robots else None, max_depth=depth,
                            profile=profile, allow_private=allow_private, ipfs_api=ipfs_api,
                            allow_licenses=list(allow_licenses) or None, assume_license=assume_license,
                            accept=accept, reject=reject, no_parent=no_parent,
                            limit_rate=size_value("--limit-rate", limit_rate), keep_missing=keep_missing)
    home = app.home
    show_bar = sys.stderr.isatty() and not as_json
    live: list[Summary] = []
    process.tune_collector()
    try:
        summary = _run_with_progress(home, source, options, show_bar, live.append)
    except KeyboardInterrupt:
        _interrupted(live[0] if live else None, as_json)
        sys.exit(EXIT_INTERRUPTED)
    if as_json:
        emit_json(summary.to_dict())
    else:
        _print_summary(summary)
    if summary.error is not None:
        report(summary.error.message, summary.error.hint)
        process.leave(summary.error.exit_code)
    if (hint := summary.hint()) is not None and not as_json:
        click.echo(f"Hint: {hint}", err=True)
    process.leave(EXIT_FAILURE if summary.failed else EXIT_OK)


def _run_with_progress(home: Any, source: str, options: MirrorOptions, show_bar: bool,
                       watch: Callable[[Summary], None]) -> Summary:
    if not show_bar:
        return asyncio.run(mirror_collection(home, source, options, watch=watch))
    with bars() as bar:
        task = bar.add_task("mirror", total=None, unit="items", bytes=0, detail="")
        counts: dict[str, int] = {}
        stored = [0]

        def progress(outcome: Outcome, total: int | None) -> None:
            counts[outcome.kind.value] = counts.get(outcome.kind.value, 0) + 1
            stored[0] += outcome.bytes
            detail = " ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            bar.update(task, advance=1, total=total, bytes=stored[0], detail=detail)

        return asyncio.run(mirror_collection(home, source, options, progress, watch))


def _interrupted(summary: Summary | None, as_json: bool) -> None:
    """Ctrl-C: what was stored before it (committed, so kept), and that a rerun resumes."""
    if summary is None:
        report("interrupted before the harvest started; nothing was stored")
        return
    summary.error = MirrorError("interrupted")
    if as_json:
        emit_json(summary.to_dict())
    kept = summary.stored + summary.updated if summary.kept is None else summary.kept
    report(f"interrupted: {kept} document(s) of this harvest are stored and kept ({summary.unchanged} "
           f"unchanged, {summary.failed} failed so far)",
           "run the same command again to resume where it stopped")


def _print_summary(s: Summary) -> None:
    verb = "would store" if s.dry_run else "stored"
    skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(s.skipped.items())) or "0"
    out = Console(soft_wrap=True)
    out.print(f"[bold]{s.collection}[/] ({s.kind}): {verb} {s.stored + s.updated} "
              f"(updated {s.updated}), unchanged {s.unchanged}, skipped {skipped}, gone {s.gone}, "
              f"retracted {s.retracted}, failed {s.failed}, {format_size(s.bytes)} in {s.seconds:.1f}s")
    for failure in s.failures[:10]:
        out.print(printable(f"  failed {failure['source_id']}: {failure['error']}"), markup=False)
    if len(s.failures) > 10:
        out.print(f"  ... and {len(s.failures) - 10} more")
    for conflict in s.conflicts[:10]:
        out.print(printable(f"  {conflict['source_id']}: {conflict['note']}"), markup=False)
    if len(s.conflicts) > 10:
        out.print(f"  ... and {len(s.conflicts) - 10} more licence disagreements")
    if s.refused:
        out.print(f"  refused {s.refused} connection(s) to private addresses the source led to; "
                  "rerun with --allow-private if you trust them", markup=False)



COMMANDS = [mirror_cmd]
