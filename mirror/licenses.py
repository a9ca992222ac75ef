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

Several statements (``decide``): among those whose licence is allowed, the most open one decides
(public-domain tools before attribution licences before share-alike/copyleft ones; ties go to the first
found), so a page footer's "All rights reserved" never hides a CC BY licence on the work itself. When
none is allowed, the first recognised licence gives the reason (``non-commercial``, ...); failing that an
unrecognised statement gives ``unknown-license``, then openAccess gives ``open-access-without-license``,
and nothing at all gives ``no-license``.

Allow-lists are sets of SPDX ids, compared case-insensitively; an entry ``FAMILY-*`` stands for
every version (and port) of that family: ``CC-BY-*`` matches ``CC-BY-4.0`` and ``CC-BY-3.0-DE`` but
not ``CC-BY-NC-4.0`` or ``CC-BY-SA-4.0`` (the ``*`` must stand for a version).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

from mirror.license_markup import from_html, from_link_header

__all__ = ["LicenseDecision", "OPEN_LICENSES", "SKIP_REASONS", "decide", "from_html",
           "from_link_header", "is_allowed", "license_url", "normalize"]

PUBLIC_DOMAIN = "LicenseRef-PublicDomain"
ALL_RIGHTS_RESERVED = "LicenseRef-All-Rights-Reserved"
ARXIV_NONEXCLUSIVE = "LicenseRef-arXiv-nonexclusive-distrib-1.0"
NOT_OPEN = "LicenseRef-CKAN-other-closed"
OTHER_OPEN = "LicenseRef-CKAN-other-open"
OTHER_AT = "LicenseRef-CKAN-other-at"
OTHER_NC = "LicenseRef-CKAN-other-nc"
LICENCE_OUVERTE_1 = "LicenseRef-Licence-Ouverte-1.0"

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


# ---------------------------------------------------------------- identifiers and their URLs

_KNOWN_IDS = (
    "CC0-1.0", "CC-PDM-1.0", "CC-PDDC", "ODbL-1.0", "ODC-By-1.0", "PDDL-1.0", "OGL-UK-1.0", "OGL-UK-2.0",
    "OGL-UK-3.0", "OGL-Canada-2.0", "Etalab-2.0", "DL-DE-BY-2.0", "DL-DE-ZERO-2.0", "NLOD-1.0",
    "NLOD-2.0", "OGDL-Taiwan-1.0", "CDLA-Permissive-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0",
    "GFDL-1.1-only", "GFDL-1.1-or-later", "GFDL-1.2-only", "GFDL-1.2-or-later", "GFDL-1.3-only",
    "GFDL-1.3-or-later", "MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "0BSD",
    "Unlicense", "Zlib", "BSL-1.0", "Artistic-2.0", "MPL-2.0", "EPL-2.0", "EUPL-1.2", "OFL-1.1",
    "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "LGPL-2.1-only",
    "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later", "AGPL-3.0-only", "AGPL-3.0-or-later",
    "WTFPL", PUBLIC_DOMAIN, ALL_RIGHTS_RESERVED, ARXIV_NONEXCLUSIVE, NOT_OPEN, OTHER_OPEN, OTHER_AT,
    OTHER_NC, LICENCE_OUVERTE_1,
)

# lower-case statement -> id: SPDX ids, deprecated SPDX ids, CKAN ids and other exact aliases
_EXACT: dict[str, str] = {i.lower(): i for i in _KNOWN_IDS} | {
    "licenseref-pdm-1.0": "CC-PDM-1.0", "pdm": "CC-PDM-1.0", "odc-pddl-1.0": "PDDL-1.0",
    "gpl-2.0": "GPL-2.0-only", "gpl-2.0+": "GPL-2.0-or-later", "gpl-3.0": "GPL-3.0-only",
    "gpl-3.0+": "GPL-3.0-or-later", "lgpl-2.1": "LGPL-2.1-only", "lgpl-2.1+": "LGPL-2.1-or-later",
    "lgpl-3.0": "LGPL-3.0-only", "lgpl-3.0+": "LGPL-3.0-or-later", "agpl-3.0": "AGPL-3.0-only",
    "gfdl-1.3": "GFDL-1.3-only", "gfdl-1.2": "GFDL-1.2-only", "gfdl-1.1": "GFDL-1.1-only",
    "lo-2.0": "Etalab-2.0", "lo-fr-2.0": "Etalab-2.0", "etalab": "Etalab-2.0",
    # CKAN's default licence ids (ckan/model/license.py) and common portal extras
    "cc-zero": "CC0-1.0", "cc-nc": "CC-BY-NC-4.0", "odc-odbl": "ODbL-1.0", "odc-by": "ODC-By-1.0",
    "odc-pddl": "PDDL-1.0", "uk-ogl": "OGL-UK-3.0", "ogl-uk": "OGL-UK-3.0", "ogl": "OGL-UK-3.0",
    "other-pd": PUBLIC_DOMAIN, "us-pd": PUBLIC_DOMAIN, "other-open": OTHER_OPEN, "other-at": OTHER_AT,
    "other-nc": OTHER_NC, "other-closed": NOT_OPEN, "gfdl": "GFDL-1.3-or-later",
    "ogl-canada": "OGL-Canada-2.0", "ca-ogl-lgo": "OGL-Canada-2.0", "dl-de-by-2.0": "DL-DE-BY-2.0",
    "dl-de-zero-2.0": "DL-DE-ZERO-2.0", "mit-license": "MIT", "apache": "Apache-2.0",
}

_NO_LICENSE = {"notspecified", "not specified", "license not specified", "none", "n/a", "unknown",
               "unspecified", "other-license-specified", "null"}

_URLS: dict[str, str] = {
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "CC-PDM-1.0": "https://creativecommons.org/publicdomain/mark/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "ODC-By-1.0": "https://opendatacommons.org/licenses/by/1-0/",
    "PDDL-1.0": "https://opendatacommons.org/licenses/pddl/1-0/",
    "OGL-UK-1.0": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/1/",
    "OGL-UK-2.0": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/2/",
    "OGL-UK-3.0": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    "OGL-Canada-2.0": "https://open.canada.ca/en/open-government-licence-canada",
    "Etalab-2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "DL-DE-BY-2.0": "https://www.govdata.de/dl-de/by-2-0",
    "DL-DE-ZERO-2.0": "https://www.govdata.de/dl-de/zero-2-0",
    "CDLA-Permissive-1.0": "https://cdla.dev/permissive-1-0/",
    "CDLA-Permissive-2.0": "https://cdla.dev/permissive-2-0/",
    "CDLA-Sharing-1.0": "https://cdla.dev/sharing-1-0/",
    ARXIV_NONEXCLUSIVE: "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
}

_CC_ID = re.compile(r"^CC-((?:BY|NC|ND|SA)(?:-(?:NC|ND|SA))*)-(\d\.\d)(?:-([A-Z]{2,8}))?$")


def license_url(spdx: str | None) -> str | None:
    """The canonical URL of a licence id: the CC deed, the publisher's page, else the SPDX page."""
    if not spdx:
        return None
    m = _CC_ID.match(spdx)
    if m:
        kind, version, port = m.group(1).lower(), m.group(2), m.group(3)
        if version == "1.0" and kind == "by-nc-nd":
            kind = "by-nd-nc"  # CC 1.0 spelled it this way
        return f"https://creativecommons.org/licenses/{kind}/{version}/" + (f"{port.lower()}/" if port else "")
    if spdx in _URLS:
        return _URLS[spdx]
    if spdx.lower() in _EXACT and not spdx.startswith("LicenseRef-"):
        return f"https://spdx.org/licenses/{_EXACT[spdx.lower()]}.html"
    return None


# ---------------------------------------------------------------- Creative Commons

_CC_ELEMENTS = {"by", "nc", "nd", "sa"}
# ports of the CC 1.0-3.0 suites, as they appear in URLs and in short names ("CC BY 3.0 DE")
_CC_PORTS = set(
    "ar at au be bg br ca ch cl cn co cr cz de dk ec ee es fi fr gr gt hk hr hu ie igo il in it jp kr "
    "lu mk mt mx my nl no nz pe ph pl pr pt ro rs scotland se sg si th tw ug uk us ve vn za".split())
_ELEMENT_WORDS = (("nc", re.compile(r"non[\s-]?commercial")), ("sa", re.compile(r"share[\s-]?alike")),
                  ("nd", re.compile(r"no[\s-]?deriv")))
_SHORT_CC = re.compile(
    r"\bcc[\s-]*(by\b(?:[\s-]*(?:nc|sa|nd)\b)*)(?:[\s-]*v?(\d(?:\.\d)?)\b)?(?:[\s-]+([a-z]{2,8})\b)?")
_ELEMENTS = r"(?:[\s,-]*(?:non[\s-]?commercial|share[\s-]?alike|no[\s-]?deriv\w*(?:\s+works)?))*"
_LONG_CC = re.compile(r"creative\s*commons\s+(?:licen[cs]e\s+)?(?:\(cc\)\s+)?(attribution" + _ELEMENTS
                      + r")(?:\s+licen[cs]e)?(?:\s+v?(\d(?:\.\d)?)\b)?")
_BARE_CC = re.compile(r"^attribution(" + _ELEMENTS + r")\s+(\d\.\d)\b")


def _cc_id(elements: Iterable[str], version: str | None, port: str | None = None) -> str | None:
    parts = set(elements)
    if not parts or not parts <= _CC_ELEMENTS:
        return None
    version = version or "4.0"
    if "." not in version:
        version += ".0"
    ordered = [e.upper() for e in ("by", "nc", "nd", "sa") if e in parts]
    spdx = "CC-" + "-".join(ordered) + "-" + version
    return spdx + "-" + port.upper() if port else spdx


def _cc_from_url(segments: list[str]) -> str | None:
    if segments[:2] == ["publicdomain", "zero"]:
        return "CC0-1.0"
    if segments[:2] == ["publicdomain", "mark"]:
        return "CC-PDM-1.0"
    if len(segments) < 2 or segments[0] not in ("licenses", "licences"):
        return None
    if segments[1] == "publicdomain":
        return PUBLIC_DOMAIN
    version = segments[2] if len(segments) > 2 and re.fullmatch(r"\d\.\d", segments[2]) else None
    port = segments[3] if version and len(segments) > 3 and segments[3] in _CC_PORTS else None
    return _cc_id(segments[1].split("-"), version, port)


def _cc_from_text(low: str) -> str | None:
    m = _SHORT_CC.search(low)
    if m:
        elements = re.split(r"[\s-]+", m.group(1))
        version = m.group(2)
        port = m.group(3) if version and version < "4" and m.group(3) in _CC_PORTS else None
        return _cc_id(elements, version, port)
    m = _LONG_CC.search(low) or _BARE_CC.search(low)
    if m:
        words = m.group(1)
        return _cc_id(["by"] + [e for e, rx in _ELEMENT_WORDS if rx.search(words)], m.group(2))
    return None


# ---------------------------------------------------------------- other licences by URL and by name

# bounded label repetition keeps the scan linear on long runs of letters and dashes
_URL_IN_TEXT = re.compile(r"(?:https?://|www\.)[^\s<>\"'\])]+|(?<![\w.])(?:[a-z0-9-]{1,63}\.){0,4}"
                          r"(?:creativecommons|opendatacommons)\.org/[^\s<>\"'\])]*", re.I)
# hosts whose licence URLs are read by name (OGL, Etalab, Datenlizenz Deutschland, CDLA)
_NAMED_HOSTS = ("nationalarchives.gov.uk", "data.gov.uk", "open.canada.ca", "data.gc.ca", "etalab.gouv.fr",
                "data.gouv.fr", "govdata.de", "cdla.io", "cdla.dev")


def _gnu_from_path(path: str) -> str | None:
    m = re.search(r"/(a?gpl|lgpl|fdl)(?:-(\d\.\d))?", path)
    if not m:
        return None
    family = {"fdl": "GFDL"}.get(m.group(1), m.group(1).upper())
    default = {"GFDL": "1.3", "GPL": "3.0", "LGPL": "3.0", "AGPL": "3.0"}[family]
    return f"{family}-{m.group(2) or default}-or-later"


def _odc_from_path(segments: list[str]) -> str | None:
    for seg in segments:
        if seg in _EXACT:
            return _EXACT[seg]
        named = {"odbl": "ODbL-1.0", "pddl": "PDDL-1.0", "by": "ODC-By-1.0"}.get(seg)
        if named or seg.startswith("cc-"):
            return named or _cc_from_text(seg)
    return None


def _from_url(url: str) -> str | None:
    parts = urlsplit(url if "://" in url else "http://" + url)
    host = (parts.hostname or "").removeprefix("www.")
    path = parts.path.lower().rstrip("/")
    segments = [s for s in path.split("/") if s]
    if host.endswith("creativecommons.org"):
        return _cc_from_url(segments)
    if host.endswith(("opendatacommons.org", "opendefinition.org")):
        return _odc_from_path(segments)
    if host == "arxiv.org" and path.startswith("/licenses/"):
        return ARXIV_NONEXCLUSIVE if "nonexclusive" in path or "assumed" in path else None
    if host in ("spdx.org", "opensource.org"):
        last = segments[-1] if segments else ""
        return _EXACT.get(re.sub(r"\.(html|php|json|txt)$", "", last))
    if host == "gnu.org":
        return _gnu_from_path(path)
    if host == "apache.org" and "license-2.0" in path:
        return "Apache-2.0"
    if host.endswith(_NAMED_HOSTS) or (host == "github.com" and "/etalab/" in path):
        return _from_name(path.replace("/", " ").replace("-", " "))
    return None


_NAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(rx), spdx) for rx, spdx in (
    (r"\bcc[\s-]?0\b|\bcc[\s-]?zero\b|creative\s*commons\s+zero", "CC0-1.0"),
    (r"public\s*domain\s*mark", "CC-PDM-1.0"),
    (r"\bpddl\b|public\s*domain\s*dedication\s*(?:and|&)\s*licen[cs]e", "PDDL-1.0"),
    (r"\bodbl\b|open\s*database\s*licen[cs]e", "ODbL-1.0"),
    (r"\bodc[\s-]?by\b|open\s*data\s*commons\s*attribution", "ODC-By-1.0"),
    (r"licence\s*ouverte.*\b1\.0|open\s*licence.*\b1\.0", LICENCE_OUVERTE_1),
    (r"licence\s*ouverte|\betalab\b", "Etalab-2.0"),
    (r"\bdl\s*de\s*zero|datenlizenz\s+deutschland\W+zero", "DL-DE-ZERO-2.0"),
    (r"\bdl\s*de\s*by|datenlizenz\s+deutschland", "DL-DE-BY-2.0"),
    (r"cdla\s*permissive\s*1", "CDLA-Permissive-1.0"),
    (r"cdla\s*permissive|^\s*permissive\s*2", "CDLA-Permissive-2.0"),
    (r"cdla\s*sharing|^\s*sharing\s*1", "CDLA-Sharing-1.0"),
    (r"^\s*permissive\s*1", "CDLA-Permissive-1.0"),
    (r"gnu\s+free\s+documentation\s+licen[cs]e[^0-9]{0,20}1\.2", "GFDL-1.2-or-later"),
    (r"gnu\s+free\s+documentation\s+licen[cs]e|\bgfdl\b", "GFDL-1.3-or-later"),
    (r"arxiv.{0,60}non-?exclusive|non-?exclusive.{0,60}arxiv", ARXIV_NONEXCLUSIVE),
    (r"public\s*domain", PUBLIC_DOMAIN),
    (r"all\s+rights\s+reserved", ALL_RIGHTS_RESERVED),
))
_OGL = re.compile(r"open[\s-]*government[\s-]*licen[cs]e(?:\W{0,3}(?:v|version)?\W{0,3}(\d))?")


def _from_name(low: str) -> str | None:
    ogl = _OGL.search(low)
    if ogl:
        return "OGL-Canada-2.0" if "canada" in low else f"OGL-UK-{ogl.group(1) or '3'}.0"
    return next((spdx for rx, spdx in _NAMES if rx.search(low)), None)


# ---------------------------------------------------------------- reading one statement

_MAX_STATEMENT = 4096  # characters read from one statement; the rest is ignored


def _read(statement: str) -> tuple[str | None, str]:
    """(SPDX id or None, kind); kind is license, none, open-access or unknown."""
    text = statement.strip()[:_MAX_STATEMENT]
    low = " ".join(text.lower().split())
    if not low or low in _NO_LICENSE:
        return None, "none"
    if low.startswith("info:eu-repo/semantics/"):
        return None, "open-access" if low.endswith("openaccess") else "none"
    if low in _EXACT:
        return _EXACT[low], "license"
    urls = _URL_IN_TEXT.findall(text)
    spdx = next((found for found in map(_from_url, urls) if found), None)
    if spdx is None and not (len(urls) == 1 and urls[0] == text):  # a lone unknown URL stays unknown
        spdx = _cc_from_text(low.replace("_", " ")) or _from_name(low)
    return (spdx, "license") if spdx else (None, "unknown")


def normalize(statement: str) -> str | None:
    """The SPDX id (or ``LicenseRef-`` id) a licence statement names; ``None`` when unknown."""
    if not isinstance(statement, str):
        return None
    return _read(statement)[0]


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


def _openness(spdx: str) -> int:
    """0 for public-domain tools, 1 for attribution licences, 2 for share-alike and copyleft."""
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


def decide(statements: Iterable[str], allow: Iterable[str] | None = None) -> LicenseDecision:
    """Decide whether a record may be kept, from every licence statement found for it.

    ``allow`` replaces the default allow-list for one run (``--license``). See the module docstring
    for which statement decides.
    """
    readings = [(s, *_read(s)) for s in statements if isinstance(s, str)]
    allowed = [(s, spdx) for s, spdx, _ in readings if spdx and is_allowed(spdx, allow)]
    if allowed:
        statement, spdx = min(allowed, key=lambda r: _openness(r[1]))
        return LicenseDecision(True, spdx, license_url(spdx), statement)
    recognised = [(s, spdx) for s, spdx, _ in readings if spdx]
    if recognised:
        statement, spdx = recognised[0]
        return LicenseDecision(False, spdx, license_url(spdx), statement, _skip_reason(spdx))
    for kind, reason in (("unknown", "unknown-license"), ("open-access", "open-access-without-license")):
        hit = next((s for s, _, k in readings if k == kind), None)
        if hit is not None:
            return LicenseDecision(False, statement=hit, reason=reason)
    return LicenseDecision(False, reason="no-license")
