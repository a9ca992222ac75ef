"""Attack: a remote collection leads the harvester to an internal service (issue 12, item 3).

The attacker's origin (127.0.0.1, allowed in these tests as if it were a public address) serves a
manifest, sitemaps, a page, a redirect, a CKAN portal, an Internet Archive item and an OAI-PMH
repository that all point at the internal service on 127.0.0.2. The internal service must get no
request at all; each such record fails with the reason, and the run goes on and says so.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.security.harvest import mirror
from tests.servers.attacker import Attacker, InternalService

AS_PUBLIC = '[fetch]\nallowed_networks = ["127.0.0.1/32"]\n'


def treat_attacker_as_public(home: Path) -> None:
    """The home reaches 127.0.0.1 as if it were public; every other non-global address stays refused."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "openmirror.toml").write_text(AS_PUBLIC)


# (location path on the attacker, --kind, the targets as (path on the internal service or an
# attacker path that redirects there))
DOORS = {
    "manifest": ("/manifest.jsonl", None, ["/secret.pdf", "@/to/0"]),
    "sitemap": ("/sitemap.xml", None, ["/page.html", "@/to/0"]),
    "sitemap-index": ("/index.xml", None, ["/child.xml"]),
    "site": ("/site/", None, ["/secret.pdf"]),
    "ckan": ("", "ckan", ["/data.csv", "@/to/0"]),
    "archive-org": ("/details/bait", "archive-org", ["/secret.pdf"]),
    "oai-pmh": ("/oai", "oai-pmh", ["/secret.pdf", "/landing", "@/to/0"]),
}


def aim(attacker: Attacker, internal: InternalService, targets: list[str]) -> None:
    """Point the attacker's collections at the internal service ("@path": through the attacker's
    redirect at that path, which itself leads to the first target)."""
    attacker.targets = [attacker.url + t[1:] if t.startswith("@") else internal.url + t for t in targets]


@pytest.mark.parametrize("door", list(DOORS))
async def test_nothing_reaches_the_internal_service(door: str, cli_run, home_dir: Path, attacker: Attacker,
                                                     internal_service: InternalService):
    path, kind, targets = DOORS[door]
    treat_attacker_as_public(home_dir)
    aim(attacker, internal_service, targets)
    code, summary, _ = await mirror(cli_run, attacker.url + path, *(["--kind", kind] if kind else []))
    assert internal_service.requests == [], internal_service.requests
    assert summary["refused"] >= 1 and summary["failed"] >= 1, summary
    assert all("refused: 127.0.0.2 is a loopback address" in f["error"] for f in summary["failures"]), summary
    assert summary["stored"] == 0 and code == 1


async def test_allow_private_lets_the_harvest_reach_it(cli_run, home_dir: Path, attacker: Attacker,
                                                       internal_service: InternalService):
    treat_attacker_as_public(home_dir)
    aim(attacker, internal_service, ["/secret.pdf", "@/to/0"])
    code, summary, _ = await mirror(cli_run, attacker.url + "/manifest.jsonl", "--allow-private")
    assert code == 0 and summary["stored"] == 2 and summary["refused"] == 0, summary
    assert summary["allow_private"] is True
    assert {seen.path for seen in internal_service.requests} >= {"/secret.pdf"}


async def test_a_source_on_a_private_address_implies_allow_private(cli_run, home_dir: Path, attacker: Attacker,
                                                                   internal_service: InternalService):
    # no allowed networks: the source itself is on a loopback address, so the operator meant it
    aim(attacker, internal_service, ["/secret.pdf"])
    code, summary, _ = await mirror(cli_run, attacker.url + "/manifest.jsonl")
    assert code == 0 and summary["stored"] == 1 and summary["allow_private"] is True, summary
    assert [seen.path for seen in internal_service.requests if seen.path != "/robots.txt"] == ["/secret.pdf"]


async def test_the_summary_names_the_refusals_and_the_way_out(cli_run, home_dir: Path, attacker: Attacker,
                                                              internal_service: InternalService):
    treat_attacker_as_public(home_dir)
    aim(attacker, internal_service, ["/secret.pdf", "/other.pdf"])
    res = await asyncio.to_thread(cli_run, "mirror", attacker.url + "/manifest.jsonl", "--delay", "0")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "refused 2" in res.stdout and "--allow-private" in res.stdout, res.stdout
    assert "failed t0: refused: 127.0.0.2 is a loopback address" in res.stdout, res.stdout
    assert internal_service.requests == []
