"""Ingest: parse letters and store each wholly (items, citations, pages) or not at all."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection

from .. import parsing
from ..ingest import FAILED, NEW, REPARSED, UNCHANGED, IngestOutcome, LetterInput
from ..ingest.pool import BatchParser
from ..models import Determination
from .keys import letter_keys_assign
from .originals import original_better, original_discard, original_store, original_wanted
from .reparse import stored_reparse
from .rows import LetterRows
from .vocabulary import KnownTerms, vocabulary_current, vocabulary_sync
from .write import letters_create

logger = logging.getLogger(__name__)


class IngestStopped(DatabaseError):
    """The database connection was lost twice over one batch: the ingest stops there. Every
    letter stored before is whole; running the same command again stores the rest."""


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

    Should the connection to the database be lost during a batch (the server restarted, the
    network cut), that is logged and the batch is written again, once, on a new connection;
    lost again, ``IngestStopped`` is raised after the outcomes of the batches before.

    With ``workers``, that many processes parse the next batch while this one writes the
    current one; at most two batches are in memory at a time.
    """
    vocabulary = vocabulary or vocabulary_current()
    vocabulary_sync()
    terms = KnownTerms()
    with BatchParser(vocabulary, workers=workers) as parser:
        batches = parser.pipelined(letters, _text_of, batch_size)
        for chunk, parsed in batches:
            yield from _batch_ingest(
                chunk, parsed, reparse=reparse, vocabulary=vocabulary, terms=terms
            )


def _text_of(letter: LetterInput | IngestOutcome) -> str | None:
    return letter.text if isinstance(letter, LetterInput) else None  # an outcome: nothing to parse


def _batch_ingest(chunk, results, *, reparse, vocabulary, terms) -> Iterator[IngestOutcome]:
    """Store one batch; ``results()`` gives its parses (or ParseErrors), in the chunk's order.

    A batch whose connection is lost is written again from the start (what it finds stored
    then, it counts as unchanged): outcomes are only yielded once the batch is done.
    """
    outcomes, parsed = _batch_parse(chunk, results)
    store = {"reparse": reparse, "vocabulary": vocabulary, "terms": terms}
    lost = _batch_attempt(parsed, store)
    if lost is not None:
        if connection.in_atomic_block:
            raise lost  # a caller's transaction is gone with its connection: not ours to redo
        logger.warning(
            "database connection lost during a batch of %d letters (%s); "
            "reconnecting and retrying the batch",
            len(parsed),
            _first_line(lost),
        )
        _outcomes_reset(parsed)
        connection.close()  # the next query opens a new one
        again = _batch_attempt(parsed, store)
        if again is not None:
            connection.close()
            first = parsed[0][2].source_name if parsed else "?"
            raise IngestStopped(
                f"the database connection was lost again retrying the batch of {len(parsed)} "
                f"letters from {first} ({_first_line(again)}); stopped there. Every letter "
                "stored is whole: run the same command again to store the rest."
            ) from again
    yield from outcomes


def _batch_attempt(parsed, store) -> DatabaseError | None:
    """Write a batch once: the error if the connection was lost meanwhile; others raise."""
    try:
        connection.ensure_connection()
    except (OperationalError, InterfaceError) as exc:  # no server to reconnect to
        return exc
    raw = connection.connection
    try:
        _batch_store(parsed, raw=raw, **store)
    except DatabaseError as exc:
        if _connection_lost(exc, raw):
            return exc
        raise
    return None


def _connection_lost(exc: DatabaseError, raw) -> bool:
    """Whether ``exc`` came with the loss of the connection ``raw`` (rather than a refusal,
    such as a full disk or a deadlock, after which the connection still serves).

    A transaction whose connection is cut cannot be rolled back: Django then drops the
    connection and, leaving the block, opens another without a word. So a connection other
    than ``raw`` is a lost one too.
    """
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    if connection.connection is not raw:
        return True
    try:
        raw.cursor().execute("SELECT 1")
    except connection.Database.Error:
        return True
    return False


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _outcomes_reset(parsed) -> None:
    """Forget what a batch's lost attempt did, so it can be written again from the start."""
    for outcome, rows, letter in parsed:
        outcome.status, outcome.reason, outcome.determination_id = NEW, "", None
        outcome.notes = list(letter.notes)
        rows.reset_keys()


def _batch_parse(chunk, results):
    """The batch's outcomes (in input order), and its parsed letters with theirs."""
    outcomes: list[IngestOutcome] = []
    parsed: list[tuple[IngestOutcome, LetterRows, LetterInput]] = []
    for letter, result in zip(chunk, results(), strict=True):
        if isinstance(letter, IngestOutcome):
            outcomes.append(letter)
            continue
        outcome = IngestOutcome(source_name=letter.source_name, status=NEW, notes=letter.notes)
        outcomes.append(outcome)
        try:
            rows = LetterRows.from_result(result, text=letter.text, source_name=letter.source_name)
        except parsing.ParseError as exc:
            outcome.status, outcome.reason = FAILED, exc.reason
            continue
        parsed.append((outcome, rows, letter))
    return outcomes, parsed


def _batch_store(parsed, *, raw, reparse, vocabulary, terms) -> None:
    """Write a batch's parsed letters, setting each one's outcome."""
    stored = dict(
        Determination.objects.filter(
            content_hash__in={rows.letter.content_hash for _, rows, _ in parsed}
        ).values_list("content_hash", "pk")
    )
    letters = (
        Determination.objects
        if reparse
        else Determination.objects.only("content_hash", "original", "original_name")
    ).in_bulk(stored.values())
    fresh: dict[str, tuple[IngestOutcome, LetterRows]] = {}
    given: dict[str, LetterInput] = {}  # each new letter's original: its PDF where there is one
    for outcome, rows, letter_input in parsed:
        key = rows.letter.content_hash
        if key in stored:
            outcome.determination_id = stored[key]
            outcome.status = REPARSED if reparse else UNCHANGED
            letter = letters[stored[key]]
            if reparse:
                # The batch's parse serves when the stored text is this very text (spans index
                # the stored text, so a copy differing in whitespace is parsed again).
                same = rows if rows.letter.full_text == letter.full_text else None
                stored_reparse(letter, vocabulary, outcome, terms, rows=same)
            if original_wanted(letter, letter_input):
                _original_attach(letter, letter_input, outcome)
            continue
        if key in fresh:  # the same letter twice in one batch (a PDF and its text file)
            outcome.status = UNCHANGED
        else:
            fresh[key] = (outcome, rows)
        if key not in given or original_better(letter_input, given[key]):
            given[key] = letter_input

    for key, (outcome, rows) in list(fresh.items()):
        try:
            if given[key].data is not None:
                original_store(rows.letter, given[key])
        except OSError as exc:
            outcome.status, outcome.reason = FAILED, f"its file could not be stored ({exc})"
            del fresh[key]

    if fresh:
        batch = [rows for _, rows in fresh.values()]
        letter_keys_assign([rows.letter for rows in batch])
        wanted: dict[str, set[str]] = {}
        for rows in batch:
            for kind, slugs in rows.terms().items():
                wanted.setdefault(kind, set()).update(slugs)
        terms.ensure(wanted)
        try:
            letters_create(batch)
        except DatabaseError as exc:
            if _connection_lost(exc, raw):
                raise
            _letters_create_one_by_one(fresh.values(), raw)
        for outcome, rows in fresh.values():
            if outcome.status == NEW:
                outcome.determination_id = rows.letter.pk
            elif outcome.status == FAILED:  # stored meanwhile by another ingest: its file now
                original_discard(rows.letter)


def _original_attach(letter: Determination, given: LetterInput, outcome: IngestOutcome) -> None:
    """Keep the file of a letter already stored (its PDF, where the text came first)."""
    try:
        original_store(letter, given)
    except OSError as exc:
        outcome.notes.append(f"its file could not be stored ({exc})")
        return
    Determination.objects.filter(pk=letter.pk).update(
        original=letter.original.name, original_name=letter.original_name
    )


def _letters_create_one_by_one(entries, raw) -> None:
    """Fallback when a batch is refused: each letter in its own transaction."""
    for outcome, rows in entries:
        rows.reset_keys()
        letter_keys_assign([rows.letter])  # another ingest may have taken a key meanwhile
        try:
            letters_create([rows])
        except IntegrityError:
            if Determination.objects.filter(content_hash=rows.letter.content_hash).exists():
                outcome.status = UNCHANGED  # stored meanwhile by a concurrent ingest
            else:
                outcome.status, outcome.reason = FAILED, "the database refused the letter"
        except DatabaseError as exc:
            if _connection_lost(exc, raw):
                raise
            outcome.status, outcome.reason = FAILED, f"the database refused the letter: {exc}"
