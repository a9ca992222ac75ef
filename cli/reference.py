"""Write docs/commands.md from the commands' own help: ``python -m cli.reference > docs/commands.md``."""

from __future__ import annotations

import click

from cli.main import COMMAND_MODULES, cli, load_command


def _section(path: str, command: click.Command, parent: click.Context) -> list[str]:
    ctx = click.Context(command, info_name=path.split()[-1], parent=parent, terminal_width=100,
                        max_content_width=100)
    lines = [f"## `openmirror {path}`", "", "```", command.get_help(ctx).replace("\b\n", ""), "```", ""]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            lines += _section(f"{path} {name}", command.commands[name], ctx)
    return lines


def reference() -> str:
    root = click.Context(cli, info_name="openmirror", terminal_width=100, max_content_width=100,
                         help_option_names=cli.context_settings["help_option_names"])
    lines = ["# Command reference", "",
             "Generated from each command's `--help` (`python -m cli.reference > docs/commands.md`); a test",
             "keeps it current. Global options (`--home`, `--json`, `-v`, `-q`) go before the command.", ""]
    for name in sorted(COMMAND_MODULES):
        command = load_command(name)
        if command is not None:
            lines += _section(name, command, root)
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference(), end="")
