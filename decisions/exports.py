"""An export of a search: every decision it finds, one a row, as CSV or JSON Lines.

Plain Python over the rows ``selectors.Export`` reads a chunk at a time: ``record`` makes the
columns of one decision (``COLUMNS``, described in ``api_schema.EXPORT_ROW``), and each format
turns a chunk of records into one piece of the body, so a response streams the pieces and
holds one chunk at a time, whatever the number of decisions.

- CSV (RFC 4180: commas, double quotes doubled, CRLF between rows, a header row), in UTF-8
  with a byte order mark: Excel, where most people open a CSV, reads a file without one as
  the Windows code page and garbles every accent and dash; Python reads it with
  ``encoding="utf-8-sig"``. A list is its values joined by "; " (a side's citations by
  " | ", see ``CITATION_COLUMNS``). A text cell that begins with = + - @, a tab or a carriage
  return is one a spreadsheet would run as a formula (OWASP's "CSV injection"): it gets an
  apostrophe in front, and so does one beginning with an apostrophe, so that taking one
  leading apostrophe off any cell gives the value back.
- JSON Lines (``application/jsonl``, one JSON object a line): the same columns, lists as
  arrays (a side's three citation lists in step, "" where a citation has no section or
  pages), unknown values null, nothing altered.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.http import QueryDict
from django.utils.text import slugify

from .models import CitingSide
from .selectors import ResultCitation, ResultRow

# The columns, in order: the CSV's header and each JSON line's keys.
COLUMNS = (
    "id",
    "letter_key",
    "case_number",
    "decision_date",
    "date_assigned",
    "ur_date",
    "request",
    "outcome",
    "treatments",
    "categories",
    "drug_generic",
    "drug_class",
    "body_regions",
    "laterality",
    "quantity",
    "maximus_guidelines",
    "maximus_sections",
    "maximus_pages",
    "claims_administrator_guidelines",
    "claims_administrator_sections",
    "claims_administrator_pages",
    "reviewer_specialties",
    "reviewer_states",
    "patient_age",
    "patient_sex",
    "date_of_injury",
    "rationale",
    "letter_url",
)


def record(row: ResultRow, url: str) -> dict:
    """The columns of one decision (``url``: its place in its letter's page), as JSON values."""
    letter = row.letter
    maximus = _side(row.citations, CitingSide.MAXIMUS)
    claims = _side(row.citations, CitingSide.CLAIMS_ADMINISTRATOR)
    return {
        "id": row.pk,
        "letter_key": letter.key,
        "case_number": letter.case_number or None,
        "decision_date": _iso(letter.decision_date),
        "date_assigned": _iso(letter.date_assigned),
        "ur_date": _iso(letter.ur_date),
        "request": row.request,
        "outcome": row.outcome,
        "treatments": [slug for slug, _ in row.treatments],
        "categories": list(dict.fromkeys(row.treatment_categories)),
        "drug_generic": row.drug_id or None,
        "drug_class": row.drug_class or None,
        "body_regions": [slug for slug, _ in row.body_regions],
        "laterality": row.laterality or None,
        "quantity": row.quantity,
        "maximus_guidelines": [c.guideline_id for c in maximus],
        "maximus_sections": [c.section for c in maximus],
        "maximus_pages": [_pages(c) for c in maximus],
        "claims_administrator_guidelines": [c.guideline_id for c in claims],
        "claims_administrator_sections": [c.section for c in claims],
        "claims_administrator_pages": [_pages(c) for c in claims],
        "reviewer_specialties": [slug for slug, _ in letter.specialties],
        "reviewer_states": [slug for slug, _ in letter.states],
        "patient_age": letter.patient_age,
        "patient_sex": letter.patient_sex or None,
        "date_of_injury": _iso(letter.date_of_injury),
        "rationale": row.rationale,
        "letter_url": url,
    }


def _side(citations: list[ResultCitation], side: str) -> list[ResultCitation]:
    return [c for c in citations if c.source == side]


def _pages(citation: ResultCitation) -> str:
    """The pages a citation names, as written: "74-96, 98"; empty when it names none."""
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in citation.named_pages())


def _iso(date: dt.date | None) -> str | None:
    return date.isoformat() if date else None


# --- the formats ----------------------------------------------------------------------------

Chunks = Iterable[list[ResultRow]]
UrlOf = Callable[[ResultRow], str]


@dataclass(frozen=True)
class Format:
    label: str
    content_type: str
    extension: str
    pieces: Callable[[Chunks, UrlOf], Iterator[bytes]]  # the body, a piece per chunk

    @property
    def media_type(self) -> str:
        """Its content type without parameters ("text/csv")."""
        return self.content_type.split(";")[0]


# A cell that a spreadsheet would take for a formula (or a DDE command) starts with one of
# these; an apostrophe is there so that the apostrophe added can always be taken off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


# The citation columns' lists are one value a citation, a side's n-th guideline going with its
# n-th section and pages: " | " between them, since a section may itself hold semicolons
# ("Chapter 5 ...; Chapter 12 Low Back Complaints"). Other lists are slugs, joined by "; ".
CITATION_COLUMNS = {
    f"{side}_{part}"
    for side in ("maximus", "claims_administrator")
    for part in ("guidelines", "sections", "pages")
}


def csv_cell(value: object, separator: str = "; ") -> object:
    """A value as a CSV cell: a list joined by ``separator``, None empty, a formula inert."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = separator.join(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Lines(list):
    """Where the csv writer writes: its lines, kept as they are (a ``StringIO`` would hold a
    chunk of text at four bytes a character)."""

    write = list.append

    def taken(self) -> bytes:
        """The lines written, encoded, and forgotten."""
        data = "".join(self).encode()
        self.clear()
        return data


def csv_pieces(chunks: Chunks, url_of: UrlOf) -> Iterator[bytes]:
    lines = _Lines()
    writer = csv.writer(lines)  # the excel dialect: RFC 4180's quoting and CRLF
    writer.writerow(COLUMNS)
    yield "\ufeff".encode() + lines.taken()
    separators = [" | " if name in CITATION_COLUMNS else "; " for name in COLUMNS]
    for rows in chunks:
        for row in rows:
            values = record(row, url_of(row)).values()
            writer.writerow([csv_cell(v, sep) for v, sep in zip(values, separators, strict=True)])
        del rows  # let go of this chunk before the next is read: one is held at a time
        yield lines.taken()


# Line breaks JSON leaves unescaped but some line readers split at (str.splitlines does).
_UNICODE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


def json_line(data: dict) -> str:
    line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _UNICODE_BREAKS.items():
        if char in line:  # only ever inside a string, where the escape means the same
            line = line.replace(char, escaped)
    return line + "\n"


def jsonl_pieces(chunks: Chunks, url_of: UrlOf) -> Iterator[bytes]:
    for rows in chunks:
        piece = "".join([json_line(record(row, url_of(row))) for row in rows]).encode()
        del rows  # as in csv_pieces
        yield piece


FORMATS = {
    "csv": Format("CSV", "text/csv; charset=utf-8", "csv", csv_pieces),
    "jsonl": Format("JSON Lines", "application/jsonl", "jsonl", jsonl_pieces),
}

# Parameters that say how to show a search, not what it finds: left out of a file's name.
_NOT_NAMING = {"sort", "page", "format", "view", "within"}


def filename(params: QueryDict, extension: str, today: dt.date) -> str:
    """``imr-decisions-<what was searched>-<today>.<extension>``, the search's values in the
    order asked (``imr-decisions-overturned-mri-2026-12-01.csv``), cut at about 60 characters.
    """
    words = slugify(" ".join(v for k, vs in params.lists() if k not in _NOT_NAMING for v in vs))
    if len(words) > 60:
        words = words[:60].rsplit("-", 1)[0]
    return "-".join(p for p in ("imr-decisions", words, today.isoformat()) if p) + f".{extension}"
