"""One size style everywhere: IEC units, from the command summaries to the web pages."""

from __future__ import annotations

import pytest

from mirror.units import format_rate, format_size


@pytest.mark.parametrize("size, text", [
    (None, "unknown"), (0, "0 B"), (1, "1 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
    (1024 * 1024 - 1, "1.0 MiB"), (3 * 2**20 + 2**19, "3.5 MiB"), (20 * 2**30, "20.0 GiB"),
    (5 * 2**40, "5.0 TiB"), (2**70, "1024.0 EiB"),
])
def test_sizes_read_in_iec_units(size: int | None, text: str) -> None:
    assert format_size(size) == text


def test_rates() -> None:
    assert format_rate(3 * 2**20) == "3.0 MiB/s" and format_rate(None) == "?/s"


def test_the_stats_and_status_commands_and_the_web_pages_use_it(cli_run) -> None:
    from mirror.node.web import pages
    assert cli_run("config", "path").exit_code == 0                   # makes the home stats reads
    out = cli_run("stats").output
    assert "0 B" in out and " KB" not in out and " MB" not in out
    status = dict(line.split(None, 1) for line in cli_run("status").output.splitlines())
    assert status["storage_budget"] == "10.0 GiB" and status["storage_used"] == "0 B"
    assert '"storage_budget": 10737418240' in cli_run("status", "--json").output     # JSON keeps bytes
    assert pages.format_size is format_size
