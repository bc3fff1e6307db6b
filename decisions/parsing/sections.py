"""Finding a letter's sections by their headings, and telling its layout from them.

Letters come in a few layouts, recognised by their headings (in capitals or not, alone on their
line or opening it):

- ``determination`` (2014 on): "HOW THE IMR FINAL DETERMINATION WAS MADE", "CLINICAL CASE
  SUMMARY", "IMR ISSUES, DECISIONS AND RATIONALES", each item headed "Request:  Upheld". Published
  copies may open with a header ("Case Number:", "Date Assigned:", "UR Denial Date:").
- ``documents_reviewed`` (2013-2014): the same with "DOCUMENTS REVIEWED" and "IMR DECISION(S) AND
  RATIONALE(S)"; items may be headed as above or stated as "1. X is not medically necessary".
- ``early_notice`` (2013): "Notice of Independent Medical Review Determination", each decision a
  numbered sentence ("1) MAXIMUS Federal Services, Inc. has determined the request for X is not
  medically necessary"), listed twice, then "Regarding the request for X:" with its guidelines.
- ``professional_review``: "MEDICAL PROFESSIONAL REVIEW", "ISSUE AT DISPUTE:", "CASE SUMMARY:",
  "MEDICAL TREATMENT GUIDELINE(S) RELIED UPON ...", "RATIONALE ...", "MEDICAL REVIEWER
  QUALIFICATIONS:".

Headings are found in the whitespace-flattened text's original (``FlatText.text``) and reported
in flat offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import FlatText, lower_same_length


def _words(phrase: str) -> str:
    """A heading phrase as a regex: words separated by any whitespace, '(S)' optional."""
    parts = []
    for word in phrase.lower().split():
        word = re.escape(word).replace(r"\(s\)", r"(?:\s*\(\s*s\s*\))?")
        parts.append(word)
    return r"\s+".join(parts)


# (section kind, heading phrases). Longer phrases first where one contains another.
_HEADINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "reviewer",
        (
            "HOW THE IMR FINAL DETERMINATION WAS MADE",
            "MEDICAL REVIEWER QUALIFICATIONS",
            "MEDICAL QUALIFICATIONS OF THE EXPERT REVIEWER",
            "EXPERT REVIEWER QUALIFICATIONS",
        ),
    ),
    ("documents", ("DOCUMENTS REVIEWED FOR DETERMINATION", "DOCUMENTS REVIEWED")),
    ("summary", ("CLINICAL CASE SUMMARY", "CASE SUMMARY")),
    (
        "decisions",
        (
            "IMR ISSUES, DECISIONS AND RATIONALES",
            "IMR ISSUES, DECISIONS, AND RATIONALES",
            "IMR ISSUE(S), DECISION(S) AND RATIONALE(S)",
            "IMR DECISION(S) AND RATIONALE(S)",
            "INDEPENDENT MEDICAL REVIEW DECISION(S) AND RATIONALE(S)",
        ),
    ),
    ("issue", ("ISSUE(S) AT DISPUTE", "ISSUE(S) IN DISPUTE", "DISPUTED ISSUE(S)")),
    (
        "guidelines",
        (
            "MEDICAL TREATMENT GUIDELINE(S) RELIED UPON BY PROFESSIONAL REVIEWER AND WHY",
            "MEDICAL TREATMENT GUIDELINE(S) RELIED UPON BY PROFESSIONAL REVIEWER",
            "MEDICAL TREATMENT GUIDELINE(S) RELIED UPON",
        ),
    ),
    (
        "rationale",
        (
            "RATIONALE FOR WHY THE REQUESTED TREATMENT/SERVICE IS/WAS NOT MEDICALLY NECESSARY",
            "RATIONALE FOR WHY THE REQUESTED TREATMENT/SERVICE IS/WAS MEDICALLY NECESSARY",
            "RATIONALE FOR WHY THE REQUESTED TREATMENT/SERVICE",
        ),
    ),
    ("title", ("MEDICAL PROFESSIONAL REVIEW",)),
)
_HEADING_RE = re.compile(
    r"[ \t]*(?:"
    + "|".join(
        f"(?P<{kind}{i}>{_words(p)})" for kind, phrases in _HEADINGS for i, p in enumerate(phrases)
    )
    + r")[ \t]*(?P<colon>:)?(?P<rest>[^\n]*)"
)  # matched at a line start of the lower-case text
# Finding the lines that open with a heading: anchored on the newline (a literal) and without
# groups, this is several times faster than scanning with the pattern above (the engine's cost
# per position grows with the number of groups); that one then reads the few lines found.
_HEADING_LINE = re.compile(
    r"\n[ \t]*(?=["
    + "".join(sorted({p[0].lower() for _, phrases in _HEADINGS for p in phrases}))
    + "])(?:"
    + "|".join(f"(?:{_words(p)})" for _, phrases in _HEADINGS for p in phrases)
    + ")"
)


@dataclass
class Section:
    kind: str
    heading: str
    start: int  # flat offset where the heading starts
    body_start: int  # flat offset where its text starts
    end: int  # flat offset where the next heading starts (or the text ends)


def find_sections(ft: FlatText) -> dict[str, Section]:
    """The first heading of each kind, with the flat bounds of its body."""
    hits: list[tuple[int, int, str, str]] = []
    lower = ft.text_lower
    for line_start in [0, *(m.start() + 1 for m in _HEADING_LINE.finditer(lower))]:
        m = _HEADING_RE.match(lower, line_start)
        if m is None:
            continue
        kind = next(
            re.sub(r"\d+$", "", k)
            for k, v in m.groupdict().items()
            if v is not None and k not in ("colon", "rest")
        )
        heading = ft.text[m.start() : m.end()].strip()
        head_text = heading if not m["rest"] else heading[: len(heading) - len(m["rest"])]
        alone = not m["rest"].strip()
        # Prose can say "clinical case summary" at a line start: a heading is in capitals, or
        # ends its line, or carries a colon.
        # (In a letter all in capitals, capitals running on are prose too.)
        letters = re.sub(r"[^A-Za-z]", "", head_text)
        rest = re.sub(r"[^A-Za-z]", "", m["rest"] or "")
        capitals = letters.isupper() and not (rest and rest.isupper())
        if not (capitals or alone or m["colon"]):
            continue
        body = m.end() - len(m["rest"]) if m["rest"] else m.end()
        hits.append((ft.to_flat(m.start()), ft.to_flat(body), kind, head_text))
    hits.sort()
    # a kind's heading again (the boilerplate repeating it) neither starts nor ends a section
    hits = [h for i, h in enumerate(hits) if h[2] not in {k for _, _, k, _ in hits[:i]}]
    sections: dict[str, Section] = {}
    for i, (start, body_start, kind, heading) in enumerate(hits):
        end = hits[i + 1][0] if i + 1 < len(hits) else len(ft.flat)
        if kind not in sections:
            sections[kind] = Section(kind, heading, start, max(body_start, start), max(end, start))
    return sections


def detect_layout(sections: dict[str, Section]) -> str:
    if "issue" in sections or "title" in sections:
        return "professional_review"
    if "documents" in sections:
        return "documents_reviewed"
    if "decisions" in sections and sections["decisions"].heading.lower().startswith("independent"):
        return "early_notice"  # 2013: "Notice of Independent Medical Review Determination"
    if "decisions" in sections:
        return "determination"
    return "unknown"


def is_heading(line: str) -> bool:
    """Whether a line of the letter opens with a section heading."""
    return _HEADING_RE.match(lower_same_length(line)) is not None
