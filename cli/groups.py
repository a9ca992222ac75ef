"""Command groups whose command list shows each command's whole first sentence (wrapped), where
click cuts it to the width left on one line and ends it with "..."."""

from __future__ import annotations

import click

WHOLE = 1000           # characters of a short help: in practice, no limit


class WholeHelpGroup(click.Group):
    def summaries(self, ctx: click.Context) -> list[tuple[str, str]]:
        """(name, first sentence of the help) of each visible command, as the list shows them."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=WHOLE)))
        return rows

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = self.summaries(ctx)
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
