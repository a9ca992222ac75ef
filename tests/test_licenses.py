"""Licence normalisation, the open-licence gate and the markup extractors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from multidict import CIMultiDict

from mirror.licenses import (
    OPEN_LICENSES, SKIP_REASONS, decide, from_html, from_link_header, is_allowed, license_url, normalize,
)

NORMALIZE = [
    # Creative Commons URLs in every spelling
    ("http://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0", "CC-BY-4.0"),
    ("http://www.creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("www.creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("creativecommons.org/licenses/by/4.0", "CC-BY-4.0"),
    ("//creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("HTTPS://CreativeCommons.org/Licenses/BY/4.0/", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/deed.en", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/deed.en_US", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/deed.de", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/legalcode", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/legalcode.fr", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/?ref=chooser-v1", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/#", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/", "CC-BY-4.0"),
    ("http://creativecommons.org/licenses/by/1.0/", "CC-BY-1.0"),
    ("http://creativecommons.org/licenses/by/2.0/", "CC-BY-2.0"),
    ("http://creativecommons.org/licenses/by/2.5/", "CC-BY-2.5"),
    ("http://creativecommons.org/licenses/by/3.0/", "CC-BY-3.0"),
    ("http://creativecommons.org/licenses/by-sa/1.0/", "CC-BY-SA-1.0"),
    ("http://creativecommons.org/licenses/by-sa/2.0/", "CC-BY-SA-2.0"),
    ("http://creativecommons.org/licenses/by-sa/2.5/", "CC-BY-SA-2.5"),
    ("http://creativecommons.org/licenses/by-sa/3.0/", "CC-BY-SA-3.0"),
    ("https://creativecommons.org/licenses/by-sa/4.0/legalcode.en", "CC-BY-SA-4.0"),
    ("https://creativecommons.org/licenses/by-nc/4.0/", "CC-BY-NC-4.0"),
    ("https://creativecommons.org/licenses/by-nd/4.0/", "CC-BY-ND-4.0"),
    ("https://creativecommons.org/licenses/by-nc-sa/4.0/", "CC-BY-NC-SA-4.0"),
    ("https://creativecommons.org/licenses/by-nc-nd/4.0/deed.es", "CC-BY-NC-ND-4.0"),
    ("http://creativecommons.org/licenses/by-nc-nd/2.5/", "CC-BY-NC-ND-2.5"),
    ("http://creativecommons.org/licenses/by-nd-nc/1.0/", "CC-BY-NC-ND-1.0"),
    ("http://creativecommons.org/licenses/nc-sa/1.0/", "CC-NC-SA-1.0"),
    # ported licences
    ("http://creativecommons.org/licenses/by/3.0/de/", "CC-BY-3.0-DE"),
    ("http://creativecommons.org/licenses/by/3.0/de/deed.de", "CC-BY-3.0-DE"),
    ("http://creativecommons.org/licenses/by-sa/3.0/de/legalcode", "CC-BY-SA-3.0-DE"),
    ("http://creativecommons.org/licenses/by/2.5/au/", "CC-BY-2.5-AU"),
    ("http://creativecommons.org/licenses/by/3.0/us/", "CC-BY-3.0-US"),
    ("http://creativecommons.org/licenses/by/3.0/igo/", "CC-BY-3.0-IGO"),
    ("http://creativecommons.org/licenses/by-sa/2.0/uk/", "CC-BY-SA-2.0-UK"),
    ("http://creativecommons.org/licenses/by-nc-sa/2.0/fr/", "CC-BY-NC-SA-2.0-FR"),
    ("http://creativecommons.org/licenses/by/2.1/jp/", "CC-BY-2.1-JP"),
    # public domain tools
    ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
    ("http://creativecommons.org/publicdomain/zero/1.0/legalcode", "CC0-1.0"),
    ("https://creativecommons.org/publicdomain/zero/1.0/deed.fr", "CC0-1.0"),
    ("https://creativecommons.org/publicdomain/mark/1.0/", "CC-PDM-1.0"),
    ("http://creativecommons.org/publicdomain/mark/1.0/deed.en", "CC-PDM-1.0"),
    ("http://creativecommons.org/licenses/publicdomain/", "LicenseRef-PublicDomain"),
    # text forms
    ("CC BY 4.0", "CC-BY-4.0"),
    ("CC-BY 4.0", "CC-BY-4.0"),
    ("cc by", "CC-BY-4.0"),
    ("CC BY-SA 4.0", "CC-BY-SA-4.0"),
    ("CC-BY-SA 3.0", "CC-BY-SA-3.0"),
    ("CC BY-NC 4.0", "CC-BY-NC-4.0"),
    ("CC BY-NC-ND 4.0", "CC-BY-NC-ND-4.0"),
    ("CC BY-ND 2.0", "CC-BY-ND-2.0"),
    ("CC BY 3.0 DE", "CC-BY-3.0-DE"),
    ("CC BY 4.0 International", "CC-BY-4.0"),
    ("CC BY 4", "CC-BY-4.0"),
    ("Licensed CC BY 4.0 in 2020", "CC-BY-4.0"),
    ("Creative Commons Attribution 4.0 International", "CC-BY-4.0"),
    ("Creative Commons Attribution 4.0 International License", "CC-BY-4.0"),
    ("Creative Commons Attribution-ShareAlike 4.0 International License", "CC-BY-SA-4.0"),
    ("Creative Commons Attribution-ShareAlike 3.0 Unported", "CC-BY-SA-3.0"),
    ("Creative Commons Attribution-NonCommercial 4.0 International", "CC-BY-NC-4.0"),
    ("Creative Commons Attribution-NoDerivatives 4.0 International", "CC-BY-ND-4.0"),
    ("Creative Commons Attribution-NoDerivs 3.0 Unported", "CC-BY-ND-3.0"),
    ("Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International", "CC-BY-NC-SA-4.0"),
    ("Creative Commons Attribution-NonCommercial-NoDerivatives 4.0", "CC-BY-NC-ND-4.0"),
    ("Creative Commons Attribution Non-Commercial Share Alike", "CC-BY-NC-SA-4.0"),
    ("Creative Commons License Attribution 2.5", "CC-BY-2.5"),
    ("Attribution 4.0 International (CC BY 4.0)", "CC-BY-4.0"),
    ("Attribution-NonCommercial 3.0 Unported", "CC-BY-NC-3.0"),
    ("This work is licensed under a Creative Commons Attribution 4.0 International License.", "CC-BY-4.0"),
    ("Licensed under https://creativecommons.org/licenses/by-sa/4.0/ (see LICENSE).", "CC-BY-SA-4.0"),
    ("CC0", "CC0-1.0"),
    ("cc0", "CC0-1.0"),
    ("CC0 1.0", "CC0-1.0"),
    ("CC0 1.0 Universal", "CC0-1.0"),
    ("CC-0", "CC0-1.0"),
    ("Creative Commons Zero", "CC0-1.0"),
    ("Public Domain", "LicenseRef-PublicDomain"),
    ("public domain", "LicenseRef-PublicDomain"),
    ("This work is in the public domain.", "LicenseRef-PublicDomain"),
    ("Public Domain Mark 1.0", "CC-PDM-1.0"),
    # SPDX ids, any case
    ("CC-BY-4.0", "CC-BY-4.0"),
    ("cc-by-4.0", "CC-BY-4.0"),
    ("CC-BY-SA-4.0", "CC-BY-SA-4.0"),
    ("cc-by-nc-nd-4.0", "CC-BY-NC-ND-4.0"),
    ("CC-BY-3.0-DE", "CC-BY-3.0-DE"),
    ("cc-by-nc-sa-3.0-igo", "CC-BY-NC-SA-3.0-IGO"),
    ("CC0-1.0", "CC0-1.0"),
    ("cc0-1.0", "CC0-1.0"),
    ("CC-PDM-1.0", "CC-PDM-1.0"),
    ("LicenseRef-PDM-1.0", "CC-PDM-1.0"),
    ("odbl-1.0", "ODbL-1.0"),
    ("ODC-BY-1.0", "ODC-By-1.0"),
    ("PDDL-1.0", "PDDL-1.0"),
    ("ODC-PDDL-1.0", "PDDL-1.0"),
    ("ogl-uk-3.0", "OGL-UK-3.0"),
    ("OGL-Canada-2.0", "OGL-Canada-2.0"),
    ("etalab-2.0", "Etalab-2.0"),
    ("DL-DE-BY-2.0", "DL-DE-BY-2.0"),
    ("dl-de-zero-2.0", "DL-DE-ZERO-2.0"),
    ("CDLA-Permissive-2.0", "CDLA-Permissive-2.0"),
    ("cdla-sharing-1.0", "CDLA-Sharing-1.0"),
    ("MIT", "MIT"),
    ("apache-2.0", "Apache-2.0"),
    ("BSD-3-Clause", "BSD-3-Clause"),
    ("GPL-3.0", "GPL-3.0-only"),
    ("GPL-3.0+", "GPL-3.0-or-later"),
    ("gfdl-1.3-or-later", "GFDL-1.3-or-later"),
    # CKAN licence ids
    ("cc-by", "CC-BY-4.0"),
    ("cc-by-sa", "CC-BY-SA-4.0"),
    ("cc-zero", "CC0-1.0"),
    ("cc-nc", "CC-BY-NC-4.0"),
    ("odc-odbl", "ODbL-1.0"),
    ("odc-by", "ODC-By-1.0"),
    ("odc-pddl", "PDDL-1.0"),
    ("uk-ogl", "OGL-UK-3.0"),
    ("other-pd", "LicenseRef-PublicDomain"),
    ("other-open", "LicenseRef-CKAN-other-open"),
    ("other-at", "LicenseRef-CKAN-other-at"),
    ("other-nc", "LicenseRef-CKAN-other-nc"),
    ("other-closed", "LicenseRef-CKAN-other-closed"),
    ("gfdl", "GFDL-1.3-or-later"),
    ("notspecified", None),
    # Open Data Commons and Open Definition URLs, names
    ("http://opendatacommons.org/licenses/odbl/", "ODbL-1.0"),
    ("http://opendatacommons.org/licenses/odbl/1.0/", "ODbL-1.0"),
    ("https://opendatacommons.org/licenses/odbl/1-0/", "ODbL-1.0"),
    ("http://opendatacommons.org/licenses/by/1.0/", "ODC-By-1.0"),
    ("https://opendatacommons.org/licenses/pddl/1-0/", "PDDL-1.0"),
    ("http://www.opendefinition.org/licenses/odc-pddl", "PDDL-1.0"),
    ("http://www.opendefinition.org/licenses/cc-by", "CC-BY-4.0"),
    ("http://www.opendefinition.org/licenses/cc-zero", "CC0-1.0"),
    ("Open Data Commons Open Database License (ODbL)", "ODbL-1.0"),
    ("Open Data Commons Attribution License", "ODC-By-1.0"),
    ("Open Data Commons Public Domain Dedication and License (PDDL) v1.0", "PDDL-1.0"),
    # Open Government Licences
    ("http://www.nationalarchives.gov.uk/doc/open-government-licence/version/1/", "OGL-UK-1.0"),
    ("http://www.nationalarchives.gov.uk/doc/open-government-licence/version/2/", "OGL-UK-2.0"),
    ("https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/", "OGL-UK-3.0"),
    ("http://www.nationalarchives.gov.uk/doc/open-government-licence/", "OGL-UK-3.0"),
    ("http://reference.data.gov.uk/id/open-government-licence", "OGL-UK-3.0"),
    ("Open Government Licence v3.0", "OGL-UK-3.0"),
    ("Open Government Licence version 2.0", "OGL-UK-2.0"),
    ("UK Open Government Licence (OGL)", "OGL-UK-3.0"),
    ("https://open.canada.ca/en/open-government-licence-canada", "OGL-Canada-2.0"),
    ("Open Government Licence - Canada", "OGL-Canada-2.0"),
    # other national and data licences
    ("https://www.etalab.gouv.fr/licence-ouverte-open-licence", "Etalab-2.0"),
    ("Licence Ouverte / Open Licence version 2.0", "Etalab-2.0"),
    ("Licence Ouverte 1.0", "LicenseRef-Licence-Ouverte-1.0"),
    ("https://www.govdata.de/dl-de/by-2-0", "DL-DE-BY-2.0"),
    ("https://www.govdata.de/dl-de/zero-2-0", "DL-DE-ZERO-2.0"),
    ("Datenlizenz Deutschland – Namensnennung – Version 2.0", "DL-DE-BY-2.0"),
    ("Datenlizenz Deutschland – Zero – Version 2.0", "DL-DE-ZERO-2.0"),
    ("https://cdla.dev/permissive-2-0/", "CDLA-Permissive-2.0"),
    ("https://cdla.io/permissive-1-0/", "CDLA-Permissive-1.0"),
    ("https://cdla.io/sharing-1-0/", "CDLA-Sharing-1.0"),
    ("https://www.gnu.org/licenses/fdl-1.3.html", "GFDL-1.3-or-later"),
    ("http://www.gnu.org/copyleft/fdl.html", "GFDL-1.3-or-later"),
    ("GNU Free Documentation License", "GFDL-1.3-or-later"),
    ("https://opensource.org/licenses/MIT", "MIT"),
    ("https://spdx.org/licenses/Apache-2.0.html", "Apache-2.0"),
    ("https://www.apache.org/licenses/LICENSE-2.0", "Apache-2.0"),
    # not licences, or not open
    ("http://arxiv.org/licenses/nonexclusive-distrib/1.0/", "LicenseRef-arXiv-nonexclusive-distrib-1.0"),
    ("https://arxiv.org/licenses/nonexclusive-distrib/1.0/license.html",
     "LicenseRef-arXiv-nonexclusive-distrib-1.0"),
    ("info:eu-repo/semantics/openAccess", None),
    ("info:eu-repo/semantics/closedAccess", None),
    ("All rights reserved", "LicenseRef-All-Rights-Reserved"),
    ("© 2019 Elsevier Ltd. All rights reserved.", "LicenseRef-All-Rights-Reserved"),
    ("Copyright 2020 the authors", None),
    ("https://example.org/terms/cc-by", None),  # a lone unknown URL is not guessed from its words
    ("http://creativecommons.org/licenses/sampling+/1.0/", None),
    ("ccbyline", None),
    ("", None),
    ("   ", None),
]


@pytest.mark.parametrize(("statement", "spdx"), NORMALIZE)
def test_normalize(statement: str, spdx: str | None) -> None:
    assert normalize(statement) == spdx


def test_normalize_table_is_large() -> None:
    assert len(NORMALIZE) >= 150


@pytest.mark.parametrize(("spdx", "url"), [
    ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/"),
    ("CC-BY-SA-3.0-DE", "https://creativecommons.org/licenses/by-sa/3.0/de/"),
    ("CC-BY-NC-ND-1.0", "https://creativecommons.org/licenses/by-nd-nc/1.0/"),
    ("CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    ("CC-PDM-1.0", "https://creativecommons.org/publicdomain/mark/1.0/"),
    ("ODbL-1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
    ("OGL-UK-3.0", "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"),
    ("MIT", "https://spdx.org/licenses/MIT.html"),
    ("LicenseRef-arXiv-nonexclusive-distrib-1.0", "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"),
    ("LicenseRef-All-Rights-Reserved", None),
    ("NoSuchLicence", None),
    (None, None),
])
def test_license_url(spdx: str | None, url: str | None) -> None:
    assert license_url(spdx) == url


def test_every_normalized_url_round_trips() -> None:
    for statement, spdx in NORMALIZE:
        url = license_url(spdx)
        if url and spdx and not spdx.startswith(("GFDL", "MIT", "Apache", "BSD", "GPL")):
            assert normalize(url) == spdx, statement


@pytest.mark.parametrize(("statements", "allowed", "spdx", "reason"), [
    (["CC BY 4.0"], True, "CC-BY-4.0", None),
    (["https://creativecommons.org/licenses/by-sa/3.0/de/"], True, "CC-BY-SA-3.0-DE", None),
    (["cc-zero"], True, "CC0-1.0", None),
    (["Public Domain"], True, "LicenseRef-PublicDomain", None),
    (["https://creativecommons.org/publicdomain/mark/1.0/"], True, "CC-PDM-1.0", None),
    (["odc-odbl"], True, "ODbL-1.0", None),
    (["uk-ogl"], True, "OGL-UK-3.0", None),
    (["MIT"], True, "MIT", None),
    ([], False, None, "no-license"),
    (["", "notspecified"], False, None, "no-license"),
    (["cc-nc"], False, "CC-BY-NC-4.0", "non-commercial"),
    (["CC BY-NC-ND 4.0"], False, "CC-BY-NC-ND-4.0", "non-commercial"),
    (["other-nc"], False, "LicenseRef-CKAN-other-nc", "non-commercial"),
    (["https://creativecommons.org/licenses/by-nd/4.0/"], False, "CC-BY-ND-4.0", "no-derivatives"),
    (["All rights reserved"], False, "LicenseRef-All-Rights-Reserved", "all-rights-reserved"),
    (["http://arxiv.org/licenses/nonexclusive-distrib/1.0/"], False,
     "LicenseRef-arXiv-nonexclusive-distrib-1.0", "arxiv-nonexclusive"),
    (["info:eu-repo/semantics/openAccess"], False, None, "open-access-without-license"),
    (["Copyright the authors"], False, None, "unknown-license"),
    (["info:eu-repo/semantics/openAccess", "Copyright the authors"], False, None, "unknown-license"),
    (["other-closed"], False, "LicenseRef-CKAN-other-closed", "not-allowed"),
    (["other-open"], False, "LicenseRef-CKAN-other-open", "not-allowed"),
    (["WTFPL"], False, "WTFPL", "not-allowed"),
    # several statements: the most restrictive licence decides, whatever the order; "all rights
    # reserved" is a notice that decides only when no licence is named
    (["All rights reserved", "CC BY 4.0"], True, "CC-BY-4.0", None),
    (["CC BY-SA 4.0", "CC BY 4.0", "cc-by-nc"], False, "CC-BY-NC-4.0", "non-commercial"),
    (["CC BY 4.0", "CC0"], True, "CC-BY-4.0", None),
    (["CC0", "CC BY-SA 4.0", "CC BY 4.0"], True, "CC-BY-SA-4.0", None),
    (["info:eu-repo/semantics/openAccess", "https://creativecommons.org/licenses/by/4.0/"], True,
     "CC-BY-4.0", None),
    # none allowed: the first recognised licence gives the reason
    (["CC BY-ND 4.0", "cc-nc"], False, "CC-BY-ND-4.0", "no-derivatives"),
    (["Copyright the authors", "cc-nc"], False, "CC-BY-NC-4.0", "non-commercial"),
])
def test_decide(statements: list[str], allowed: bool, spdx: str | None, reason: str | None) -> None:
    decision = decide(statements)
    assert (decision.allowed, decision.spdx, decision.reason) == (allowed, spdx, reason)
    assert decision.reason is None or decision.reason in SKIP_REASONS


def test_decide_keeps_the_statement_as_found_and_the_url() -> None:
    decision = decide(["© Publisher. All rights reserved.",
                       "http://creativecommons.org/licenses/by/4.0/deed.en_US"])
    assert decision.statement == "http://creativecommons.org/licenses/by/4.0/deed.en_US"
    assert decision.url == "https://creativecommons.org/licenses/by/4.0/"


def test_decide_ties_go_to_the_first_found() -> None:
    assert decide(["CC BY 3.0", "CC BY 4.0"]).spdx == "CC-BY-3.0"


def test_a_disagreement_is_noted_and_the_most_restrictive_decides() -> None:
    nc = decide(["https://creativecommons.org/licenses/by/4.0/", "Creative Commons BY-NC 4.0"])
    assert (nc.allowed, nc.reason, nc.statement) == (False, "non-commercial", "Creative Commons BY-NC 4.0")
    assert nc.note == "licence statements disagree (CC-BY-4.0, CC-BY-NC-4.0): the most restrictive, " \
                      "CC-BY-NC-4.0, decides"
    sa = decide(["CC BY 4.0", "ODbL"])
    assert sa.allowed and sa.spdx == "ODbL-1.0" and "disagree" in (sa.note or "")
    assert decide(["CC BY 3.0", "CC BY 4.0", "All rights reserved"]).note is None    # versions agree
    assert decide(["CC BY-NC 4.0", "CC BY 4.0"], allow={"CC-BY-NC-*"}).allowed     # --license allows it


@pytest.mark.parametrize(("allow", "statement", "allowed"), [
    ({"CC-BY-NC-*"}, "CC BY-NC 4.0", True),
    ({"CC-BY-NC-*"}, "CC BY-NC 3.0 DE", True),
    ({"CC-BY-NC-*"}, "CC BY 4.0", False),           # the override replaces the default list
    ({"CC-BY-*"}, "CC BY 3.0 DE", True),
    ({"CC-BY-*"}, "CC BY-NC 4.0", False),           # a family's * stands for a version only
    ({"CC-BY-*"}, "CC BY-SA 4.0", False),
    ({"cc-by-*"}, "CC BY 2.0", True),               # case-insensitive
    ({"CC-BY*"}, "CC BY 2.0", True),
    ({"CC-BY-4.0"}, "CC BY 3.0", False),
    ({"cc-by-4.0"}, "https://creativecommons.org/licenses/by/4.0/", True),
    ({"https://creativecommons.org/licenses/by-nd/4.0/"}, "CC BY-ND 4.0", True),  # entries are read too
    ({"LicenseRef-arXiv-nonexclusive-distrib-1.0"}, "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
     True),
    (set(), "CC0", False),
])
def test_allow_override(allow: set[str], statement: str, allowed: bool) -> None:
    assert decide([statement], allow=allow).allowed is allowed


def test_default_allow_list_covers_the_open_definition_core() -> None:
    for spdx in ("CC0-1.0", "CC-PDM-1.0", "CC-BY-4.0", "CC-BY-2.5-AU", "CC-BY-SA-4.0", "CC-BY-SA-3.0-DE",
                 "ODbL-1.0", "ODC-By-1.0", "PDDL-1.0", "OGL-UK-1.0", "OGL-UK-2.0", "OGL-UK-3.0",
                 "OGL-Canada-2.0", "Etalab-2.0", "DL-DE-BY-2.0", "GFDL-1.3-or-later"):
        assert is_allowed(spdx), spdx
    for spdx in ("CC-BY-NC-4.0", "CC-BY-ND-4.0", "CC-BY-NC-SA-4.0", "LicenseRef-All-Rights-Reserved",
                 "LicenseRef-arXiv-nonexclusive-distrib-1.0", "LicenseRef-CKAN-other-closed"):
        assert not is_allowed(spdx), spdx
    assert "CC-BY-*" in OPEN_LICENSES


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_normalize_never_raises(text: str) -> None:
    result = normalize(text)
    assert result is None or isinstance(result, str)
    decision = decide([text, text.upper()])
    assert decision.allowed or decision.reason in SKIP_REASONS


@given(st.from_regex(r"(https?://)?(www\.)?creativecommons\.org/[a-z0-9./_-]{0,40}", fullmatch=True))
@settings(max_examples=100, deadline=None)
def test_normalize_cc_urls_never_raise(url: str) -> None:
    assert normalize(url) is None or normalize(url).startswith(("CC", "LicenseRef-"))


# ---------------------------------------------------------------- extractors

PAGE = b"""<!doctype html><html><head>
<link rel="License" href="/licence.html">
<meta name="DC.rights" content="CC BY 4.0">
<meta name="dcterms.license" content="https://creativecommons.org/licenses/by-sa/4.0/">
<meta name="DCTERMS.rights" content="Open Government Licence v3.0">
<meta name="citation_license" content="cc0">
<meta name="description" content="CC BY-NC 4.0 is not read from here">
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "Dataset", "license": {"@type": "CreativeWork", "url": "https://opendatacommons.org/licenses/odbl/"}},
  {"@type": "WebPage", "mainEntity": {"license": ["https://creativecommons.org/publicdomain/zero/1.0/",
                                                  {"@id": "https://creativecommons.org/licenses/by/3.0/de/"}]}}
]}
</script>
<script type="application/ld+json">{"license": "https://creativecommons.org/licenses/by/2.0/"}</script>
<script type="application/ld+json">{not json</script>
</head><body>
<a rel="nofollow license" href="http://creativecommons.org/licenses/by/4.0/">CC BY</a>
<a rel="nofollow" href="http://creativecommons.org/licenses/by-nc/4.0/">not a licence link</a>
<span itemscope><link itemprop="license" href="https://creativecommons.org/licenses/by-nd/4.0/"></span>
</body></html>"""


def test_from_html_finds_every_markup() -> None:
    found = from_html(PAGE, "https://example.org/docs/page.html")
    assert found[:6] == [
        "https://example.org/licence.html", "CC BY 4.0", "https://creativecommons.org/licenses/by-sa/4.0/",
        "Open Government Licence v3.0", "cc0", "http://creativecommons.org/licenses/by/4.0/"]
    assert set(found[6:]) == {
        "https://creativecommons.org/licenses/by-nd/4.0/", "https://opendatacommons.org/licenses/odbl/",
        "https://creativecommons.org/publicdomain/zero/1.0/", "https://creativecommons.org/licenses/by/3.0/de/",
        "https://creativecommons.org/licenses/by/2.0/"}
    assert "http://creativecommons.org/licenses/by-nc/4.0/" not in found


@pytest.mark.parametrize(("html", "expected"), [
    ('<a rel="license" href="https://creativecommons.org/licenses/by/4.0/">x</a>',
     ["https://creativecommons.org/licenses/by/4.0/"]),
    ('<link rel="license" href="../lic">', ["https://h.example/a/lic"]),
    ('<meta name="dc.rights" content="  Public Domain ">', ["Public Domain"]),
    ('<script type="application/ld+json; charset=utf-8">[{"license": {"name": "CC0"}}]</script>', ["CC0"]),
    ('<script type="application/ld+json">' + "[" * 5000 + "]" * 5000 + "</script>", []),
    ('<a rel="license">no href</a>', []),
    ("", []),
    ("\x00\x01 garbage <<<>>>", []),
])
def test_from_html_snippets(html: str, expected: list[str]) -> None:
    assert from_html(html, "https://h.example/a/b/page") == expected


def test_from_html_statements_decide() -> None:
    html = '<html><head><meta name="DC.rights" content="All rights reserved"></head><body>' \
           '<a rel="license" href="https://creativecommons.org/licenses/by/4.0/">CC BY</a></body></html>'
    decision = decide(from_html(html, "https://h.example/"))
    assert decision.allowed and decision.spdx == "CC-BY-4.0"


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Link": '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'},
     ["https://creativecommons.org/licenses/by/4.0/"]),
    ({"link": "<https://creativecommons.org/licenses/by/4.0/>; rel=license"},
     ["https://creativecommons.org/licenses/by/4.0/"]),
    ({"Link": '</next>; rel="next", <https://creativecommons.org/publicdomain/zero/1.0/>; '
              'title="a, b; c"; rel="alternate license"'},
     ["https://creativecommons.org/publicdomain/zero/1.0/"]),
    ({"Link": '</doc.pdf>; rel="item"'}, []),
    ({"Link": "garbage, <unterminated"}, []),
    ({"Content-Type": "text/html"}, []),
    ([("Link", "</a>; rel=license"), ("Link", "</b>; rel=license")], ["/a", "/b"]),
])
def test_from_link_header(headers: object, expected: list[str]) -> None:
    assert from_link_header(headers) == expected


def test_from_link_header_reads_every_value_of_a_multidict_and_resolves() -> None:
    headers = CIMultiDict([("Link", "</one>; rel=license"), ("LINK", '</two>; rel="license"')])
    assert from_link_header(headers, "https://h.example/x/y") == ["https://h.example/one",
                                                                  "https://h.example/two"]
