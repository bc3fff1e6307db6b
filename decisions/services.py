"""Writing rows: every change to the decisions tables goes through a function here.

Functions are keyword-only and named ``<thing>_<action>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.utils import timezone

from . import parsing
from .models import (
    BodyRegion,
    CitedChapter,
    CitedPageRange,
    Correctable,
    Correction,
    DecisionItem,
    Determination,
    Guideline,
    GuidelineCitation,
    Specialty,
    State,
    Treatment,
)

# Sentinel in ``corrected_fields`` for a row a person created: re-parsing never removes it.
ADDED_BY_PERSON = "*"


def _plain(value: Any) -> Any:
    """A JSON-safe form of a field value, for the correction log."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.QuerySet | list | tuple | set):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _letter_of(obj: Correctable) -> Determination:
    if isinstance(obj, Determination):
        return obj
    if isinstance(obj, DecisionItem):
        return obj.determination
    if isinstance(obj, GuidelineCitation):
        return obj.item.determination
    raise TypeError(f"cannot correct a {type(obj).__name__}")


@transaction.atomic
def correction_record(
    *, obj: Correctable, changes: dict[str, tuple[Any, Any]], user=None
) -> list[Correction]:
    """Log each changed field of ``obj`` and mark it corrected so re-parsing leaves it alone.

    ``changes`` maps a field name to its (old, new) value. Fields whose value did not really
    change are skipped.
    """
    logged = []
    corrected = list(obj.corrected_fields)
    letter = _letter_of(obj)
    for name, (old, new) in changes.items():
        old, new = _plain(old), _plain(new)
        if old == new:
            continue
        logged.append(
            Correction(
                determination=letter,
                model=obj._meta.model_name,
                object_id=obj.pk,
                field=name,
                old_value=old,
                new_value=new,
                user=user,
            )
        )
        if name not in corrected:
            corrected.append(name)
    if logged:
        Correction.objects.bulk_create(logged)
        type(obj).objects.filter(pk=obj.pk).update(corrected_fields=corrected)
        obj.corrected_fields = corrected
    return logged


@transaction.atomic
def row_mark_added(*, obj: Correctable, user=None) -> None:
    """Mark a row a person created in the admin, so re-parsing never deletes it."""
    type(obj).objects.filter(pk=obj.pk).update(corrected_fields=[ADDED_BY_PERSON])
    obj.corrected_fields = [ADDED_BY_PERSON]
    Correction.objects.create(
        determination=_letter_of(obj),
        model=obj._meta.model_name,
        object_id=obj.pk,
        field=ADDED_BY_PERSON,
        old_value=None,
        new_value=str(obj),
        user=user,
    )


def injury_year_of(date: dt.date | None) -> int | None:
    """The year facet's value for a date of injury (kept beside the date so it reads an index)."""
    return date.year if date and 1900 <= date.year <= 2100 else None


@transaction.atomic
def letter_mark_reviewed(*, letter: Determination, user) -> None:
    """A person looked at the letter's parse: it leaves the review queue (and stays out)."""
    letter.reviewed_at = timezone.now()
    letter.reviewed_by = user
    letter.save(update_fields=["reviewed_at", "reviewed_by", "updated_at"])


# --- Vocabularies ---------------------------------------------------------------------------

TERM_MODELS = {
    "treatment": Treatment,
    "body_region": BodyRegion,
    "guideline": Guideline,
    "specialty": Specialty,
    "state": State,
}
TERM_KINDS = {model: kind for kind, model in TERM_MODELS.items()}


def vocabulary_sync() -> None:
    """Make sure every built-in vocabulary term has its lookup row (labels kept up to date)."""
    for kind, model in TERM_MODELS.items():
        terms = parsing.vocab.DEFAULT_VOCABULARY.terms(kind)
        model.objects.bulk_create(
            [model(slug=t.slug, label=t.label) for t in terms],
            update_conflicts=True,
            unique_fields=["slug"],
            update_fields=["label"],
        )


def vocabulary_current() -> parsing.vocab.Vocabulary:
    """The built-in vocabulary plus the aliases staff added in the admin."""
    extra = {
        kind: {term.slug: term.alias_list() for term in model.objects.exclude(extra_aliases="")}
        for kind, model in TERM_MODELS.items()
    }
    extra = {kind: aliases for kind, aliases in extra.items() if aliases}
    return (
        parsing.vocab.DEFAULT_VOCABULARY.with_extra_aliases(extra)
        if extra
        else parsing.vocab.DEFAULT_VOCABULARY
    )


def _terms_ensure(model: type[models.Model], slugs: set[str], known: set[str]) -> None:
    """Create lookup rows for slugs the parser produced that the table lacks."""
    missing = slugs - known
    if missing:
        model.objects.bulk_create(
            [model(slug=s, label=s.replace("_", " ").capitalize()) for s in sorted(missing)],
            ignore_conflicts=True,
        )
        known |= missing


# --- Ingest ---------------------------------------------------------------------------------


@dataclass
class LetterInput:
    """A letter's text and where it came from, ready to parse."""

    source_name: str
    text: str
    notes: list[str] = field(default_factory=list)


@dataclass
class IngestOutcome:
    """What happened to one input: new, unchanged, reparsed or failed (with a reason)."""

    source_name: str
    status: str
    reason: str = ""
    determination_id: int | None = None
    notes: list[str] = field(default_factory=list)


NEW, UNCHANGED, REPARSED, FAILED = "new", "unchanged", "reparsed", "failed"

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
    "spans",
]
CITATION_FIELDS = ["section", "section_derived", "text", "spans"]


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@dataclass
class _Rows:
    """The rows one parsed letter becomes, before they have primary keys."""

    letter: Determination
    states: list[str]
    specialties: list[str]
    items: list[tuple[DecisionItem, list[str], list[str], list[_CitationRows]]]


@dataclass
class _CitationRows:
    citation: GuidelineCitation
    pages: list[tuple[int, int, bool]]
    chapters: list[int]


def _letter_rows(parsed: parsing.ParsedLetter, *, text: str, source_name: str) -> _Rows:
    """Map a parsed letter to unsaved rows.

    Raises ``parsing.ParseError`` for what the database would refuse (an item with no outcome).
    """
    injury = _date(parsed.patient.date_of_injury)
    age = parsed.patient.age
    letter = Determination(
        content_hash=parsed.content_hash or parsing.content_hash(text),
        source_name=source_name[-255:],
        full_text=text,
        layout=parsed.layout or "",
        case_number=parsed.case_number or "",
        date_assigned=_date(parsed.date_assigned),
        ur_date=_date(parsed.ur_date),
        reviewer_board_certified=parsed.reviewer.board_certified,
        patient_age=age if age is not None and 0 <= age <= 120 else None,
        patient_sex=parsed.patient.sex or "",
        date_of_injury=injury,
        injury_year=injury_year_of(injury),
        diagnoses=list(parsed.diagnoses),
        case_summary=parsed.case_summary or "",
        parse_warnings=[w.to_dict() for w in parsed.warnings],
        spans=parsing.spans_json(parsed.spans),
        parser_version=parsing.PARSER_VERSION,
        needs_review=bool(parsed.warnings) or any(i.body_regions_inferred for i in parsed.items),
    )
    items = []
    for item in parsed.items:
        if item.outcome not in DecisionItem.Outcome.values:
            raise parsing.ParseError(
                f"item {item.position} ({item.request!r}) has no readable outcome"
            )
        row = DecisionItem(
            position=item.position,
            request=item.request,
            outcome=item.outcome,
            body_regions_inferred=item.body_regions_inferred,
            laterality=item.laterality or "",
            quantity=item.quantity if item.quantity and item.quantity > 0 else None,
            rationale=item.rationale or "",
            spans=parsing.spans_json(item.spans),
        )
        citations = {}
        for c in item.citations:
            key = (c.source, c.guideline)
            if key in citations:  # the parser merges these; never store two rows for one key
                continue
            citations[key] = _CitationRows(
                citation=GuidelineCitation(
                    source=c.source,
                    guideline_id=c.guideline,
                    section=(c.section or c.derived_section or "")[:500],
                    section_derived=not c.section and bool(c.derived_section),
                    text=letter.full_text[c.span[0] : c.span[1]] if c.span else "",
                    spans={"citation": list(c.span)} if c.span else {},
                ),
                pages=sorted(
                    {(a, b, False) for a, b in c.pages if 1 <= a <= b}
                    | {(a, b, True) for a, b in c.derived_pages if 1 <= a <= b}
                ),
                chapters=sorted({ch for ch in c.chapters if ch >= 1}),
            )
        items.append(
            (
                row,
                sorted(set(item.treatments)),
                sorted(set(item.body_regions)),
                list(citations.values()),
            )
        )
    return _Rows(
        letter=letter,
        states=sorted(set(parsed.reviewer.licensure_states)),
        specialties=sorted(set(parsed.reviewer.specialties)),
        items=items,
    )


class _Terms:
    """Slugs known to exist in each lookup table during one ingest run."""

    def __init__(self) -> None:
        self.known = {
            kind: set(m.objects.values_list("slug", flat=True)) for kind, m in TERM_MODELS.items()
        }

    def ensure(self, batch: list[_Rows]) -> None:
        wanted = {kind: set() for kind in TERM_MODELS}
        for rows in batch:
            wanted["state"].update(rows.states)
            wanted["specialty"].update(rows.specialties)
            for _, treatments, regions, citations in rows.items:
                wanted["treatment"].update(treatments)
                wanted["body_region"].update(regions)
                wanted["guideline"].update(c.citation.guideline_id for c in citations)
        for kind, slugs in wanted.items():
            _terms_ensure(TERM_MODELS[kind], slugs, self.known[kind])


def _copy(table: str, columns: list[str], rows: list[tuple]) -> None:
    """PostgreSQL COPY of rows into ``table``; its errors surface as Django's database errors."""
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _leaf_insert(model: type[models.Model], attnames: list[str], rows: list[tuple]) -> None:
    """Insert rows nothing needs a key back from (links, pages, chapters).

    On PostgreSQL through COPY, which skips building a model instance and quoting every value in
    Python for each of the ten-odd such rows a letter has; elsewhere with ``bulk_create``.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(attnames, row, strict=True))) for row in rows])
        return
    columns = {f.attname: f.column for f in model._meta.concrete_fields}
    _copy(model._meta.db_table, [columns[name] for name in attnames], rows)


def _keyed_insert(model: type[models.Model], objs: list[models.Model]) -> None:
    """Insert new rows and give each its primary key (the rows below them need it).

    On PostgreSQL the keys are drawn from the table's sequence and the rows go by COPY, as in
    ``_leaf_insert`` (Django's bulk insert would send a letter's text through Python quoting);
    elsewhere ``bulk_create``, which reads the keys back.
    """
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    opts = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(objs)],
        )
        keys = [key for (key,) in cursor.fetchall()]
    fields = opts.concrete_fields
    rows = []
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        rows.append(
            tuple(f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields)
        )
    _copy(opts.db_table, [f.column for f in fields], rows)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


def _children_write(batch: list[_Rows]) -> None:
    """Write everything below the letters of ``batch`` (whose letters already have keys)."""
    _leaf_insert(
        Determination.reviewer_states.through,
        ["determination_id", "state_id"],
        [(r.letter.pk, s) for r in batch for s in r.states],
    )
    _leaf_insert(
        Determination.reviewer_specialties.through,
        ["determination_id", "specialty_id"],
        [(r.letter.pk, s) for r in batch for s in r.specialties],
    )
    items = []
    for rows in batch:
        for item, _, _, _ in rows.items:
            item.determination_id = rows.letter.pk
            items.append(item)
    _keyed_insert(DecisionItem, items)
    entries = [entry for rows in batch for entry in rows.items]
    _item_children_write(entries)


def _item_children_write(entries) -> None:
    """Treatments, regions, citations, pages and chapters of items that have keys."""
    _leaf_insert(
        DecisionItem.treatments.through,
        ["decisionitem_id", "treatment_id"],
        [(i.pk, t) for i, ts, _, _ in entries for t in ts],
    )
    _leaf_insert(
        DecisionItem.body_regions.through,
        ["decisionitem_id", "bodyregion_id"],
        [(i.pk, r) for i, _, rs, _ in entries for r in rs],
    )
    citations = []
    for item, _, _, cits in entries:
        for c in cits:
            c.citation.item_id = item.pk
            citations.append(c)
    _citation_children_write(citations, create=True)


def _citation_children_write(citations: list[_CitationRows], *, create: bool) -> None:
    if create:
        _keyed_insert(GuidelineCitation, [c.citation for c in citations])
    _leaf_insert(
        CitedPageRange,
        ["citation_id", "first_page", "last_page", "derived"],
        [(c.citation.pk, a, b, d) for c in citations for a, b, d in c.pages],
    )
    _leaf_insert(
        CitedChapter,
        ["citation_id", "chapter"],
        [(c.citation.pk, ch) for c in citations for ch in c.chapters],
    )


@transaction.atomic
def _letters_create(batch: list[_Rows]) -> None:
    _keyed_insert(Determination, [rows.letter for rows in batch])
    _children_write(batch)


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
def determination_reparse(*, determination: Determination, rows: _Rows) -> None:
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
    for new_item, treatments, regions, citations in rows.items:
        old = stored.pop(new_item.position, None)
        if old is None:
            new_item.determination_id = determination.pk
            new_item.save()
            new_entries.append((new_item, treatments, regions, citations))
            continue
        _copy_parsed(into=old, parsed=new_item, names=ITEM_FIELDS)
        old.save()
        if not _keep(old, "treatments"):
            old.treatments.set(treatments)
        if not _keep(old, "body_regions"):
            old.body_regions.set(regions)
        _citations_reparse(old, citations)
    _item_children_write(new_entries)
    _drop_untouched(stored.values())


def _citations_reparse(item: DecisionItem, citations: list[_CitationRows]) -> None:
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
    _citation_children_write(fresh, create=False)
    _drop_untouched(stored.values())


def letters_ingest(
    *,
    letters: Iterable[LetterInput | IngestOutcome],
    reparse: bool = False,
    batch_size: int = 200,
    vocabulary: parsing.vocab.Vocabulary | None = None,
    workers: int = 0,
) -> Iterator[IngestOutcome]:
    """Parse and store letters, yielding what happened to each, in input order.

    A letter already stored (same content hash) is left unchanged, or re-parsed with
    ``reparse``. New letters are written a batch at a time in one transaction; should the
    database refuse a batch, its letters are written one transaction each, so a letter is either
    wholly stored, with all its items and citations, or not at all. An ``IngestOutcome`` in
    ``letters`` (an input that could not even be read) is passed through as it is.

    With ``workers``, that many processes parse the next batch while this one writes the
    current one; at most two batches are in memory at a time.
    """
    vocabulary = vocabulary or vocabulary_current()
    vocabulary_sync()
    terms = _Terms()
    with parsing.BatchParser(vocabulary, workers=workers) as parser:
        pending = None
        for chunk in _chunks(letters, batch_size):
            texts = [letter.text if isinstance(letter, LetterInput) else None for letter in chunk]
            parsed = parser.submit(texts)
            if pending is not None:
                yield from _batch_ingest(
                    *pending, reparse=reparse, vocabulary=vocabulary, terms=terms
                )
            pending = (chunk, parsed)
        if pending is not None:
            yield from _batch_ingest(*pending, reparse=reparse, vocabulary=vocabulary, terms=terms)


def _chunks(iterable: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for element in iterable:
        chunk.append(element)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _batch_ingest(chunk, results, *, reparse, vocabulary, terms) -> Iterator[IngestOutcome]:
    """Store one batch; ``results()`` gives its parses (or ParseErrors), in the chunk's order."""
    outcomes: list[IngestOutcome] = []
    parsed: list[tuple[IngestOutcome, _Rows]] = []
    for letter, result in zip(chunk, results(), strict=True):
        if isinstance(letter, IngestOutcome):
            outcomes.append(letter)
            continue
        outcome = IngestOutcome(source_name=letter.source_name, status=NEW, notes=letter.notes)
        outcomes.append(outcome)
        try:
            if isinstance(result, parsing.ParseError):
                raise result
            rows = _letter_rows(result, text=letter.text, source_name=letter.source_name)
        except parsing.ParseError as exc:
            outcome.status, outcome.reason = FAILED, exc.reason
            continue
        parsed.append((outcome, rows))

    stored = dict(
        Determination.objects.filter(
            content_hash__in={rows.letter.content_hash for _, rows in parsed}
        ).values_list("content_hash", "pk")
    )
    letters = Determination.objects.in_bulk(stored.values()) if reparse else {}
    fresh: dict[str, tuple[IngestOutcome, _Rows]] = {}
    for outcome, rows in parsed:
        key = rows.letter.content_hash
        if key in stored:
            outcome.determination_id = stored[key]
            outcome.status = REPARSED if reparse else UNCHANGED
            if reparse:
                letter = letters[stored[key]]
                # The batch's parse serves when the stored text is this very text (spans index
                # the stored text, so a copy differing in whitespace is parsed again).
                same = rows if rows.letter.full_text == letter.full_text else None
                _stored_reparse(letter, vocabulary, outcome, terms, rows=same)
        elif key in fresh:  # the same letter twice in one batch (a PDF and its text file)
            outcome.status = UNCHANGED
        else:
            fresh[key] = (outcome, rows)

    if fresh:
        batch = [rows for _, rows in fresh.values()]
        terms.ensure(batch)
        try:
            _letters_create(batch)
        except DatabaseError:
            _letters_create_one_by_one(fresh.values())
        for outcome, rows in fresh.values():
            if outcome.status == NEW:
                outcome.determination_id = rows.letter.pk
    yield from outcomes


def _stored_reparse(
    letter: Determination, vocabulary, outcome: IngestOutcome, terms, rows: _Rows | None = None
) -> None:
    """Re-parse a stored letter from its stored text (its spans index that text).

    ``rows``: that text already parsed, when the caller has it.
    """
    try:
        if rows is None:
            result = parsing.parse_letter(letter.full_text, vocabulary)
            rows = _letter_rows(result, text=letter.full_text, source_name=letter.source_name)
    except parsing.ParseError as exc:
        outcome.status, outcome.reason = (
            FAILED,
            f"re-parse failed, stored fields kept: {exc.reason}",
        )
        return
    terms.ensure([rows])
    determination_reparse(determination=letter, rows=rows)


def letters_reparse(
    *, letters: Iterable[Determination], vocabulary: parsing.vocab.Vocabulary | None = None
) -> Iterator[IngestOutcome]:
    """Re-parse stored letters (after the parser or the vocabulary improved)."""
    vocabulary = vocabulary or vocabulary_current()
    vocabulary_sync()
    terms = _Terms()
    for letter in letters:
        outcome = IngestOutcome(
            source_name=letter.source_name, status=REPARSED, determination_id=letter.pk
        )
        _stored_reparse(letter, vocabulary, outcome, terms)
        yield outcome


def _letters_create_one_by_one(entries) -> None:
    """Fallback when a batch is refused: each letter in its own transaction."""
    for outcome, rows in entries:
        _rows_reset(rows)
        try:
            _letters_create([rows])
        except IntegrityError:
            if Determination.objects.filter(content_hash=rows.letter.content_hash).exists():
                outcome.status = UNCHANGED  # stored meanwhile by a concurrent ingest
            else:
                outcome.status, outcome.reason = FAILED, "the database refused the letter"
        except DatabaseError as exc:
            outcome.status, outcome.reason = FAILED, f"the database refused the letter: {exc}"


def _rows_reset(rows: _Rows) -> None:
    """Forget keys given by a rolled-back insert, so the rows can be inserted again."""
    rows.letter.pk = None
    for item, _, _, citations in rows.items:
        item.pk = None
        for c in citations:
            c.citation.pk = None
