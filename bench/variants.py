"""The ways extracted letter text differs from one extraction to the next, as transformations.

Each transformation takes a letter's text and a ``random.Random`` and returns the same letter as
another extraction might have given it: other line endings, another wrapping width, page breaks
with a running header and footer, headings in another case, more blank lines, stray spaces and
tabs, words hyphenated across a line end, typographic characters. A letter must parse the same
after any of them and after any combination (the invariance tests in
``decisions/tests/test_invariance.py``); ``bench/parse_bench.py`` times the parser on them.
"""

from __future__ import annotations

import random
import re
import textwrap
from collections.abc import Callable

Transform = Callable[[str, random.Random], str]

_OUTCOME_LINE = re.compile(r":\s*(?:upheld|overturned)\s*\.?\s*$", re.I)
_CASE = re.compile(r"\b(?:CM\d{2}-\d{7}|IMR\s+\d{2}-\d{6})\b")
# Page furniture already in a letter: a line of its own wherever the text is wrapped again.
_PAGE = r"(?:Page\s+\d+\s+of\s+\d+|-\s*\d+\s*-)"
_FURNITURE = re.compile(
    rf"\s*(?:{_PAGE}|(?:Final Determination Letter for )?(?:IMR )?(?:Case Number:? )?"
    rf"(?:CM\d{{2}}-\d{{7}}|IMR\s+\d{{2}}-\d{{6}})(?:\s+{_PAGE})?)\s*",
    re.I,
)


def crlf(text: str, rng: random.Random) -> str:
    """Windows line endings."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def cr(text: str, rng: random.Random) -> str:
    """Old Mac line endings."""
    return text.replace("\r\n", "\n").replace("\n", "\r")


def _paragraphs(text: str) -> tuple[list[list[str]], list[int], int]:
    """The letter's paragraphs (each its lines), the blank lines after each, and the letter's
    usual number of blank lines between two lines of one paragraph (0, or 1 in text extracted
    with a blank line after every line)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    content: list[tuple[str, int]] = []  # (line, blank lines after it)
    for line in lines:
        if line.strip():
            content.append((line, 0))
        elif content:
            content[-1] = (content[-1][0], content[-1][1] + 1)
    if not content:
        return [], [], 0
    gaps = [g for _, g in content[:-1]]
    usual = max(set(gaps), key=gaps.count) if gaps else 0
    lengths = sorted(len(line.strip()) for line, _ in content)
    width = lengths[int(len(lengths) * 0.9)]  # the letter's wrapping width, about
    paragraphs: list[list[str]] = [[]]
    after: list[int] = []
    for n, (line, gap) in enumerate(content):
        # headings, page furniture and a table's rows keep their own lines
        alone = _is_heading(line) or _FURNITURE.fullmatch(line) is not None or " | " in line
        if alone and paragraphs[-1]:  # a heading starts a paragraph...
            after.append(usual)
            paragraphs.append([])
        paragraphs[-1].append(line)
        # ...and ends it; so does a line the next line's first word would have fitted on
        following = content[n + 1][0].split() if n + 1 < len(content) else []
        fits = bool(following) and len(line.strip()) + 1 + len(following[0]) <= width
        if gap > usual or alone or fits:
            after.append(gap)
            paragraphs.append([])
    if not paragraphs[-1]:
        paragraphs.pop()
    else:
        after.append(0)
    return paragraphs, after, usual


def _joined(lines: list[str]) -> str:
    """A paragraph's lines as one, a word the letter hyphenated at a line end whole again."""
    out = ""
    for line in (line.strip() for line in lines):
        if re.search(r"[A-Za-z]{2}-$", out) and re.match(r"[a-z]{2}", line):
            out = out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return out


def rewrap(text: str, rng: random.Random, width: int | None = None) -> str:
    """Every paragraph, item headings included, wrapped again at one width from 40 to 140."""
    width = width or rng.randint(40, 140)
    paragraphs, after, usual = _paragraphs(text)
    out = []
    for lines, gap in zip(paragraphs, after, strict=True):
        words = _joined(lines)
        if _FURNITURE.fullmatch(words) or " | " in words:  # furniture, a table row: one line
            wrapped = [words]
        else:
            wrapped = textwrap.wrap(words, width, break_long_words=False, break_on_hyphens=False)
        wrapped = wrapped or [""]
        out.append(("\n" * (usual + 1)).join(wrapped) + "\n" * (gap + 1))
    return "".join(out)


def page_breaks(text: str, rng: random.Random) -> str:
    """Page breaks between lines, each with a footer "Page k of n", a form feed or not, and,
    where the letter has a case number, a running header with it (also atop the first page)."""
    lines = text.split("\n")
    case = _CASE.search(text)
    header = case and rng.choice(
        [
            f"Final Determination Letter for IMR Case Number {case.group()}",
            f"IMR Case Number: {case.group()}",
            case.group(),
        ]
    )
    breaks = sorted(rng.sample(range(1, len(lines)), min(len(lines) - 1, rng.randint(1, 4))))
    pages = len(breaks) + 1
    feed = rng.choice(["\f", ""])
    out = [header, ""] if header else []
    start = 0
    for page, at in enumerate(breaks, start=1):
        out += lines[start:at]
        out += ["", f"Page {page} of {pages}", feed + (header or ""), ""]
        start = at
    out += lines[start:]
    out += ["", f"Page {pages} of {pages}"]
    return "\n".join(out)


def _is_heading(line: str) -> bool:
    """A section heading ("CLINICAL CASE SUMMARY", "Case Summary:") or an item heading."""
    s = line.strip()
    return bool(s) and (
        _OUTCOME_LINE.search(s) is not None
        or (s.isupper() and len(s) < 90 and len(s.split()) > 1)
        or (s.endswith(":") and len(s) <= 40 and all(w[:1].isupper() for w in s.split()))
    )


def heading_case(text: str, rng: random.Random) -> str:
    """Section headings in capitals and item headings upper-cased or title-cased."""
    how = rng.choice([str.upper, str.title])
    lines = [line for line in text.split("\n") if line.strip()]
    # in a letter written in capitals, a line in capitals is not a heading
    capitals = sum(line.isupper() for line in lines) > len(lines) / 2

    def is_heading(line: str) -> bool:
        s = line.strip()
        return _OUTCOME_LINE.search(s) is not None or (
            not capitals and s.isupper() and len(s) < 90 and len(s.split()) > 1
        )

    return "\n".join(how(line) if is_heading(line) else line for line in text.split("\n"))


def blank_lines(text: str, rng: random.Random) -> str:
    """Some line breaks doubled or tripled."""
    return re.sub(r"\n", lambda m: "\n" * rng.choice([1, 1, 2, 3]), text)


def stray_spaces(text: str, rng: random.Random) -> str:
    """Leading and trailing spaces on lines, tabs for spaces, runs of spaces."""

    def line(s: str) -> str:
        s = re.sub(r" ", lambda m: rng.choice([" ", " ", " ", "\t", "  ", " \t "]), s)
        return " " * rng.randint(0, 3) + s + rng.choice(["", " ", "  ", "\t"])

    return "\n".join(line(s) for s in text.split("\n"))


_WORD = re.compile(r"(?<![\w-])[a-z]{3,}[a-z]{3,}(?![\w-])")


def hyphenate(text: str, rng: random.Random) -> str:
    """A few words broken across a line end with a hyphen ("medi-" / "cally")."""
    words = list(_WORD.finditer(text))
    if not words:
        return text
    out, pos = [], 0
    for m in sorted(rng.sample(words, min(len(words), rng.randint(1, 6))), key=lambda m: m.start()):
        cut = rng.randint(m.start() + 3, m.end() - 3)
        out += [text[pos:cut], rng.choice(["-\n", "-\n\n", "- \n", "\u00ad\n"])]
        pos = cut
    out.append(text[pos:])
    return "".join(out)


_TYPOGRAPHY = {
    " ": ["\u00a0"],
    "fi": ["\ufb01"],
    "fl": ["\ufb02"],
}


def typography(text: str, rng: random.Random) -> str:
    """Non-breaking spaces, ligatures, zero-width spaces and soft hyphens inside words."""

    def sub(m: re.Match[str]) -> str:
        s = m.group()
        if rng.random() < 0.15:
            return rng.choice(_TYPOGRAPHY[s])
        return s

    text = re.sub(r"fi|fl|(?<=\w) (?=\w)", sub, text)
    return re.sub(
        r"(?<=[a-z])(?=[a-z])",
        lambda m: rng.choice(["\u200b", "\u00ad"]) if rng.random() < 0.003 else "",
        text,
    )


def as_pdf(text: str) -> bytes:
    """The letter as a PDF of its lines (Helvetica 9 pt, 66 lines a page, long lines cut at the
    page width), made with reportlab as ``shared/letters-pdf`` was; reportlab is a test tool."""
    import io

    from reportlab.lib.pagesizes import letter as page_size
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    width, height = page_size
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=page_size)
    pdf.setFont("Helvetica", 9)
    y = height - 50
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        for piece in textwrap.wrap(line, 200, break_on_hyphens=False) or [""]:
            while stringWidth(piece, "Helvetica", 9) > width - 100:  # cut at the margin
                cut = piece.rfind(" ", 0, len(piece) - 1)
                if cut <= 0:
                    break
                pdf.drawString(50, y, piece[:cut])
                piece, y = piece[cut + 1 :], y - 11
            pdf.drawString(50, y, piece)
            y -= 11
            if y < 50:
                pdf.showPage()
                pdf.setFont("Helvetica", 9)
                y = height - 50
    pdf.save()
    return out.getvalue()


TRANSFORMS: dict[str, Transform] = {
    "crlf": crlf,
    "cr": cr,
    "rewrap": rewrap,
    "page_breaks": page_breaks,
    "heading_case": heading_case,
    "blank_lines": blank_lines,
    "stray_spaces": stray_spaces,
    "hyphenate": hyphenate,
    "typography": typography,
}
# The order of a combination: rewrapping first (it knows a heading by its case), line endings
# last.
_ORDER = [name for name in TRANSFORMS if name not in ("crlf", "cr")]


def combined(text: str, rng: random.Random, k: int | None = None) -> str:
    """A random combination of the transformations, applied in a sensible order."""
    names = rng.sample(_ORDER, k or rng.randint(2, len(_ORDER)))
    for name in _ORDER:
        if name in names:
            text = TRANSFORMS[name](text, rng)
    ending = rng.choice([None, crlf, cr])
    return ending(text, rng) if ending else text
