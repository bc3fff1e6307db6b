"""One normalising stage in front of every reader: the letter as the readers expect to see it.

Extracted text arrives in many shapes that say nothing about the letter: Windows or old Mac line
endings, form feeds and Unicode line separators, non-breaking and zero-width spaces, soft
hyphens, ligatures ("ﬁ"), curly quotes and dashes, tabs, words hyphenated across a line end
("medi-\\ncally"), a converter's bold markers and rules, garbled bullets, and page furniture:
"Page 2 of 5" or "- 2 -" footers and a running header with the case number at the top of every
page. ``Normalised(text)`` removes all of that, so the readers never see a line-ending style or
a page, and maps every offset of its text back to the original, so provenance spans stay exact.

What is kept: line breaks (as ``\\n``; readers use them to find headings), blank lines, case and
every word. A line giving only the case number stays where it is the first to give it (it may be
the letter's own title) unless it follows a page footer; further on, it is a page's running
header, and ``furniture`` keeps what was removed for a reader that wants the case number.
"""

from __future__ import annotations

import re
from bisect import bisect_right

# One character for one character, so offsets do not move: spaces and line breaks of every kind
# and garbled bullets, in the text and in what the readers take from it as written...
_WHITESPACE = str.maketrans(
    {
        "\t": " ",
        "\u00a0": " ",  # no-break space
        "\u2007": " ",
        "\u202f": " ",
        "\u3000": " ",
        **{chr(c): " " for c in range(0x2000, 0x200B)},  # en quad ... hair space
        "\u2028": "\n",
        "\u2029": "\n",
        "\x0b": "\n",
        "\x0c": "\n",  # form feed: a page break
        "\x85": "\n",
        # bullets as PDF extraction garbles them (the Symbol font's private-use glyph, cp1252's,
        # a DEL where the glyph had no text mapping)
        "\uf0b7": "\u2022",
        "\uf0a7": "\u2022",
        "\x95": "\u2022",
        "\x7f": "\u2022",
    }
)
# ...and quotes and dashes, folded only in the text the readers match (a value read is kept as
# the letter wrote it, with a curly apostrophe in "the employee\u2019s pain").
_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2212": "-",  # minus
    }
)
# Found by a class scan and replaced one by one: str.translate walks every character of a text
# with one non-ASCII character in it, which is slower when, as usual, there are few to change.
_WHITESPACE_RE = re.compile("[" + re.escape("".join(map(chr, _WHITESPACE))) + "]")
_PUNCTUATION_RE = re.compile("[" + re.escape("".join(map(chr, _PUNCTUATION))) + "]")
_ASCII_WHITESPACE = {k: v for k, v in _WHITESPACE.items() if k < 128}
_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"}

# Characters that change length: a CR (with its LF), an invisible character (a soft hyphen
# inside a line), a ligature. A soft hyphen ending a line is a hyphen (one for one). Every pattern
# here starts with a literal or a class, so the regex engine skips ahead instead of trying every
# position: this runs on every letter.
_CHARACTERS = re.compile(r"[\r\u00ad\u200b\u200c\u200d\u2060\ufeff\ufb00-\ufb04]")
# A converter's bold markers ("**CLINICAL CASE SUMMARY**", "**Request:** Upheld"): not text.
# (Underscores are not taken for markers: letters write a redacted name as "Ms. ___".)
_BOLD = re.compile(r"\*\*")
_SOFT_HYPHEN_ENDS_LINE = re.compile(r"\u00ad[ ]*[\r\n]")
# A line that is page furniture, not letter: a footer "Page 2 of 5" (always), or a header made of
# the case number and the letter's name (when the letter gave that case number above). Found from
# their page number or case number, then checked to be the whole line. Run on the lower case.
_PAGE = r"(?:page\s+\d{1,3}\s+of\s+\d{1,3}|-\s*\d{1,3}\s*-)"  # "Page 2 of 5", a centred "- 2 -"
_CASE = (
    r"(?:final\s+determination\s+letter\s*(?:for\s+)?)?(?:imr\s+)?(?:case\s+(?:number|no\.?|#)"
    r"\s*:?\s*)?(?:cm\s*\d{2}\s*-\s*\d{5,8}|imr\s+\d{2}\s*-\s*\d{5,8})"
)
_FURNITURE_LINE = re.compile(
    rf"[ *_]*(?:(?P<page>{_PAGE})|(?P<case>{_CASE}(?:[ |,-]+{_PAGE})?)"
    r"|(?P<rule>[-=_+|* ]{3,}))[ *_]*"
)  # (a converter's "*Page 2 of 3*" and its "---" rules too)
# Where furniture may be, found fast (each pattern opens with a literal): a page number...
_PAGE_OF = re.compile(r"page\s+\d")
_RULE = re.compile(r"\n[ ]*(?:---|===|\+--|\*\*\*)")
_CENTRED_PAGE = re.compile(r"\n[ ]*-[ ]*\d{1,3}[ ]*-[ ]*(?=\n|$)")
# A case number's "13-0000001" (CM13-..., IMR 13-...), found from its dash: far faster than from
# its digits in a text full of dates.
_CASE_NUMBER = re.compile(r"-(?<=[^0-9]\d\d-)(\d{5,8})(?![0-9])")
# A word hyphenated across a line end: the hyphen, the line break and any blank lines and indent
# after it, before a lower-case letter ("medi-\n\ncally" is "medically").
# A suspended hyphen ("short- and long-term": "and", then a hyphenated word) is not a broken word.
_HYPHENATED = re.compile(
    r"-(?<=[A-Za-z]{2}-)[ ]*\n(?:[ ]*\n)*[ ]*(?=[a-z]{2})(?!(?:and|or|nor|to)\s+\w+-\w)"
)

Edit = tuple[int, int, str]  # replace text[start:end] with the string


class Normalised:
    """``text`` normalised for reading, ``written`` the same but with the letter's own quotes and
    dashes (offset for offset), and ``orig(i)`` the offset in the original of offset ``i``.

    ``furniture``: the page furniture lines removed, as (line, original start, original end),
    for a reader that wants what a running header says (its case number).
    """

    __slots__ = ("_maps", "furniture", "original", "text", "written")

    def __init__(self, original: str) -> None:
        self.original = original
        # (a text all ASCII, as most are, is translated in C at a byte a step)
        if original.isascii():
            text = original.translate(_ASCII_WHITESPACE)
        else:
            text = _WHITESPACE_RE.sub(_one_for_one(_WHITESPACE), original)
        # each pass's offset map, the last pass's first: orig() walks back through them
        self._maps: list[tuple[list[int], list[int]]] = []
        self.furniture: list[tuple[str, int, int]] = []
        for edits_of in (_character_edits, _furniture_edits, _hyphen_edits):
            edits = edits_of(text)
            if edits_of is _furniture_edits:
                self.furniture = [
                    (text[a:b], self.orig(a), self.orig(b - 1) + 1) for a, b, _ in edits
                ]
            if edits:
                text, breaks = _apply(text, edits)
                self._maps.insert(0, breaks)
        self.written = text
        self.text = fold(text)

    def orig(self, i: int) -> int:
        """Original offset of normalised offset ``i`` (inside a replacement: just after it)."""
        for nbreaks, shifts in self._maps:
            i += shifts[bisect_right(nbreaks, i) - 1]
        return i

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) of the normalised slice [start, end)."""
        if end <= start:
            o = self.orig(start)
            return (o, o)
        return (self.orig(start), self.orig(end - 1) + 1)


def _apply(text: str, edits: list[Edit]) -> tuple[str, tuple[list[int], list[int]]]:
    """``text`` with the (sorted, disjoint) edits made, and the map of new offsets to old: from
    ``nbreaks[k]`` on, new offset n is old offset n + ``shifts[k]``."""
    pieces, nbreaks, shifts = [], [0], [0]
    pos = length = 0
    for start, end, repl in edits:
        pieces += (text[pos:start], repl)
        length += start - pos + len(repl)
        pos = end
        nbreaks.append(length)
        shifts.append(end - length)
    pieces.append(text[pos:])
    return "".join(pieces), (nbreaks, shifts)


def _character_edits(text: str) -> list[Edit]:
    bold = [(m.start(), m.end(), "") for m in _BOLD.finditer(text)]
    if text.isascii() and "\r" not in text:
        return bold
    out = bold
    for m in _CHARACTERS.finditer(text):
        at, c = m.start(), m.group()
        if c == "\r":
            out.append((at, at + 2 if text.startswith("\n", at + 1) else at + 1, "\n"))
        elif c in _LIGATURES:
            out.append((at, at + 1, _LIGATURES[c]))
        elif c == "\u00ad" and _SOFT_HYPHEN_ENDS_LINE.match(text, at):
            out.append((at, at + 1, "-"))
        else:
            out.append((at, at + 1, ""))
    return sorted(out)


def _hyphen_edits(text: str) -> list[Edit]:
    return [(m.start(), m.end(), "") for m in _HYPHENATED.finditer(text)]


def _one_for_one(table: dict[int, str]):
    return lambda m: table[ord(m.group())]


def fold(written: str) -> str:
    """``written`` with quotes and dashes folded; the same object where there are none."""
    if written.isascii() or not _PUNCTUATION_RE.search(written):
        return written
    return _PUNCTUATION_RE.sub(_one_for_one(_PUNCTUATION), written)


def _furniture_edits(text: str) -> list[Edit]:
    """Lines to drop: every "Page N of M" footer, and lines of a case number alone (with the
    letter's name, a page number) where the letter has given that case number above or that
    follow a page footer (the next page's running header). The line break stays, so the line
    above still ends there."""
    lower = lower_same_length(text)
    numbers = [(m.start() - 2, _case_key(lower, m)) for m in _CASE_NUMBER.finditer(lower)]
    cues = [m.start() for m in _PAGE_OF.finditer(lower)]
    cues += [m.end() - 1 for m in _CENTRED_PAGE.finditer(lower)]
    cues += [m.start() + 1 for m in _RULE.finditer(lower)]
    cues += [at for at, _ in numbers]
    first_seen: dict[str, int] = {}
    for at, number in numbers:
        first_seen.setdefault(number, at)
    lines = {}  # start -> (end, match) of each line that is furniture by its shape
    for at in cues:
        start = lower.rfind("\n", 0, at) + 1
        if start not in lines:
            end = lower.find("\n", at)
            end = len(lower) if end < 0 else end
            lines[start] = (end, _FURNITURE_LINE.fullmatch(lower, start, end))
    drops, footer_end = [], None
    for start, (end, m) in sorted(lines.items()):
        if m is None:
            continue
        if m["case"] is not None and not _PAGE_OF.search(lower, start, end):
            number = _CASE_NUMBER.search(lower, m.start("case"), m.end("case"))
            given_above = number is not None and first_seen[_case_key(lower, number)] < start
            after_footer = footer_end is not None and not lower[footer_end:start].strip()
            if not (given_above or after_footer):
                continue
        else:
            footer_end = end
        drops.append((start, end, ""))
    return drops


def _case_key(text: str, m: re.Match[str]) -> str:
    return text[m.start() - 2 : m.start()] + m[1]


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lower_same_length(s: str) -> str:
    """``s`` in lower case with every offset unchanged (a few characters lengthen in lower())."""
    lower = s.lower()
    return lower if len(lower) == len(s) else s.translate(_ASCII_LOWER)
