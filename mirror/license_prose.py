"""Licence statements written as prose on a web page, read only where a page states its own terms.

Journals, encyclopedias and blogs often name the licence in a sentence, with or without a link:
"This is an open access article distributed under the terms of the Creative Commons Attribution
License", "Text is available under the Creative Commons Attribution-ShareAlike 4.0 License", "Die
Inhalte stehen unter der Lizenz CC BY-NC-SA 4.0", "Ce document est mis à disposition selon les termes
de la Licence Creative Commons Attribution 4.0 International", "Esta obra está bajo una licencia
Creative Commons Atribución 4.0", "Este trabalho está licenciado sob uma Licença Creative Commons
Atribuição 4.0". Such a sentence is a statement only in a *page-level section*:

- a ``<footer>`` (the page's or its article's) or ``role="contentinfo"``;
- an element whose class or id names the page's terms: footer, copyright, license/licence, rights,
  permissions (JATS back matter as PMC renders it), colophon, backmatter;
- the section under a heading that names them ("License", "Copyright", "Rights", "Lizenz",
  "Urheberrecht", "Droits d'auteur", "Licencia", "Derechos de autor", "Licença", "Direitos autorais"...);
- a paragraph labelled as such ("Copyright: ...", "Lizenz: ...", "Licence : ...").

Never in media or page furniture (``mirror.license_context``: captions, credits, sidebars,
navigation), and never a sentence whose subject is media ("Photos: CC BY-NC", "Images on this site
are licensed under ..."). In a generic footer a sentence must use licensing words ("licensed under",
"steht unter", "sous licence", "bajo una licencia", "sob a licença", "all rights reserved"...) or link
a licence; in a section about the terms any sentence naming a licence counts. The statement is the
sentence, followed by the licence URLs it links to (the URL decides when the reader knows it).
"""

from __future__ import annotations

import re
from typing import Any, Iterator
from urllib.parse import urljoin

from mirror.license_context import class_words, in_furniture, in_media
from mirror.license_names import normalize

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = frozenset({"p", "li", "dd", "dt", "td", "th", "div", "address", "section", "article", "footer",
                     "blockquote", "header", "main", "ul", "ol", "dl", "table", "tr", "tbody", "form"})
_TERMS_WORDS = frozenset({"copyright", "license", "licence", "licensing", "licenses", "rights", "permissions",
                          "colophon", "backmatter", "lizenz", "licencia", "licenca", "droits", "derechos",
                          "direitos", "urheberrecht"})
_TERMS = (r"copyright|licen[cs]e|licensing|rights(?:\s+and\s+permissions)?|terms\s+of\s+(?:re)?use|re-?use"
          r"|lizenz|lizenzen|urheberrecht|nutzungsrechte|nutzungsbedingungen|rechte|licence|droits(?:\s+d.auteur)?"
          r"|licencia|derechos(?:\s+de\s+autor)?|licen[çc]a|direitos(?:\s+autorais|\s+de\s+autor)?"
          r"|licenza|diritti")
_HEADING = re.compile(r"^\W*(?:" + _TERMS + r")(?:\s*(?:&|and|und|et|y|e)\s*(?:" + _TERMS + r"))?\W*$", re.I)
_LABEL = re.compile(r"^\W*(?:" + _TERMS + r")\s*:", re.I)
_TRIGGER = re.compile(
    r"licen[cs]ed|lizenziert|licenciad|licenziat|\bunder\s+(?:the\s+terms|a\b|an\b|the\b|cc\b|creative)"
    r"|available\s+under|released\s+under|distributed\s+under|published\s+under|steht\s+unter|stehen\s+unter"
    r"|unter\s+(?:der|einer|den)\b|sous\s+(?:la\s+|une\s+)?licence|selon\s+les\s+termes|bajo\s+(?:la|una|los)?\s*"
    r"(?:licencia|t[ée]rminos)|sob\s+(?:a|uma|os)?\s*(?:licen[çc]a|termos)|rights\s+reserved|rechte\s+vorbehalten"
    r"|droits\s+r[ée]serv|derechos\s+reservados|direitos\s+reservados|diritti\s+riservati|public\s+domain"
    r"|gemeinfrei|domaine\s+public|dominio\s+p[úu]blico|dom[íi]nio\s+p[úu]blico|\blicen[cs]e\s*:|lizenz\s*:"
    r"|licencia\s*:|licen[çc]a\s*:", re.I)
_NAMING = re.compile(r"creative\s*commons|\bcc[\s-]?(?:by|0|zero)|public\s+domain|gemeinfrei|domaine\s+public"
                     r"|dom[íi]nio|dominio|rights\s+reserved|rechte\s+vorbehalten|droits\s+r[ée]serv"
                     r"|derechos\s+reservados|direitos\s+reservados|\bodbl\b|open\s+(?:database|government)"
                     r"|licen[cs]|lizenz|licen[çc]a|licenza|https?://", re.I)
_MEDIA = re.compile(r"\b(?:photo|image|picture|pic|logo|icon|illustration|video|foto|bild|abbildung|grafik"
                    r"|imagen|imagem|ilustra|figur|figure|cover)\w*", re.I)
_WORK = re.compile(r"\b(?:text|content|article|work|site|page|website|material|document|data|publication|book"
                   r"|inhalt|werk|artikel|daten|buch|seite|texte|contenu|[oœ]euvre|donn[ée]es|livre|contenido"
                   r"|obra|datos|libro|conte[úu]do|artigo|dados|livro|trabalho|sitio|p[áa]gina)\w*", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[^\s\d])")
MAX_BLOCK = 4000            # characters of one block read
MAX_SECTION = 2000          # elements in one section: larger is a page-wide wrapper, not a section


def prose_statements(root: Any, base_url: str) -> list[str]:
    """The licence statements written in the page-level sections of the page ROOT."""
    found: list[str] = []
    for block, strict in _blocks(root, base_url):
        for sentence, links in _sentences(block, base_url):
            if _states_licence(sentence, links, strict):
                found.append(" ".join([sentence, *links]))
    return list(dict.fromkeys(found))


def _blocks(root: Any, base_url: str) -> Iterator[tuple[Any, bool]]:
    """(block, strict) for each text block of a page-level section, in document order; a block
    is strict (it needs licensing words or a licence link) when every section it is in is a
    generic footer, and not when one of them is about the terms."""
    strictness: dict[Any, bool] = {}
    for section, strict in _sections(root):
        if in_media(section, base_url) or in_furniture(section):
            continue
        for block in _leaf_blocks(section):
            strictness[block] = strictness.get(block, True) and strict and not _LABEL.match(_lead(block))
    for block, strict in strictness.items():
        if not in_media(block, base_url) and not in_furniture(block):
            yield block, strict


def _sections(root: Any) -> Iterator[tuple[Any, bool]]:
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        words = set(class_words(el)) if el.get("class") or el.get("id") else set()
        if tag in _HEADINGS:
            if _HEADING.match(_first_text(el)):
                yield from ((sibling, False) for sibling in _section_after(el))
        elif not words.isdisjoint(_TERMS_WORDS):
            yield el, False
        elif tag == "footer" or "footer" in words or (el.get("role") or "").lower() == "contentinfo":
            yield el, True
        elif tag in ("p", "li", "dd") and _LABEL.match(_first_text(el)):
            yield el, False


def _first_text(el: Any) -> str:
    """EL's own first text, or its first child's (``<p><strong>Copyright:</strong> ...``)."""
    text = (el.text or "").strip()
    if not text and len(el) and isinstance(el[0].tag, str):
        text = (el[0].text or "").strip()
    return text[:80]


def _section_after(heading: Any) -> Iterator[Any]:
    for sibling in heading.itersiblings():
        if not isinstance(sibling.tag, str):
            continue
        if sibling.tag in _HEADINGS:
            return
        yield sibling


def _leaf_blocks(section: Any) -> list[Any]:
    """The blocks of SECTION that hold no other block (the section itself when it has none); none
    for a section too large to be one (a class word on a page-wide wrapper)."""
    elements = [d for d in section.iter() if isinstance(d.tag, str)]
    if len(elements) > MAX_SECTION:
        return []
    outer: set[Any] = set()                 # blocks with a block inside
    for el in reversed(elements):
        if el.tag in _BLOCKS or el in outer:
            parent = el.getparent()
            while parent is not None and parent not in outer:
                outer.add(parent)
                if parent is section:
                    break
                parent = parent.getparent()
    blocks = [d for d in elements if d.tag in _BLOCKS and d not in outer and d is not section]
    return blocks or [section]


def _lead(el: Any, size: int = 80) -> str:
    """The first SIZE characters of EL's text, whitespace collapsed (without reading the rest)."""
    taken: list[str] = []
    for piece in el.itertext():
        taken.append(piece)
        if sum(map(len, taken)) >= size:
            break
    return " ".join("".join(taken).split())[:size]


def _pieces(el: Any, href: str | None = None) -> Iterator[tuple[str, str | None]]:
    """The text of EL in document order, each piece with the link it is the text of."""
    if el.tag == "a" and el.get("href"):
        href = el.get("href")
    if isinstance(el.tag, str) and el.tag in ("script", "style"):
        return
    if el.text:
        yield el.text, href
    for child in el:
        if isinstance(child.tag, str):
            yield from _pieces(child, href)
        if child.tail:
            yield child.tail, href


def _sentences(block: Any, base_url: str) -> Iterator[tuple[str, list[str]]]:
    """Each sentence of BLOCK, with the licence URLs linked from it."""
    text, links = "", []
    for piece, href in _pieces(block):
        if href:
            links.append((len(text), len(text) + len(piece), href))
        text += piece
        if len(text) > MAX_BLOCK:
            break
    start = 0
    for end in [m.start() for m in _SENTENCE_END.finditer(text)] + [len(text)]:
        sentence = " ".join(text[start:end].split())
        urls = [urljoin(base_url, h.strip()) for s, e, h in links if s < end and e > start]
        if sentence:
            yield sentence, list(dict.fromkeys(u for u in urls if normalize(u)))
        start = end


def _states_licence(sentence: str, links: list[str], strict: bool) -> bool:
    if strict and not links and not _TRIGGER.search(sentence):
        return False
    named = _NAMING.search(sentence)
    subject = sentence[: named.start()] if named else ""
    media, work = _MEDIA.search(subject), _WORK.search(subject)
    if media and (work is None or media.start() < work.start()):
        return False                     # "Photos: ...", "Images on this site are licensed ..."
    return bool(links) or normalize(sentence) is not None
