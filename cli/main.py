"""The ``openmirror`` root command. Command bodies live in one module per topic.

Commands are loaded lazily: ``openmirror cid FILE`` imports only ``cli.store_cmds`` (and what it
needs), not the index, the crawler and the node, so a one-shot command starts fast and small.
``COMMAND_MODULES`` maps every command name to its module; a test checks it against the modules'
own ``COMMANDS`` lists.
"""

from __future__ import annotations

import importlib

import click

from cli import logs, process
from cli.context import AppContext
from cli.groups import WholeHelpGroup

COMMAND_MODULES: dict[str, str] = {
    "config": "cli.config_cmds",
    "cid": "cli.store_cmds", "add": "cli.store_cmds", "cat": "cli.store_cmds", "ls": "cli.store_cmds",
    "car": "cli.store_cmds",
    "search": "cli.index_cmds", "show": "cli.index_cmds", "stats": "cli.index_cmds", "db": "cli.index_cmds",
    "mirror": "cli.mirror_cmds",
    "serve": "cli.node_cmds", "join": "cli.node_cmds", "peers": "cli.node_cmds", "status": "cli.node_cmds",
    "get": "cli.get_cmds",
    "verify": "cli.verify_cmds",
    "pin": "cli.pin_cmds",
    "rm": "cli.remove_cmds", "gc": "cli.remove_cmds",
    "export": "cli.bundle_cmds", "import": "cli.bundle_cmds",
}


def load_command(name: str) -> click.Command | None:
    """Import the module that defines command NAME and return the command (None if unknown)."""
    module_name = COMMAND_MODULES.get(name)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:   # a command of a stage that has not landed yet
            return None
        raise
    return next((c for c in module.COMMANDS if c.name == name), None)


class LazyGroup(WholeHelpGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in COMMAND_MODULES if self.get_command(ctx, n) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name)


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
