"""Licence precedence on web pages, and licence statements in prose, table-driven.

Each case is a page (its head and body), and the decision the gate must reach from what the page
says about itself: media-level statements (figures, captions, image credits, embedded media, JSON-LD
of an ImageObject) never decide the page; page-level ones (head links, rel=license anywhere else,
meta, JSON-LD of the page's entity, licence sentences in the footer, back matter or a copyright
section, in English, German, French, Spanish and Portuguese) do; sentences in captions, sidebars or
the article's running text do not; when page-level statements disagree the most restrictive decides
and the decision notes it; "all rights reserved" yields to any licence."""

from __future__ import annotations

import pytest

from mirror.licenses import decide, from_html

BASE = "https://example.org/articles/page.html"
BY = "https://creativecommons.org/licenses/by/4.0/"
BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"
BY_NC = "https://creativecommons.org/licenses/by-nc/4.0/"


def page(head: str = "", body: str = "", footer: str = "") -> str:
    foot = f"<footer>{footer}</footer>" if footer else ""
    return (f"<!doctype html><html><head><title>T</title>{head}</head><body><main><article><h1>T</h1>"
            f"<p>Some text of the article.</p>{body}</article></main>{foot}</body></html>")


def figure(caption: str) -> str:
    return f"<figure><img src='/p.jpg' alt=''><figcaption>{caption}</figcaption></figure>"


def link(url: str) -> str:
    return f"<link rel='license' href='{url}'>"


def ld(data: str) -> str:
    return f"<script type='application/ld+json'>{data}</script>"


OK, NC, ND, ARR, NONE = "ok", "non-commercial", "no-derivatives", "all-rights-reserved", "no-license"

CASES = [
    # ---- markup: media never decides the page ---------------------------------------------------
    ("figure-link-vs-head-nc", page(link(BY_NC), figure(f"Photo: A. B., <a rel='license' href='{BY_SA}'>CC BY-SA</a>")),
     NC, "CC-BY-NC-4.0", False),
    ("photo-credit-only", page(body=figure(f"<a rel='license' href='{BY_SA}'>CC BY-SA 4.0</a>")), NONE, None, False),
    ("wp-caption", page(body=f"<div class='wp-caption'><img src='x.jpg'><p class='wp-caption-text'>"
                            f"<a rel='license' href='{BY}'>CC BY</a></p></div>"), NONE, None, False),
    ("mediawiki-thumbcaption", page(link(BY_SA), f"<div class='thumb tright'><div class='thumbinner'>"
                                                  f"<div class='thumbcaption'><a rel='license' href='{BY_NC}'>"
                                                  f"BY-NC</a></div></div></div>"), OK, "CC-BY-SA-4.0", False),
    ("image-credit-span", page(body=f"<p>Intro <span class='image-credit'>Image: <a rel='license' "
                                    f"href='{BY}'>CC BY</a></span></p>"), NONE, None, False),
    ("video-embed", page(link(BY_NC), f"<video src='v.mp4'><a rel='license' href='{BY}'>CC BY</a></video>"),
     NC, "CC-BY-NC-4.0", False),
    ("jsonld-imageobject", page(ld('{"@context":"https://schema.org","@graph":[{"@type":"Article","license":"'
                                   + BY_NC + '"},{"@type":"ImageObject","license":"' + BY + '"}]}')),
     NC, "CC-BY-NC-4.0", False),
    ("jsonld-image-property", page(ld('{"@type":"BlogPosting","image":{"@type":"ImageObject","url":"x.jpg",'
                                      '"license":"' + BY + '"}}')), NONE, None, False),
    ("microdata-imageobject", page(body=f"<div itemscope itemtype='https://schema.org/ImageObject'>"
                                        f"<link itemprop='license' href='{BY}'></div>"), NONE, None, False),
    ("rdfa-about-photo", page(body=f"<div about='#photo1'><a rel='license' href='{BY}'>CC BY</a></div>"),
     NONE, None, False),
    ("caption-nc-head-by", page(link(BY), figure(f"<a rel='license' href='{BY_NC}'>CC BY-NC</a>")),
     OK, "CC-BY-4.0", False),
    ("sidebar-badge-is-the-sites", page(body=f"<aside class='sidebar'><a rel='license' href='{BY}'>"
                                             f"<img src='88x31.png'></a></aside>"), OK, "CC-BY-4.0", False),
    # ---- page-level statements that disagree: the most restrictive decides, and says so -----------
    ("footer-link-vs-dc-rights", page("<meta name='DC.rights' content='CC BY-NC 4.0'>",
                                      footer=f"<a rel='license' href='{BY}'>CC BY</a>"), NC, "CC-BY-NC-4.0", True),
    ("head-by-footer-by-sa", page(link(BY), footer=f"<a rel='license' href='{BY_SA}'>CC BY-SA</a>"),
     OK, "CC-BY-SA-4.0", True),
    ("footer-prose-nc-vs-head-by", page(link(BY), footer="<p>All content is licensed under CC BY-NC-SA 4.0.</p>"),
     NC, "CC-BY-NC-SA-4.0", True),
    # ---- English prose ----------------------------------------------------------------------------
    ("en-plos-articleinfo", page(body="<div class='articleinfo'><p><strong>Copyright:</strong> © 2020 Smith et al. "
                                      "This is an open access article distributed under the terms of the Creative "
                                      "Commons Attribution License, which permits unrestricted use.</p></div>"),
     OK, "CC-BY-4.0", False),
    ("en-wikipedia-footer", page(footer="<ul><li id='footer-info-copyright'>Text is available under the "
                                        "Creative Commons Attribution-ShareAlike 4.0 License; additional terms "
                                        "may apply.</li></ul>"),
     OK, "CC-BY-SA-4.0", False),
    ("en-footer-linked-name", page(footer=f"<p>Except where otherwise noted, content on this site is licensed "
                                          f"under a <a href='{BY}'>Creative Commons Attribution 4.0 "
                                          "International license</a>.</p>"),
     OK, "CC-BY-4.0", False),
    ("en-footer-arr-only", page(footer="<p>© 2024 Example Press. All rights reserved.</p>"), ARR,
     "LicenseRef-All-Rights-Reserved", False),
    ("en-footer-arr-yields", page(link(BY), footer="<p>© 2024 Example Press. All rights reserved.</p>"),
     OK, "CC-BY-4.0", False),
    ("en-running-text-is-not-a-statement", page(body="<p>This post is licensed under CC BY-NC 4.0, they say.</p>"),
     NONE, None, False),
    ("en-sidebar-prose-ignored", page(body="<aside>All posts here are licensed under CC BY-NC 4.0.</aside>",
                                      footer="<p>Content licensed under CC BY 4.0.</p>"), OK, "CC-BY-4.0", False),
    ("en-caption-prose-vs-footer", page(body=figure("Image licensed under CC BY-SA 4.0"),
                                        footer="<p>Text licensed under CC BY-NC-ND 4.0.</p>"),
     NC, "CC-BY-NC-ND-4.0", False),
    ("en-licence-box-media-sentence", page(body="<div class='license'>Photos: CC BY-NC 4.0. Text: CC BY 4.0.</div>"),
     OK, "CC-BY-4.0", False),
    ("en-images-subject", page(footer="<p>Images on this site are licensed under CC BY-NC 4.0.</p>"),
     NONE, None, False),
    ("en-heading-section", page(body="<h2>License</h2><p>This work is licensed under CC BY-SA 4.0.</p>"),
     OK, "CC-BY-SA-4.0", False),
    ("en-footer-no-licence", page(footer="<p>We love Creative Commons! Powered by WordPress.</p>"),
     NONE, None, False),
    # ---- German -----------------------------------------------------------------------------------
    ("de-footer-short", page(footer="<p>Die Inhalte stehen unter der Lizenz CC BY-NC-SA 4.0.</p>"),
     NC, "CC-BY-NC-SA-4.0", False),
    ("de-footer-long", page(footer="<p>Dieses Werk ist lizenziert unter einer Creative Commons Namensnennung 4.0 "
                                   "International Lizenz.</p>"), OK, "CC-BY-4.0", False),
    ("de-heading-lizenz", page(body="<h3>Lizenz</h3><p>Namensnennung - Weitergabe unter gleichen Bedingungen 4.0 "
                                    "International</p>"), OK, "CC-BY-SA-4.0", False),
    ("de-arr", page(footer="<p>© 2024 Verlag. Alle Rechte vorbehalten.</p>"), ARR,
     "LicenseRef-All-Rights-Reserved", False),
    ("de-bildunterschrift", page(body=figure("Foto: X, Lizenz: CC BY-SA 4.0"),
                                 footer="<p>Texte stehen unter CC BY-NC 4.0.</p>"), NC, "CC-BY-NC-4.0", False),
    ("de-gemeinfrei", page(footer="<p>Dieses Werk ist gemeinfrei.</p>"), OK, "LicenseRef-PublicDomain", False),
    ("de-nc-nd-long", page(body="<div class='copyright'>Creative Commons Namensnennung - Nicht kommerziell - "
                                "Keine Bearbeitungen 4.0 International</div>"), NC, "CC-BY-NC-ND-4.0", False),
    # ---- French -----------------------------------------------------------------------------------
    ("fr-footer-long-nc-sa", page(footer="<p>Ce document est mis à disposition selon les termes de la Licence "
                                         "Creative Commons Attribution - Pas d’Utilisation Commerciale - Partage "
                                         "dans les Mêmes Conditions 4.0 International.</p>"),
     NC, "CC-BY-NC-SA-4.0", False),
    ("fr-footer-short", page(footer="<p>Contenu sous licence CC BY 4.0</p>"), OK, "CC-BY-4.0", False),
    ("fr-arr-yields", page(link(BY), footer="<p>Tous droits réservés</p>"), OK, "CC-BY-4.0", False),
    ("fr-legende-only", page(body=figure("Photo sous licence CC BY-SA")), NONE, None, False),
    ("fr-droits-box-nd", page(body="<div class='droits'>Licence : Creative Commons Attribution - Pas de "
                                   "Modification 4.0 International</div>"), ND, "CC-BY-ND-4.0", False),
    ("fr-footer-disagrees", page(f"<meta name='dcterms.license' content='{BY}'>",
                                 footer="<p>Publié sous licence CC BY-NC 4.0.</p>"), NC, "CC-BY-NC-4.0", True),
    # ---- Spanish ----------------------------------------------------------------------------------
    ("es-footer-long-nc-sa", page(footer="<p>Esta obra está bajo una licencia de Creative Commons "
                                         "Reconocimiento-NoComercial-CompartirIgual 4.0 Internacional.</p>"),
     NC, "CC-BY-NC-SA-4.0", False),
    ("es-footer-short", page(footer="<p>Contenido publicado bajo licencia CC BY 4.0</p>"), OK, "CC-BY-4.0", False),
    ("es-heading-licencia", page(body="<h2>Licencia</h2><p>Atribución 4.0 Internacional (CC BY 4.0)</p>"),
     OK, "CC-BY-4.0", False),
    ("es-arr", page(footer="<p>Todos los derechos reservados.</p>"), ARR, "LicenseRef-All-Rights-Reserved", False),
    ("es-sidebar-widget", page(body="<div class='widget'>Este blog está bajo una licencia CC BY-NC 4.0</div>",
                               footer=f"<a rel='license' href='{BY}'>CC BY</a>"), OK, "CC-BY-4.0", False),
    ("es-sin-derivadas", page(footer="<p>Obra bajo licencia Creative Commons Atribución-SinDerivadas 4.0.</p>"),
     ND, "CC-BY-ND-4.0", False),
    # ---- Portuguese -------------------------------------------------------------------------------
    ("pt-footer-long", page(footer="<p>Este trabalho está licenciado sob uma Licença Creative Commons Atribuição "
                                   "4.0 Internacional.</p>"), OK, "CC-BY-4.0", False),
    ("pt-footer-nc-nd", page(footer="<p>Esta obra está licenciada com uma Licença Creative Commons "
                                    "Atribuição-NãoComercial-SemDerivações 4.0 Internacional.</p>"),
     NC, "CC-BY-NC-ND-4.0", False),
    ("pt-arr-yields", page("<meta name='DC.rights' content='CC BY-SA 4.0'>",
                           footer="<p>Todos os direitos reservados</p>"), OK, "CC-BY-SA-4.0", False),
    ("pt-legenda-vs-head", page(link(BY_NC), figure(f"Imagem: <a rel='license' href='{BY_SA}'>CC BY-SA</a>")),
     NC, "CC-BY-NC-4.0", False),
    ("pt-licenca-box", page(body="<div class='licenca'>Conteúdo sob licença CC BY-SA 4.0</div>"),
     OK, "CC-BY-SA-4.0", False),
    ("pt-compartilha-igual", page(footer="<p>Licenciado sob Creative Commons Atribuição-CompartilhaIgual 4.0.</p>"),
     OK, "CC-BY-SA-4.0", False),
]


@pytest.mark.parametrize(("html", "verdict", "spdx", "noted"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_page_decides_its_licence(html: str, verdict: str, spdx: str | None, noted: bool) -> None:
    decision = decide(from_html(html, BASE))
    assert (decision.allowed, decision.spdx) == (verdict == OK, spdx), from_html(html, BASE)
    assert decision.reason == (None if verdict == OK else verdict)
    assert (decision.note is not None) is noted, decision.note


def test_there_are_enough_cases_in_every_language() -> None:
    assert len(CASES) >= 40
    for prefix in ("en-", "de-", "fr-", "es-", "pt-"):
        assert sum(1 for c in CASES if c[0].startswith(prefix)) >= 5, prefix


def test_a_disagreement_names_both_licences_and_the_decider() -> None:
    html = page(link(BY), footer="<p>Contenu sous licence CC BY-NC 4.0.</p>")
    note = decide(from_html(html, BASE)).note
    assert note == "licence statements disagree (CC-BY-4.0, CC-BY-NC-4.0): the most restrictive, CC-BY-NC-4.0, decides"


def test_a_prose_statement_keeps_the_sentence_and_its_licence_link() -> None:
    html = page(footer=f"<p>© 2024 X. Content is available under <a href='../l/by'>a licence</a> and "
                       f"<a href='{BY}'>CC BY 4.0</a>. Design by Y.</p>")
    prose = [s for s in from_html(html, BASE) if s.startswith("Content")]
    assert prose == [f"Content is available under a licence and CC BY 4.0. {BY}"]


def test_a_huge_page_wrapper_is_not_read_as_a_section() -> None:
    rows = "".join(f"<div><p>Row {i} under CC BY-NC 4.0 licence.</p></div>" for i in range(1200))
    html = (f"<html><body><div class='copyright-2024'>{rows}</div>"
            "<footer>Licensed under CC BY 4.0.</footer></body></html>")
    assert decide(from_html(html, BASE)).spdx == "CC-BY-4.0"
