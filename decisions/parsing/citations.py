"""Guideline citations: which guideline, section, ACOEM chapters and pages each side relied on."""

from __future__ import annotations

import re

from .model import Citation, PageRange
from .text import FlatText
from .vocab import MTUS_FAMILY, Vocabulary

_PAGES = re.compile(
    r"(?<!\w)(?:Page\s*\(\s*s\s*\)|Pages?|pp?\.)\s*:?\s*(?:s\s+)?"
    r"(?P<list>\d{1,4}(?:\s*[-\u2013]\s*\d{1,4})?(?:\s+of\s+\d+)?"
    r"(?:\s*(?:[;,]|and|&)\s*\d{1,4}(?:\s*[-\u2013]\s*\d{1,4})?(?:\s+of\s+\d+)?)*)",
    re.I,
)
_RANGE = re.compile(r"(\d{1,4})(?:\s*[-\u2013]\s*(\d{1,4}))?(\s+of\s+\d+)?")
_CHAPTER = re.compile(r"\bChapters?\s+(\d{1,2})\b", re.I)
_NEGATED_MTUS = re.compile(
    r"(?:not\s+base\w*\s+(?:\w+\s+){0,2}decisions?\s+on|part\s+of|not\s+\w+\s+on"
    r"|\bno\s+(?:\w+\s+){0,2}(?:of|in|from)|not\s+(?:addressed|covered|found|discussed)\s+(?:in|by)"
    r"|outside(?:\s+of)?)\s+(?:the\s+)?$",
    re.I,
)
# A plain MTUS mention stands only where the decision was based on it: not in "did not base
# their decision on the MTUS", "no section of the MTUS was applicable", "Non-MTUS Official
# Disability Guidelines", "the MTUS is silent" or "the MTUS does not address the issue".
_MTUS_SILENT = re.compile(
    r"\s+(?:(?:does|did)\s+not\s+(?:address|cover|apply|discuss)|(?:is|was)\s+(?:silent"
    r"|not\s+(?:applicable|relevant)))",
    re.I,
)
_SECTION_JUNK = re.compile(
    r"\s*(?:Decision\s+based\s+on|which\s+(?:is|are)\s+(?:not\s+)?(?:a\s+)?part\s+of\s+the\s+MTUS"
    r"|\d+(?:st|nd|rd|th)\s+Edition|\(\s*\d{4}\s*\)|the\s+MTUS)\s*",
    re.I,
)
_STRIP = " \t,.;:-\u2013()"


def parse_page_list(s: str) -> list[PageRange]:
    """'s 48-9; 90; 299-301 and 308-9' -> [(48, 49), (90, 90), (299, 301), (308, 309)]."""
    out: list[PageRange] = []
    for m in _RANGE.finditer(s):
        start = int(m[1])
        end = start
        if m[2]:
            end = int(m[2])
            if end < start:  # "98-9" -> 99, "308-9" -> 309
                base = 10 ** len(m[2])
                end = start - start % base + end
                if end < start:
                    end += base
        out.append((start, end))
    return out


def _clean_section(raw: str, guideline: str) -> str | None:
    s = _SECTION_JUNK.sub(" ", raw)
    s = re.sub(r"\s+", " ", s).strip(_STRIP)
    if guideline == "non_mtus_other" or re.search(r"\(\d\)", s):
        parts = [p.strip(_STRIP) for p in re.split(r"\(\d{1,2}\)", s)]
        s = "; ".join(p for p in parts if p)
    if guideline == "mtus_acoem":
        s = re.sub(r"\s*,\s*(?=Chapter\b)", "; ", s, flags=re.I)
    return s or None


def _derive(c: Citation, vocab: Vocabulary) -> None:
    if c.guideline != "mtus_chronic_pain":
        return
    if c.section and not c.pages:
        found = vocab.matcher("mtus_section").finditer(c.section)
        if found:
            term = vocab.term("mtus_section", found[0].slug)
            if term:
                c.derived_pages = list(term.pages)
    elif c.pages and not c.section:
        best = None
        for t in vocab.terms("mtus_section"):
            if t.pages and all(any(a <= s and e <= b for a, b in t.pages) for s, e in c.pages):
                width = sum(b - a for a, b in t.pages)
                if best is None or width < best[0]:
                    best = (width, t.label)
        if best:
            c.derived_section = best[1]


def parse_citations(
    ft: FlatText, start: int, end: int, source: str, vocab: Vocabulary
) -> list[Citation]:
    """Citations in flat[start:end], the text one side (``source``) gave for its decision."""
    flat = ft.flat
    found = vocab.matcher("guideline").finditer(flat, start, end)
    if not found:
        return []
    for f in found:
        if f.slug == "none":
            return [Citation(source, "none", span=ft.span(f.start, f.end))]
    has_family = any(f.slug in MTUS_FAMILY for f in found)
    markers = [
        f
        for f in found
        if f.slug != "mtus"
        or not (
            has_family
            or _NEGATED_MTUS.search(flat, max(start, f.start - 60), f.start)
            or _MTUS_SILENT.match(flat, f.end)
            or flat[max(start, f.start - 4) : f.start].lower() in ("non-", "non ")
        )
    ]
    merged: dict[str, Citation] = {}
    for i, f in enumerate(markers):
        seg_end = markers[i + 1].start if i + 1 < len(markers) else end
        content = flat[f.end : seg_end]
        if f.slug == "non_mtus_other" and not _clean_section(content, f.slug):
            continue  # "Non-MTUS Citation" directly followed by a named guideline
        pages: list[PageRange] = []
        section_end = len(content)
        for m in _PAGES.finditer(content):
            section_end = min(section_end, m.start())
            pages.extend(parse_page_list(m["list"]))
        chapters = (
            [int(c) for c in _CHAPTER.findall(content)]
            if f.slug in ("mtus_acoem", "mtus", "mtus_postsurgical")
            else []
        )
        section = _clean_section(content[:section_end], f.slug)
        if section is None and f.slug in ("odg", "acr"):
            section = flat[f.start : f.end]
        span = ft.span(f.start, f.end + len(content.rstrip()))
        c = merged.get(f.slug)
        if c is None:
            merged[f.slug] = Citation(source, f.slug, section, chapters, pages, span=span)
            continue
        if section and section != c.section:
            c.section = f"{c.section}; {section}" if c.section else section
        c.chapters.extend(ch for ch in chapters if ch not in c.chapters)
        c.pages.extend(p for p in pages if p not in c.pages)
        c.span = (c.span[0], span[1]) if c.span else span
    for c in merged.values():
        _derive(c, vocab)
    return list(merged.values())
