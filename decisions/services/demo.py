"""Demo letters: generated letters (not real decisions) ingested as real letters are."""

from __future__ import annotations

from collections.abc import Iterator

from .. import lettergen
from ..ingest import IngestOutcome, LetterInput
from .ingest import letters_ingest

DEMO_LETTERS = 3000
DEMO_SEED = 2026


def demo_letters_ingest(
    *, count: int = DEMO_LETTERS, seed: int = DEMO_SEED, batch_size: int = 200, workers: int = 0
) -> Iterator[IngestOutcome]:
    """Generate ``count`` letters with headers (``decisions.lettergen``) and ingest them with
    ``letters_ingest``, so they are parsed, indexed and counted like any letter. Letters are
    keyed by their text, and a seed gives the same letters each time (the first ``n`` the same
    whatever ``count``): loading again adds only letters not loaded before."""
    letters = (LetterInput(name, text) for name, text in lettergen.letters(count, seed))
    return letters_ingest(letters=letters, batch_size=batch_size, workers=workers)
