"""``openmirror search``, ``show``, ``stats`` and ``db``: the metadata index from the command line."""

from __future__ import annotations

from typing import Any

import click

from cli import process
from cli.groups import WholeHelpGroup
from cli.context import AppContext, pass_app
from cli.errors import handle_errors
from cli.output import FORMATS, emit_json, emit_mapping, emit_rows
from indexer import migrate
from indexer.errors import NotIndexed
from indexer.records import DocumentOut, Hit, SearchQuery
from mirror.lookup import documents_of
from mirror.reading import read_now, search_now
from mirror.units import format_size


SEARCH_COLUMNS = ["title", "creators", "license", "collection", "date", "cid"]
PRIVATE_MARK = "[private]"       # a document not published (its licence is not open): found here only
RAW_RECORD_CHARS = 2000


@click.command("search")
@click.argument("query")
@click.option("--license", "license_", metavar="SPDX", help="SPDX id; a trailing * matches a family (CC-BY*).")
@click.option("--collection", help="Only this collection.")
@click.option("--type", "type_", help="Only this document type (article, dataset, ...).")
@click.option("--after", metavar="DATE", help="Dated on or after YYYY[-MM[-DD]].")
@click.option("--before", metavar="DATE", help="Dated before YYYY[-MM[-DD]].")
@click.option("--lang", help="Language tag; 'en' also matches 'en-GB'.")
@click.option("--limit", type=int, default=20, show_default=True, help="At most this many results (1-1000).")
@click.option("--offset", type=click.IntRange(min=0), default=0,
              help="Pass over this many results first (the next page: --offset 20).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="table, json (one object per line) or csv (default: a table on a terminal, "
                   "tab-separated lines when piped).")
@click.option("--node", metavar="URL", help="Search this node's index over its API instead of the local one.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per result (--format json).")
@pass_app
@handle_errors
def search_command(app: AppContext, query: str, license_: str | None, collection: str | None,
                   type_: str | None, after: str | None, before: str | None, lang: str | None,
                   limit: int, offset: int, fmt: str | None, node: str | None, as_json: bool) -> None:
    """Search the index: words, "quoted phrases" and prefix* terms, all must match.

    Results are ranked by relevance (a match in the title counts most). An empty QUERY lists the
    newest documents that pass the filters. Documents this node does not publish (added without an
    open licence) are found too, their titles marked [private] ("private": true in JSON and CSV).
    With --node URL the search runs on that node (its /api/v1/search), with the same options.

    \b
    Examples:
        openmirror search "open data"
        openmirror search 'glacier* "mass balance"' --license 'CC-BY*' --after 2020
        openmirror search "" --collection zenodo --lang en --limit 100 --offset 100 --json
        openmirror search river --format csv > river.csv
        openmirror search river --node http://mirror.example.org:8470
    """
    query_ = SearchQuery(query, license=license_, collection=collection, type=type_, after=after,
                         before=before, lang=lang, limit=limit, offset=offset, include_private=node is None)
    if node is not None:
        import asyncio

        from mirror.node.search_client import search_node      # aiohttp loads only for --node
        hits = asyncio.run(search_node(node, query_))
    else:
        hits = search_now(app.existing_home, query_)            # no event loop on the light path
    fmt = "json" if as_json or app.json else fmt
    columns = list(Hit.__dataclass_fields__) if fmt == "csv" else SEARCH_COLUMNS
    emit_rows([_row(hit, fmt) for hit in hits], columns, fmt=fmt)
    process.leave(0)


def _row(hit: Hit, fmt: str | None) -> dict[str, Any]:
    """A hit as a row; for people (a table, or lines) a private document's title says so."""
    row = hit.to_dict()
    if hit.private and fmt in (None, "table"):
        row["title"] = f"{PRIVATE_MARK} {row['title']}"
    return row


@click.command("show")
@click.argument("cid", metavar="CID[/PATH]")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per document.")
@pass_app
@handle_errors
def show_command(app: AppContext, cid: str, as_json: bool) -> None:
    """Show the full metadata and provenance of every document with this CID (or sha256).

    A file inside a stored directory may be named by a path below the directory's CID: CID/PATH,
    /ipfs/CID/PATH or ipfs://CID/PATH.

    \b
    Examples:
        openmirror show bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy
        openmirror show bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy --json
        openmirror show ipfs://bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64/report.pdf
    """
    key, docs = documents_of(app.existing_home, cid)
    if not docs:
        raise NotIndexed(f"no document with CID {key} in the index",
                         hint='find CIDs with: openmirror search "words"')
    for number, doc in enumerate(docs):
        if as_json or app.json:
            emit_json(doc.to_dict())
            continue
        if number:
            click.echo()
        emit_mapping(_readable(doc), as_json=False)
    process.leave(0)


def _readable(doc: DocumentOut) -> dict[str, Any]:
    data = doc.to_dict()
    files = data.pop("contents")
    raw = data.pop("raw_record") or ""
    for number, file in enumerate(files, 1):
        for key, value in file.items():
            data[f"file {number} {key}"] = value
    if len(raw) > RAW_RECORD_CHARS:
        raw = raw[:RAW_RECORD_CHARS] + f" … ({len(raw) - RAW_RECORD_CHARS} more characters; --json shows all)"
    data["raw_record"] = raw.replace("\n", " ")
    return data


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_app
@handle_errors
def stats_command(app: AppContext, as_json: bool) -> None:
    """Count documents, bytes and licences, per collection and in all.

    \b
    Examples:
        openmirror stats
        openmirror stats --json
    """
    stats = read_now(app.existing_home, lambda reader: reader.stats(include_private=True),
                     lambda index: index.stats(include_private=True))
    if as_json or app.json:
        emit_json(stats.to_dict())
        process.leave(0)
    emit_mapping({"documents": stats.documents, "retracted": stats.retracted,
                  "contents": stats.contents, "bytes": format_size(stats.bytes)}, as_json=False)
    rows = [{"collection": c.name, "documents": c.documents, "bytes": format_size(c.bytes),
             "licenses": "; ".join(f"{k or 'unknown'}: {v}" for k, v in
                                   sorted(c.licenses.items(), key=lambda kv: -kv[1]))}
            for c in stats.collections]
    if rows:
        click.echo()
        emit_rows(rows, ["collection", "documents", "bytes", "licenses"], as_json=False)
    process.leave(0)



@click.group("db", cls=WholeHelpGroup)
def db_group() -> None:
    """Look at and upgrade the index database schema."""


@db_group.command("upgrade")
@pass_app
@handle_errors
def db_upgrade(app: AppContext) -> None:
    """Apply pending schema migrations to the index (opening it does this too).

    \b
    Examples:
        openmirror db upgrade
    """
    path = app.home.db_path
    before = migrate.upgrade(path)
    result = {"path": str(path), "from": before.current, "to": before.head}
    if app.json:
        emit_json(result)
    elif before.up_to_date:
        click.echo(f"index {path} is at revision {before.head}, the newest")
    else:
        click.echo(f"index {path} upgraded from {before.current or 'nothing'} to {before.head}")


@db_group.command("current")
@pass_app
@handle_errors
def db_current(app: AppContext) -> None:
    """Print the index's schema revision and the newest this openmirror knows; changes nothing.

    \b
    Examples:
        openmirror db current
        openmirror --json db current
    """
    from mirror.home import Home

    path = Home.root_of(app.home_path) / "index.sqlite"       # no home yet: no index yet
    revision = migrate.check(path)
    result = {"path": str(path), "current": revision.current, "head": revision.head,
              "up_to_date": revision.up_to_date}
    if app.json:
        emit_json(result)
    else:
        state = "up to date" if revision.up_to_date else "openmirror db upgrade applies the rest"
        click.echo(f"{revision.current or 'none (no index yet)'}  (newest {revision.head}; {state})")


COMMANDS = [search_command, show_command, stats_command, db_group]
