"""Writing rows: every change to the decisions tables goes through a function here.

Functions are keyword-only and named ``<thing>_<action>``. The rooms:

- ``ingest``: parse letters and store each wholly or not at all (``letters_ingest``);
- ``reparse``: update stored letters from a new parse, keeping what a person corrected;
- ``corrections``: log a person's corrections, mark letters reviewed;
- ``vocabulary``: the lookup tables of terms, and the aliases staff add;
- ``jobs``: long work queued from the admin (a re-parse) and run by ``manage.py run_jobs``;
- ``backup``: every row a person or an ingest made, and the original files, to one archive and
  back into an empty database;
- ``demo``: generated letters for a demo, ingested as real letters are;
- ``rows``, ``write``, ``bulk``: the rows a parse becomes, and writing them fast (COPY).
"""

from ..ingest import FAILED, NEW, REPARSED, UNCHANGED, IngestOutcome, LetterInput
from .backup import BackupError, backup_restore, backup_write
from .changes import letters_changed
from .corrections import (
    ADDED_BY_PERSON,
    correction_record,
    letter_mark_reviewed,
    row_mark_added,
    rows_delete,
    rows_saved,
)
from .demo import DEMO_LETTERS, DEMO_SEED, demo_letters_ingest
from .ingest import IngestStopped, letters_ingest
from .jobs import job_cancel, job_claim, job_queue, job_run, worker_name
from .keys import letter_keys_assign
from .reparse import determination_reparse, letters_reparse, stored_letters
from .vocabulary import TERM_KINDS, TERM_MODELS, vocabulary_current, vocabulary_sync

__all__ = [
    "ADDED_BY_PERSON",
    "DEMO_LETTERS",
    "DEMO_SEED",
    "FAILED",
    "NEW",
    "REPARSED",
    "TERM_KINDS",
    "TERM_MODELS",
    "UNCHANGED",
    "BackupError",
    "IngestOutcome",
    "IngestStopped",
    "LetterInput",
    "backup_restore",
    "backup_write",
    "correction_record",
    "demo_letters_ingest",
    "determination_reparse",
    "job_cancel",
    "job_claim",
    "job_queue",
    "job_run",
    "letter_keys_assign",
    "letter_mark_reviewed",
    "letters_changed",
    "letters_ingest",
    "letters_reparse",
    "row_mark_added",
    "rows_delete",
    "rows_saved",
    "stored_letters",
    "vocabulary_current",
    "vocabulary_sync",
    "worker_name",
]
