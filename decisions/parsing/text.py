"""Text helpers: whitespace-flattened view with offsets back to the original, dates, numbers."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from bisect import bisect_right
from itertools import accumulate

from .normalise import Normalised, fold, lower_same_length

# Runs that the flat view turns into one space: whitespace other than a lone space. The pattern
# starts with ``\s`` so the regex engine can skip ahead to whitespace instead of trying every
# position.
_COLLAPSE = re.compile(r"\s(?:(?<=[^ ])|(?=\s))\s*")


def normalise_text(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    return " ".join(text.split())  # str.split() splits on exactly what \s matches, in C


def content_hash(text: str) -> str:
    """sha256 hex digest of ``normalise_text(text)``: the same letter from PDF or text agrees."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


class FlatText:
    """The letter normalised (``normalise.Normalised``: line endings, invisible characters, page
    furniture...) as ``text``, and with its whitespace runs collapsed as ``flat``.

    Parsing runs on ``flat`` (so doubled line breaks and page breaks never split a phrase);
    ``span()`` turns a flat (start, end) into the (start, end) of the original letter, and
    ``text_span()`` into those of ``text``.

    ``lower`` (and ``text_lower``) are the same texts in lower case, offset for offset: a
    case-sensitive pattern with a literal start scans them far faster than a case-insensitive
    one scans the original, which matters for patterns run over whole sections.
    """

    __slots__ = (
        "_fbreaks",
        "_norm",
        "_obreaks",
        "_shifts",
        "flat",
        "flat_written",
        "lower",
        "original",
        "text",
        "text_lower",
    )

    def __init__(self, original: str) -> None:
        self.original = original
        self._norm = Normalised(original)
        self.text = text = self._norm.text
        lead = len(text) - len(text.lstrip())
        end = len(text.rstrip())
        core = text[lead:end]
        runs = [m.span() for m in _COLLAPSE.finditer(core)]
        # flat with the letter's own quotes and dashes (values as written), and flat for the
        # readers: the same offset for offset, quotes and dashes folded. ``text`` and
        # ``written`` have their whitespace in the same places, so one scan serves both.
        written = self._norm.written[lead:end]
        starts = [0, *(e for _, e in runs)]
        stops = [*(s for s, _ in runs), len(written)]
        self.flat_written = " ".join([written[a:b] for a, b in zip(starts, stops, strict=True)])
        self.flat = self.flat_written if self._norm.written is text else fold(self.flat_written)
        # Each collapsed run of length n shifts the rest of the text by n - 1. The tables hold,
        # for every stretch between runs, where it starts in the flat text and in the original
        # and the shift between the two (built with C-level iteration: this runs per letter).
        shifts = [lead, *(lead + r for r in accumulate(e - s - 1 for s, e in runs))]
        self._obreaks = [lead, *(lead + e for _, e in runs)]
        self._fbreaks = [o - sh for o, sh in zip(self._obreaks, shifts, strict=True)]
        self._shifts = shifts
        self.lower = lower_same_length(self.flat)
        self.text_lower = lower_same_length(text)

    def orig(self, f: int) -> int:
        """Offset in ``text`` of flat offset ``f`` (a collapsed space maps to its run's start)."""
        i = bisect_right(self._fbreaks, f) - 1
        return f + self._shifts[i]

    def written(self, value: str, start: int, end: int) -> str:
        """``value``, read from ``flat[start:end]``, as the letter wrote it (its own quotes and
        dashes)."""
        if self.flat_written is self.flat or not value:
            return value
        i = self.flat.find(value, start, end)
        return value if i < 0 else self.flat_written[i : i + len(value)]

    @property
    def furniture(self) -> list[tuple[str, int, int]]:
        """The page furniture lines the normaliser removed, with their original spans."""
        return self._norm.furniture

    def text_span(self, start: int, end: int) -> tuple[int, int]:
        """(start, end) in ``text`` of the flat slice [start, end)."""
        if end <= start:
            o = self.orig(start)
            return (o, o)
        return (self.orig(start), self.orig(end - 1) + 1)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """(start, end) in the original letter of the flat slice [start, end)."""
        return self._norm.span(*self.text_span(start, end))

    def to_flat(self, o: int) -> int:
        """Flat offset of original offset ``o`` (inside a collapsed run: the run's space)."""
        i = bisect_right(self._obreaks, o) - 1
        f = o - self._shifts[i]
        if i + 1 < len(self._fbreaks):
            f = min(f, self._fbreaks[i + 1] - 1)
        return max(0, min(f, len(self.flat)))


# ----------------------------------------------------------------------------------- dates

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
DATE_RE = (
    r"(?:\d{1,2}\s*[/-]\s*\d{1,2}\s*[/-]\s*(?:\d{4}|\d{2})(?!\d)"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4})"
)
_NUMERIC_DATE = re.compile(r"(\d{1,2})\s*[/-]\s*(\d{1,2})\s*[/-]\s*(\d{4}|\d{2})")
_WORD_DATE = re.compile(r"([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})", re.I)


def parse_date(s: str) -> str | None:
    """ISO date of "3/21/2011", "03/27/10" (-> 2010) or "January 7, 2015"; None if invalid."""
    m = _NUMERIC_DATE.fullmatch(s.strip())
    if m:
        month, day, year = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _WORD_DATE.fullmatch(s.strip())
        if not m or m[1].lower() not in _MONTHS:
            return None
        month, day, year = _MONTHS[m[1].lower()], int(m[2]), int(m[3])
    if year < 100:
        year += 2000 if year < 50 else 1900
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


# --------------------------------------------------------------------------------- numbers

NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "eighteen": 18,
    "twenty": 20,
    "twenty-four": 24,
    "thirty": 30,
    "sixty": 60,
    "ninety": 90,
    "once": 1,
    "twice": 2,
    "single": 1,
}
NUMBER_RE = (
    r"(?:\d{1,3}|twenty-four|"
    + "|".join(sorted((w for w in NUMBER_WORDS if w != "twenty-four"), key=len, reverse=True))
    + ")"
)


def to_int(s: str) -> int | None:
    """Integer of "12" or "Five"."""
    s = s.strip().lower()
    if s.isdecimal():  # "12" (or in another script, as int reads it); not "²", which isdigit takes
        return int(s)
    return NUMBER_WORDS.get(s)
