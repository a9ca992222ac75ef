"""The ``openmirror`` root command. Command bodies live in one module per topic.

Commands are loaded lazily: ``openmirror cid FILE`` imports only ``cli.store_cmds`` (and what it
needs), not the index, the crawler and the node, so a one-shot command starts fast and small, and
``openmirror --help`` imports no command module at all. ``COMMAND_MODULES`` maps every command name
to its module and its summary; a test checks it against the modules' own ``COMMANDS`` lists and
the commands' own help.
"""

from __future__ import annotations

import importlib

import click

from cli import logs, process
from cli.context import AppContext
from cli.groups import WholeHelpGroup

# Every command: the module defining it, and its summary (the first sentence of its help, as
# ``--help`` lists it without importing the module; a test keeps the two equal).
COMMAND_MODULES: dict[str, tuple[str, str]] = {
    "config": ("cli.config_cmds", "Show and locate the node's settings."),
    "cid": ("cli.store_cmds", "Print the CID `add` would give PATH, storing nothing."),
    "add": ("cli.store_cmds", "Store files (or, with -r, directories) and print their CIDs."),
    "cat": ("cli.store_cmds", "Stream the bytes of a stored file to stdout."),
    "ls": ("cli.store_cmds", "List a stored directory: the CID, type, size and name of each entry."),
    "car": ("cli.store_cmds", "Export and import CAR files (content-addressed archives)."),
    "search": ("cli.index_cmds",
               'Search the index: words, "quoted phrases" and prefix* terms, all must match.'),
    "show": ("cli.index_cmds",
             "Show the full metadata and provenance of every document with this CID (or sha256)."),
    "stats": ("cli.index_cmds", "Count documents, bytes and licences, per collection and in all."),
    "db": ("cli.index_cmds", "Look at and upgrade the index database schema."),
    "mirror": ("cli.mirror_cmds", "Mirror an openly licensed collection into the local store and index."),
    "serve": ("cli.node_cmds", "Run this node: serve the index and content, sync with peers, hold copies, "
                               "until interrupted."),
    "join": ("cli.node_cmds", "Join the network through the node at URL: add it as a peer, sync, hold "
                              "copies, keep serving."),
    "peers": ("cli.node_cmds", "List this node's peers with their state, last contact and lag; manage "
                               "peers and trust."),
    "status": ("cli.node_cmds", "Show this node's id, peers, documents, held content, storage, budget "
                                "and copies."),
    "get": ("cli.get_cmds", "Get a file or a directory by CID, fetching it from peers if it is not held here."),
    "verify": ("cli.verify_cmds", "Check the index file, every stored entry and block, and every held content."),
    "pin": ("cli.pin_cmds", "Pin content here (kept by gc, served by the gateway) or on a pinning service."),
    "rm": ("cli.remove_cmds", "Retract the documents of a CID (or of a collection) and unpin it; gc "
                              "reclaims the blocks."),
    "gc": ("cli.remove_cmds", "Delete the blocks no live document and no pin references, and what killed runs left."),
    "export": ("cli.bundle_cmds", "Write a collection's content and signed entries as an offline bundle."),
    "import": ("cli.bundle_cmds",
               "Verify a bundle completely and make its collection searchable and servable here."),
}


def load_command(name: str) -> click.Command | None:
    """Import the module that defines command NAME and return the command (None if unknown)."""
    if name not in COMMAND_MODULES:
        return None
    module_name = COMMAND_MODULES[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:   # a command of a stage that has not landed yet
            return None
        raise
    return next((c for c in module.COMMANDS if c.name == name), None)


class LazyGroup(WholeHelpGroup):
    """The root group: a command's module is imported when that command runs, never to list it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name)

    def summaries(self, ctx: click.Context) -> list[tuple[str, str]]:
        return [(name, COMMAND_MODULES[name][1]) for name in self.list_commands(ctx)]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=str), envvar="OPENMIRROR_HOME",
              help="Node home folder (default: $OPENMIRROR_HOME or the user data dir).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@click.option("-v", "--verbose", count=True,
              help="More log output on stderr: -v, -vv; -vvv adds other libraries' logs.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.version_option(package_name="openmirror")
@click.pass_context
def cli(ctx: click.Context, home: str | None, as_json: bool, verbose: int, quiet: bool) -> None:
    """Mirror openly licensed collections onto IPFS, search them, and share them.

    \b
    Examples:
        openmirror mirror examples/notes/manifest.jsonl
        openmirror search "open data"
        openmirror serve --listen 127.0.0.1:8470
    """
    logs.configure(verbose, quiet)
    ctx.obj = AppContext(home_path=home, json=as_json, verbose=verbose, quiet=quiet)


def main() -> None:
    """The console entry point: the process is the command's own (see ``cli.process``)."""
    process.arm()
    cli(prog_name="openmirror")


if __name__ == "__main__":
    main()
