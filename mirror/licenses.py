"""Licence statements -> SPDX ids, and the open-licence gate.

A *statement* is a licence exactly as a source puts it: a URL, a name ("CC BY 4.0", "Creative Commons
Attribution-ShareAlike 4.0 International License"), an SPDX id, a CKAN ``license_id`` or a sentence with
a licence URL inside. ``normalize`` turns one statement into an SPDX id (or ``None``); ``decide`` turns
all the statements found for a record into one ``LicenseDecision``. A skip is an outcome, never raised.

Choices (documented here because they decide what is kept):

- Unversioned names ("CC BY", CKAN ``cc-by``, ``odc-odbl``, ``uk-ogl``) read as the current version
  (CC 4.0, OGL-UK-3.0, GFDL 1.3 or later). The statement as found is kept beside the id.
- Ported Creative Commons licences keep their port: ``by/3.0/de/`` -> ``CC-BY-3.0-DE`` (the SPDX
  pattern, also for ports SPDX has not listed). Ports named in prose ("... 3.0 Germany") read unported.
- The Public Domain Mark is ``CC-PDM-1.0`` (on the SPDX list since 3.26; the older
  ``LicenseRef-PDM-1.0`` is accepted as input). A bare "public domain" claim (CKAN ``other-pd``,
  ``us-pd``, the retired CC public-domain certification) is ``LicenseRef-PublicDomain``.
- arXiv's non-exclusive distribution licence, "all rights reserved", CKAN ``other-closed``,
  ``other-open`` and ``other-at`` get ``LicenseRef-`` ids. The last two are outside the default
  allow-list although CKAN calls them open: they name no terms we could record or check.
- ``info:eu-repo/semantics/openAccess`` is an access right, not a licence: ``normalize`` gives ``None``
  and ``decide`` reports ``open-access-without-license`` when nothing better was found.

Several statements (``decide``): the statements found for a record all apply to it (a web page's
statements about the media embedded in it are left out where they are read, ``mirror.license_markup``).
When they name different licences, the most restrictive one decides (public-domain tools, then
attribution licences, then share-alike and copyleft ones, then licences the Open Definition does not
accept: non-commercial, no-derivatives, ...; ties go to the first found), and the decision says so in
its ``note``: nothing non-open is stored because a second statement was more generous. "All rights
reserved" is a copyright notice, not a licence: it decides only when no licence is named at all, so a
site footer's "(c) Publisher. All rights reserved." never hides the CC BY licence of the article
itself. When no licence is named, an unrecognised statement gives ``unknown-license``, then openAccess
gives ``open-access-without-license``, and nothing at all gives ``no-license``.

Allow-lists are sets of SPDX ids, compared case-insensitively; an entry ``FAMILY-*`` stands for
every version (and port) of that family: ``CC-BY-*`` matches ``CC-BY-4.0`` and ``CC-BY-3.0-DE`` but
not ``CC-BY-NC-4.0`` or ``CC-BY-SA-4.0`` (the ``*`` must stand for a version).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable

from mirror.license_markup import from_document, from_html, from_link_header
from mirror.license_names import (
    ALL_RIGHTS_RESERVED, ARXIV_NONEXCLUSIVE, LICENCE_OUVERTE_1, OTHER_NC, PUBLIC_DOMAIN, license_url,
    normalize, read,
)

__all__ = ["LicenseDecision", "OPEN_LICENSES", "SKIP_REASONS", "decide", "from_document", "from_html",
           "from_link_header", "is_allowed", "license_url", "normalize", "open_licence"]

SKIP_REASONS = ("no-license", "non-commercial", "no-derivatives", "all-rights-reserved",
                "arxiv-nonexclusive", "open-access-without-license", "unknown-license", "not-allowed")

# The default allow-list: licences conformant with the Open Definition (opendefinition.org/licenses),
# plus the common OSI-approved software licences (the Definition accepts them for software).
OPEN_LICENSES: frozenset[str] = frozenset({
    # public domain tools
    "CC0-1.0", "CC-PDM-1.0", "CC-PDDC", PUBLIC_DOMAIN, "PDDL-1.0", "DL-DE-ZERO-2.0",
    # attribution
    "CC-BY-*", "ODC-By-1.0", "OGL-UK-*", "OGL-Canada-2.0", "Etalab-2.0", LICENCE_OUVERTE_1,
    "DL-DE-BY-2.0", "NLOD-1.0", "NLOD-2.0", "OGDL-Taiwan-1.0", "CDLA-Permissive-1.0",
    "CDLA-Permissive-2.0",
    # share-alike
    "CC-BY-SA-*", "ODbL-1.0", "CDLA-Sharing-1.0", "GFDL-*",
    # software
    "MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "0BSD", "Unlicense", "Zlib",
    "BSL-1.0", "Artistic-2.0", "MPL-2.0", "EPL-2.0", "EUPL-1.2", "OFL-1.1", "GPL-*", "LGPL-*", "AGPL-*",
})


@dataclass(frozen=True)
class LicenseDecision:
    """The gate's verdict for one record."""

    allowed: bool
    spdx: str | None = None        # the deciding licence (also for a skip, when recognised)
    url: str | None = None         # canonical licence URL
    statement: str | None = None   # the statement that decided, as found
    reason: str | None = None      # skip reason (one of SKIP_REASONS) when not allowed
    note: str | None = None        # when the statements named different licences: which and why


# ---------------------------------------------------------------- the gate

@functools.lru_cache(maxsize=64)
def _compile_allow(patterns: frozenset[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(exact ids, families), lower-cased; exact entries may be any statement ``normalize`` reads."""
    exact, families = set(), []
    for pattern in (p.strip() for p in patterns):
        if pattern.endswith("*"):
            families.append(pattern[:-1].rstrip("-").lower())
        elif pattern:
            exact.add((normalize(pattern) or pattern).lower())
    return frozenset(exact), tuple(families)


def is_allowed(spdx: str, allow: Iterable[str] | None = None) -> bool:
    """True when ``spdx`` is on the allow-list (default ``OPEN_LICENSES``); entries may be families."""
    exact, families = _compile_allow(frozenset(OPEN_LICENSES if allow is None else allow))
    s = spdx.lower()
    return s in exact or any(s.startswith(f + "-") and s[len(f) + 1:len(f) + 2].isdigit() for f in families)


_PD_LIKE = {"CC0-1.0", "CC-PDM-1.0", "CC-PDDC", PUBLIC_DOMAIN, "PDDL-1.0", "DL-DE-ZERO-2.0",
            "Unlicense", "0BSD", "MIT-0"}
_SHARE_ALIKE = ("ODbL", "GFDL", "GPL", "LGPL", "AGPL", "CDLA-Sharing", "MPL", "EPL", "EUPL", "OFL")
_VERSION_TAIL = re.compile(r"-\d.*$")


def _restrictiveness(spdx: str) -> int:
    """0 public-domain tools, 1 attribution licences, 2 share-alike and copyleft, 3 licences the
    Open Definition does not accept (the default allow-list leaves them out)."""
    if not is_allowed(spdx):
        return 3
    if spdx in _PD_LIKE:
        return 0
    if "-SA-" in spdx or spdx.startswith(_SHARE_ALIKE):
        return 2
    return 1


def _skip_reason(spdx: str) -> str:
    parts = spdx.split("-")
    if spdx.startswith("CC-") and "NC" in parts or spdx == OTHER_NC:
        return "non-commercial"
    if spdx.startswith("CC-") and "ND" in parts:
        return "no-derivatives"
    return {ALL_RIGHTS_RESERVED: "all-rights-reserved",
            ARXIV_NONEXCLUSIVE: "arxiv-nonexclusive"}.get(spdx, "not-allowed")


def _disagreement(licences: list[tuple[str, str]], spdx: str) -> str | None:
    """A note when the licences named differ beyond their versions (CC BY 3.0 and 4.0 agree)."""
    named = list(dict.fromkeys(found for _, found in licences))
    if len({_VERSION_TAIL.sub("", found) for found in named}) < 2:
        return None
    return f"licence statements disagree ({', '.join(named)}): the most restrictive, {spdx}, decides"


@functools.lru_cache(maxsize=4096)
def open_licence(license_: str | None, url: str | None, statement: str | None) -> bool:
    """The default gate on a document's three licence fields: what a node merges from its peers
    (``mirror.feed.merge``) and what it publishes of its own (``mirror.publication``). Cached:
    licences repeat."""
    return decide([s for s in (license_, url, statement) if s]).allowed


def decide(statements: Iterable[str], allow: Iterable[str] | None = None) -> LicenseDecision:
    """Decide whether a record may be kept, from every licence statement found for it.

    ``allow`` replaces the default allow-list for one run (``--license``). See the module docstring
    for which statement decides.
    """
    readings = [(s, *read(s)) for s in statements if isinstance(s, str)]
    licences = [(s, spdx) for s, spdx, _ in readings if spdx and spdx != ALL_RIGHTS_RESERVED]
    notices = [(s, spdx) for s, spdx, _ in readings if spdx == ALL_RIGHTS_RESERVED]
    if licences or notices:
        statement, spdx = max(licences, key=lambda r: _restrictiveness(r[1])) if licences else notices[0]
        note = _disagreement(licences, spdx)
        if is_allowed(spdx, allow):
            return LicenseDecision(True, spdx, license_url(spdx), statement, note=note)
        return LicenseDecision(False, spdx, license_url(spdx), statement, _skip_reason(spdx), note)
    for kind, reason in (("unknown", "unknown-license"), ("open-access", "open-access-without-license")):
        hit = next((s for s, _, k in readings if k == kind), None)
        if hit is not None:
            return LicenseDecision(False, statement=hit, reason=reason)
    return LicenseDecision(False, reason="no-license")
