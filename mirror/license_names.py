"""Reading one licence statement: a URL, a name, an SPDX id, a CKAN ``license_id`` or a sentence.

``normalize`` turns a statement into an SPDX id (or a ``LicenseRef-`` id, or None); ``read`` also
says what kind of statement it is (a licence, no licence, an open-access claim, unknown). The
choices that decide what is kept are listed in ``mirror.licenses``. Creative Commons names are read
in English, German, French, Spanish, Portuguese and Italian ("Namensnennung - Nicht kommerziell 4.0
International", "Atribución-CompartirIgual", "Atribuição-NãoComercial-SemDerivações"...), and the
all-rights-reserved and public-domain phrases in the same languages.
"""

from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import urlsplit

PUBLIC_DOMAIN = "LicenseRef-PublicDomain"
ALL_RIGHTS_RESERVED = "LicenseRef-All-Rights-Reserved"
ARXIV_NONEXCLUSIVE = "LicenseRef-arXiv-nonexclusive-distrib-1.0"
NOT_OPEN = "LicenseRef-CKAN-other-closed"
OTHER_OPEN = "LicenseRef-CKAN-other-open"
OTHER_AT = "LicenseRef-CKAN-other-at"
OTHER_NC = "LicenseRef-CKAN-other-nc"
LICENCE_OUVERTE_1 = "LicenseRef-Licence-Ouverte-1.0"


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
_SHORT_CC = re.compile(r"(?:\bcc|creative\s*commons)[\s-]*(by\b(?:[\s-]*(?:nc|sa|nd)\b)*)"
                       r"(?:[\s-]*v?(\d(?:\.\d)?)\b)?(?:[\s-]+([a-z]{2,8})\b)?")
# The words of each licence element in English, German, French, Spanish, Portuguese (BR, PT), Italian,
# as Creative Commons' own translations of the licence names write them (older and current wordings).
_CC_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((code, re.compile(rx)) for code, rx in (
    ("by", r"attribution|namensnennung|paternit[ée]|reconocimiento|atribuci[óo]n|atribui[çc][ãa]o|attribuzione"),
    ("nc", r"non[\s-]?commercial|nicht[\s-]?kommerziell|pas\s+d.utilisation\s+commerciale|no[\s-]?comercial"
           r"|n[ãa]o[\s-]?comercial|non[\s-]?commerciale"),
    ("nd", r"no[\s-]?deriv\w*(?:\s+works)?|keine\s+bearbeitung(?:en)?|pas\s+de\s+modification"
           r"|sin\s*(?:obras?\s*)?derivadas?|sem\s*(?:obras\s*)?deriva(?:[çc](?:[õo]es)|das)|non\s+opere\s+derivate"),
    ("sa", r"share[\s-]?alike|weitergabe\s+unter\s+gleichen\s+bedingungen|partage\s+dans\s+les\s+m[êe]mes\s+conditions"
           r"|compartir\s*igual|compartilha\s*igual|partilha\s+nos\s+termos\s+da\s+mesma\s+licen[çc]a"
           r"|condividi\s+allo\s+stesso\s+modo"),
))
_CC_NAME = re.compile(r"creative\s*commons")
_LICENCE_WORD = r"licen[cs]e|lizenz|licencia|licen[çc]a|licenza"
_CC_LEAD = re.compile(r"(?:[\s:()'\u2019-]*(?:" + _LICENCE_WORD + r"|\(cc\)|de|der|la|the))*[\s:()-]*")
_CC_SEP = re.compile(r"[\s,/\u2013\u2014-]*")
_CC_VERSION = re.compile(r"[\s,\u2013\u2014-]*(?:(?:" + _LICENCE_WORD + r")[\s,-]*)?(?:version\s*|v)?(\d(?:\.\d)?)\b")


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


def _cc_elements(low: str, pos: int) -> tuple[list[str], int]:
    """The licence elements named from POS on (attribution first, as every CC name begins), and
    where they end."""
    elements: list[str] = []
    while True:
        at = _CC_SEP.match(low, pos)
        start = at.end() if at else pos
        found = next(((code, m) for code, rx in _CC_WORDS if (m := rx.match(low, start))
                      and (elements or code == "by")), None)
        if found is None:
            return elements, pos
        elements.append(found[0])
        pos = found[1].end()


def _cc_named(low: str, pos: int, need_version: bool) -> str | None:
    elements, end = _cc_elements(low, pos)
    version = _CC_VERSION.match(low, end) if elements else None
    if not elements or (need_version and version is None):
        return None
    return _cc_id(elements, version.group(1) if version else None)


def _cc_from_text(low: str) -> str | None:
    m = _SHORT_CC.search(low)
    if m:
        elements = re.split(r"[\s-]+", m.group(1))
        version = m.group(2)
        port = m.group(3) if version and version < "4" and m.group(3) in _CC_PORTS else None
        return _cc_id(elements, version, port)
    for name in _CC_NAME.finditer(low):      # "Creative Commons Attribution-ShareAlike 4.0", in any language
        lead = _CC_LEAD.match(low, name.end())
        found = _cc_named(low, lead.end() if lead else name.end(), need_version=False)
        if found:
            return found
    return _cc_named(low, 0, need_version=True)   # "Attribution-NonCommercial 3.0 United States"


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
    (r"public\s*domain|domaine\s+public|dominio\s+p[úu]blico|dom[íi]nio\s+p[úu]blico|gemeinfrei"
     r"|pubblico\s+dominio", PUBLIC_DOMAIN),
    (r"all\s+rights\s+reserved|alle\s+rechte\s+vorbehalten|tous\s+droits\s+r[ée]serv[ée]s"
     r"|todos\s+los\s+derechos\s+reservados|todos\s+os\s+direitos\s+reservados"
     r"|tutti\s+i\s+diritti\s+riservati", ALL_RIGHTS_RESERVED),
))
_OGL = re.compile(r"open[\s-]*government[\s-]*licen[cs]e(?:\W{0,3}(?:v|version)?\W{0,3}(\d))?")


def _from_name(low: str) -> str | None:
    ogl = _OGL.search(low)
    if ogl:
        return "OGL-Canada-2.0" if "canada" in low else f"OGL-UK-{ogl.group(1) or '3'}.0"
    return next((spdx for rx, spdx in _NAMES if rx.search(low)), None)


# ---------------------------------------------------------------- reading one statement

_MAX_STATEMENT = 4096  # characters read from one statement; the rest is ignored


def read(statement: str) -> tuple[str | None, str]:
    """(SPDX id or None, kind); kind is license, none, open-access or unknown."""
    text = statement.strip()[:_MAX_STATEMENT]
    low = " ".join(text.lower().split())
    if not low or low in _NO_LICENSE:
        return None, "none"
    if low.startswith("info:eu-repo/semantics/"):
        return None, "open-access" if low.endswith("openaccess") else "none"
    if low.startswith(("http://purl.org/coar/access_right/", "https://purl.org/coar/access_right/")):
        return None, "open-access" if low.rstrip("/").endswith("c_abf2") else "none"   # COAR access rights
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
    return read(statement)[0]
