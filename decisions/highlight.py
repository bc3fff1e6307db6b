"""A letter's text with each parsed field marked where it was read (the parser's spans).

Spans nest (the case summary holds the age, sex and diagnoses); each becomes a ``<mark>`` with an
id the field list links to. A span that only partly overlaps another cannot nest and is left
unmarked rather than producing broken HTML. Text is escaped; only the marks are markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

from .models import DecisionItem, Determination

BLOCKS = {"case_summary", "rationale", "diagnoses"}  # long spans, marked lightly
_DOUBLED_BREAK = re.compile(r"[ \t]*\n[ \t]*\n(?=[ \t]*\S)")
_BLANK_RUN = re.compile(r"(?:[ \t]*\n){3,}")


def _shown(text: str) -> str:
    """A stretch of letter text for reading: PDF extraction doubles every line break."""
    return escape(_BLANK_RUN.sub("\n\n", _DOUBLED_BREAK.sub("\n", text)))


@dataclass(frozen=True)
class Mark:
    field: str  # "patient.age", "items[2].request", "items[2].citations.maximus.mtus_acoem"
    start: int
    end: int

    @property
    def label(self) -> str:
        m = re.match(r"items\[(\d+)\]\.(.*)", self.field)
        name = f"item {m[1]}: {m[2]}" if m else self.field
        return name.replace(".", " ").replace("_", " ")

    @property
    def block(self) -> bool:
        return self.field.rsplit(".", 1)[-1] in BLOCKS


def _pairs(value) -> list[tuple[int, int]]:
    """A span value as stored: [start, end] or a list of them."""
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int) for v in value)
    ):
        return [(value[0], value[1])]
    if isinstance(value, list | tuple):
        return [p for v in value for p in _pairs(v)]
    return []


def letter_marks(letter: Determination, items: list[DecisionItem]) -> list[Mark]:
    marks = [Mark(key, s, e) for key, value in letter.spans.items() for s, e in _pairs(value)]
    for item in items:
        prefix = f"items[{item.position}]"
        marks += [
            Mark(f"{prefix}.{key}", s, e) for key, v in item.spans.items() for s, e in _pairs(v)
        ]
        for c in item.citations.all():
            field = f"{prefix}.citations.{c.source}.{c.guideline_id}"
            marks += [Mark(field, s, e) for s, e in _pairs(c.spans.get("citation"))]
    return marks


def highlighted_text(
    letter: Determination, items: list[DecisionItem]
) -> tuple[SafeString, dict[str, str]]:
    """The letter as HTML with its marks, and for each field the id of its first mark."""
    text = letter.full_text
    candidates = sorted(
        (m for m in letter_marks(letter, items) if 0 <= m.start < m.end <= len(text)),
        key=lambda m: (m.start, -m.end),
    )
    out: list[str] = []
    anchors: dict[str, str] = {}
    stack: list[Mark] = []
    pos = count = 0

    def close_until(limit: int) -> None:
        nonlocal pos
        while stack and stack[-1].end <= limit:
            top = stack.pop()
            out.append(_shown(text[pos : top.end]))
            out.append("</mark>")
            pos = top.end

    for mark in candidates:
        close_until(mark.start)
        if stack and mark.end > stack[-1].end:
            continue  # overlaps the open mark without nesting in it
        count += 1
        anchor = f"mark-{count}"
        anchors.setdefault(mark.field, anchor)
        out.append(_shown(text[pos : mark.start]))
        css = "field block" if mark.block else "field"
        out.append(
            f'<mark id="{anchor}" class="{css}" data-field="{escape(mark.field)}" '
            f'title="{escape(mark.label)}">'
        )
        pos = mark.start
        stack.append(mark)
    close_until(len(text))
    out.append(_shown(text[pos:]))
    return mark_safe("".join(out)), anchors  # every piece of text above is escaped
