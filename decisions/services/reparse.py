"""Re-parsing stored letters after the parser or a vocabulary improved.

A stored letter is updated from a new parse of its stored text, leaving every field a person
corrected, and every row a person added, as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db import models, transaction

from .. import parsing
from ..ingest import FAILED, REPARSED, IngestOutcome
from ..models import Correctable, DecisionItem, Determination
from .changes import letters_changed
from .rows import CitationRows, LetterRows
from .vocabulary import KnownTerms, vocabulary_current, vocabulary_sync
from .write import citation_children_write, items_create

LETTER_FIELDS = [
    "layout",
    "case_number",
    "date_assigned",
    "ur_date",
    "reviewer_board_certified",
    "patient_age",
    "patient_sex",
    "date_of_injury",
    "injury_year",
    "diagnoses",
    "case_summary",
    "parse_warnings",
    "spans",
    "parser_version",
    "needs_review",
]
ITEM_FIELDS = [
    "request",
    "outcome",
    "body_regions_inferred",
    "laterality",
    "quantity",
    "rationale",
    "citations_text",
    "spans",
]
CITATION_FIELDS = ["section", "section_derived", "text", "spans"]


def _keep(row: Correctable, name: str) -> bool:
    """True when a person corrected this field, so re-parsing must leave it."""
    return name in row.corrected_fields


def _copy_parsed(*, into: Correctable, parsed: models.Model, names: list[str]) -> None:
    """Copy the freshly parsed fields onto a stored row, except those a person corrected."""
    for name in names:
        if not _keep(into, name):
            setattr(into, name, getattr(parsed, name))


def _drop_untouched(rows) -> None:
    """Delete stored rows a new parse no longer yields, unless a person corrected or added them."""
    for row in rows:
        if not row.corrected_fields:
            row.delete()


@transaction.atomic
def determination_reparse(*, determination: Determination, rows: LetterRows) -> None:
    """Update a stored letter from a new parse, leaving every corrected field as it is.

    Items are matched by position and citations by (source, guideline). Parsed rows the new
    parse no longer yields are removed; rows a person corrected or added are kept.
    """
    _copy_parsed(into=determination, parsed=rows.letter, names=LETTER_FIELDS)
    determination.save()
    if not _keep(determination, "reviewer_states"):
        determination.reviewer_states.set(rows.states)
    if not _keep(determination, "reviewer_specialties"):
        determination.reviewer_specialties.set(rows.specialties)

    stored = {item.position: item for item in determination.items.all()}
    new_entries = []
    for entry in rows.items:
        old = stored.pop(entry.item.position, None)
        if old is None:
            entry.item.determination_id = determination.pk
            new_entries.append(entry)
            continue
        _copy_parsed(into=old, parsed=entry.item, names=ITEM_FIELDS)
        old.save()
        if not _keep(old, "treatments"):
            old.treatments.set(entry.treatments)
        if not _keep(old, "body_regions"):
            old.body_regions.set(entry.body_regions)
        _citations_reparse(old, entry.citations)
    items_create(new_entries)
    _drop_untouched(stored.values())
    letters_changed(letters=[determination.pk])


def _citations_reparse(item: DecisionItem, citations: list[CitationRows]) -> None:
    stored = {(c.source, c.guideline_id): c for c in item.citations.all()}
    fresh = []
    for rows in citations:
        new = rows.citation
        old = stored.pop((new.source, new.guideline_id), None)
        if old is None:
            new.item_id = item.pk
            new.save()
            fresh.append(rows)
            continue
        _copy_parsed(into=old, parsed=new, names=CITATION_FIELDS)
        old.save()
        if not _keep(old, "pages"):
            old.page_ranges.all().delete()
        else:
            rows.pages = []
        if not _keep(old, "chapters"):
            old.chapters.all().delete()
        else:
            rows.chapters = []
        rows.citation = old
        fresh.append(rows)
    citation_children_write(fresh, create=False)
    _drop_untouched(stored.values())


def stored_reparse(
    letter: Determination,
    vocabulary: parsing.vocab.Vocabulary,
    outcome: IngestOutcome,
    terms: KnownTerms,
    rows: LetterRows | None = None,
) -> None:
    """Re-parse a stored letter from its stored text (its spans index that text).

    ``rows``: that text already parsed, when the caller has it.
    """
    try:
        if rows is None:
            result = parsing.parse_letter(letter.full_text, vocabulary)
            rows = LetterRows.from_parsed(
                result, text=letter.full_text, source_name=letter.source_name
            )
    except parsing.ParseError as exc:
        outcome.status, outcome.reason = (
            FAILED,
            f"re-parse failed, stored fields kept: {exc.reason}",
        )
        return
    terms.ensure(rows.terms())
    determination_reparse(determination=letter, rows=rows)


def letters_reparse(
    *, letters: Iterable[Determination], vocabulary: parsing.vocab.Vocabulary | None = None
) -> Iterator[IngestOutcome]:
    """Re-parse stored letters (after the parser or the vocabulary improved)."""
    vocabulary = vocabulary or vocabulary_current()
    vocabulary_sync()
    terms = KnownTerms()
    for letter in letters:
        outcome = IngestOutcome(
            source_name=letter.source_name, status=REPARSED, determination_id=letter.pk
        )
        stored_reparse(letter, vocabulary, outcome, terms)
        yield outcome
