"""Re-parsing stored letters after the parser or a vocabulary improved.

A stored letter is updated from a new parse of its stored text, leaving every field a person
corrected, and every row a person added, as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from django.db import models, transaction

from .. import parsing
from ..ingest import FAILED, REPARSED, IngestOutcome
from ..ingest.pool import BatchParser
from ..models import (
    CitedChapter,
    CitedPageRange,
    Correctable,
    DecisionItem,
    Determination,
    GuidelineCitation,
    year_of,
)
from .changes import letters_changed
from .keys import letter_keys_assign
from .rows import CitationRows, LetterRows
from .vocabulary import KnownTerms, vocabulary_current, vocabulary_sync
from .write import citation_children_write, items_create

LETTER_FIELDS = [
    "layout",
    "case_number",
    "decision_date",
    "date_assigned",
    "ur_date",
    "reviewer_board_certified",
    "patient_age",
    "patient_sex",
    "date_of_injury",
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
    "drug_id",
    "drug_class",
    "rationale",
    "citations_text",
    "spans",
]
CITATION_FIELDS = ["section", "section_derived", "text", "spans"]
REPARSE_FAILED = "re-parse failed, stored fields kept: "

logger = logging.getLogger(__name__)


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
    # the years follow the dates as stored (a corrected date keeps its year)
    determination.injury_year = year_of(determination.date_of_injury)
    determination.decision_year = year_of(determination.decision_date)
    letter_keys_assign([determination])  # a case number read (or corrected) names its URL
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
        outcome.status, outcome.reason = FAILED, REPARSE_FAILED + exc.reason
        return
    _reparse_write(letter, rows, terms)


def _reparse_write(letter: Determination, rows: LetterRows, terms: KnownTerms) -> None:
    terms.ensure(rows.terms())
    determination_reparse(determination=letter, rows=rows)


def letters_reparse(
    *,
    letters: Iterable[Determination],
    vocabulary: parsing.vocab.Vocabulary | None = None,
    batch_size: int = 200,
    workers: int = 0,
    batch_done: Callable[[list[Determination], list[IngestOutcome]], None] | None = None,
) -> Iterator[IngestOutcome]:
    """Re-parse stored letters (after the parser or the vocabulary improved).

    A batch at a time: its letters are parsed (in ``workers`` processes, while the previous
    batch is written), what is stored of them is read in a few queries, and only the letters the
    new parse changes are written. Most letters read the same after a parser fix, so a re-parse
    of the corpus costs little more than parsing it.

    Each batch is written in one transaction, each letter in a savepoint of it: a letter that
    cannot be re-parsed or written fails alone, with the reason, and a process killed in the
    middle of a batch leaves that batch as it was. ``batch_done(letters, outcomes)`` is called
    in the batch's transaction, so what it records (a job's progress) commits with the batch or
    not at all.
    """
    vocabulary = vocabulary or vocabulary_current()
    vocabulary_sync()
    terms = KnownTerms()
    with BatchParser(vocabulary, workers=workers) as parser:
        batches = parser.pipelined(letters, lambda letter: letter.full_text, batch_size)
        for chunk, parsed in batches:
            results = parsed()  # before the transaction: no write lock is held while parsing
            with transaction.atomic():
                outcomes = _reparse_batch(chunk, results, terms=terms)
                if batch_done is not None:
                    batch_done(chunk, outcomes)
            yield from outcomes


def stored_letters(
    *, after: int = 0, up_to: int | None = None, batch_size: int = 200
) -> Iterator[Determination]:
    """Stored letters in id order after ``after`` (to ``up_to``), read a batch at a time by
    id, so no cursor stays open across the writes made meanwhile."""
    letters = Determination.objects.order_by("pk")
    if up_to is not None:
        letters = letters.filter(pk__lte=up_to)
    while True:
        batch = list(letters.filter(pk__gt=after)[:batch_size])
        yield from batch
        if len(batch) < batch_size:
            return
        after = batch[-1].pk


def _reparse_batch(
    chunk: list[Determination], results: list, *, terms: KnownTerms
) -> list[IngestOutcome]:
    outcomes, fresh = [], []
    for letter, result in zip(chunk, results, strict=True):
        outcome = IngestOutcome(
            source_name=letter.source_name, status=REPARSED, determination_id=letter.pk
        )
        outcomes.append(outcome)
        try:
            rows = LetterRows.from_result(
                result, text=letter.full_text, source_name=letter.source_name
            )
        except parsing.ParseError as exc:
            outcome.status, outcome.reason = FAILED, REPARSE_FAILED + exc.reason
            continue
        fresh.append((letter, rows, outcome))
    stored = _StoredRows([letter.pk for letter, _, _ in fresh])
    same, changed = [], []
    for letter, rows, outcome in fresh:
        if stored.same_as(letter, rows):
            if letter.parser_version != parsing.PARSER_VERSION:
                same.append(letter.pk)
            continue
        changed.append((letter, rows, outcome))
    # Lookup rows first, outside the letters' savepoints: a letter rolled back keeps them.
    wanted: dict[str, set[str]] = {}
    for _, rows, _ in changed:
        for kind, slugs in rows.terms().items():
            wanted.setdefault(kind, set()).update(slugs)
    terms.ensure(wanted)
    for letter, rows, outcome in changed:
        try:
            determination_reparse(determination=letter, rows=rows)  # a savepoint of its own
        except Exception as exc:  # one letter the database (or a bug) refuses must not stop all
            logger.exception("re-parse of letter %s failed", letter.pk)
            outcome.status = FAILED
            outcome.reason = f"{REPARSE_FAILED}not written ({type(exc).__name__}: {exc})"
    if same:  # nothing to write but the version of the parser that read them
        Determination.objects.filter(pk__in=same).update(parser_version=parsing.PARSER_VERSION)
    return outcomes


class _StoredRows:
    """What is stored of some letters, read in a few queries, to tell whether a parse changes it."""

    def __init__(self, letter_ids: list[int]) -> None:
        through = Determination.reviewer_states.through
        self.states = _links(through, "determination_id", "state_id", letter_ids)
        through = Determination.reviewer_specialties.through
        self.specialties = _links(through, "determination_id", "specialty_id", letter_ids)
        self.items: dict[int, dict[int, DecisionItem]] = {}
        for item in DecisionItem.objects.filter(determination_id__in=letter_ids):
            self.items.setdefault(item.determination_id, {})[item.position] = item
        item_ids = [i.pk for items in self.items.values() for i in items.values()]
        self.treatments = _links(
            DecisionItem.treatments.through, "decisionitem_id", "treatment_id", item_ids
        )
        self.regions = _links(
            DecisionItem.body_regions.through, "decisionitem_id", "bodyregion_id", item_ids
        )
        self.citations: dict[int, dict[tuple[str, str], GuidelineCitation]] = {}
        for c in GuidelineCitation.objects.filter(item_id__in=item_ids):
            self.citations.setdefault(c.item_id, {})[(c.source, c.guideline_id)] = c
        citation_ids = [c.pk for cs in self.citations.values() for c in cs.values()]
        self.pages: dict[int, set] = {}
        for cid, first, last, derived in CitedPageRange.objects.filter(
            citation_id__in=citation_ids
        ).values_list("citation_id", "first_page", "last_page", "derived"):
            self.pages.setdefault(cid, set()).add((first, last, derived))
        self.chapters = _links(CitedChapter, "citation_id", "chapter", citation_ids)

    def same_as(self, letter: Determination, rows: LetterRows) -> bool:
        """Whether re-parsing ``letter`` into ``rows`` would leave every stored row as it is."""
        if _differs(letter, rows.letter, [f for f in LETTER_FIELDS if f != "parser_version"]):
            return False
        links = [
            ("reviewer_states", self.states, rows.states),
            ("reviewer_specialties", self.specialties, rows.specialties),
        ]
        if not _links_same(letter, links):
            return False
        stored_items = dict(self.items.get(letter.pk, {}))
        for entry in rows.items:
            old = stored_items.pop(entry.item.position, None)
            if old is None or not self._item_same(old, entry):
                return False
        return all(old.corrected_fields for old in stored_items.values())  # else dropped

    def _item_same(self, old: DecisionItem, entry) -> bool:
        if _differs(old, entry.item, ITEM_FIELDS):
            return False
        links = [
            ("treatments", self.treatments, entry.treatments),
            ("body_regions", self.regions, entry.body_regions),
        ]
        if not _links_same(old, links):
            return False
        stored = dict(self.citations.get(old.pk, {}))
        for c in entry.citations:
            cited = stored.pop((c.citation.source, c.citation.guideline_id), None)
            if cited is None or _differs(cited, c.citation, CITATION_FIELDS):
                return False
            if not _keep(cited, "pages") and self.pages.get(cited.pk, set()) != set(c.pages):
                return False
            chapters = set(c.chapters)
            if not _keep(cited, "chapters") and self.chapters.get(cited.pk, set()) != chapters:
                return False
        return all(cited.corrected_fields for cited in stored.values())


def _links(model, owner: str, value: str, owners: list[int]) -> dict[int, set]:
    out: dict[int, set] = {}
    for key, linked in model.objects.filter(**{f"{owner}__in": owners}).values_list(owner, value):
        out.setdefault(key, set()).add(linked)
    return out


def _links_same(row: Correctable, links: list[tuple[str, dict[int, set], list[str]]]) -> bool:
    """Whether each (field, stored links by row, new slugs) is unchanged or kept as corrected."""
    return all(
        _keep(row, name) or stored.get(row.pk, set()) == set(new) for name, stored, new in links
    )


def _differs(stored: Correctable, parsed: models.Model, names: list[str]) -> bool:
    return any(
        not _keep(stored, name) and getattr(stored, name) != getattr(parsed, name) for name in names
    )
