"""Creating the rows of parsed letters, with everything below them, in few statements."""

from __future__ import annotations

from django.db import transaction

from ..models import CitedChapter, CitedPageRange, DecisionItem, Determination, GuidelineCitation
from .bulk import keyed_insert, leaf_insert
from .rows import CitationRows, ItemRows, LetterRows


@transaction.atomic
def letters_create(batch: list[LetterRows]) -> None:
    """Insert letters with their items, citations, pages, chapters and links."""
    keyed_insert(Determination, [rows.letter for rows in batch])
    leaf_insert(
        Determination.reviewer_states.through,
        ["determination_id", "state_id"],
        [(r.letter.pk, s) for r in batch for s in r.states],
    )
    leaf_insert(
        Determination.reviewer_specialties.through,
        ["determination_id", "specialty_id"],
        [(r.letter.pk, s) for r in batch for s in r.specialties],
    )
    entries = []
    for rows in batch:
        for entry in rows.items:
            entry.item.determination_id = rows.letter.pk
            entries.append(entry)
    items_create(entries)


def items_create(entries: list[ItemRows]) -> None:
    """Insert items (whose letters have keys) with their links and citations."""
    keyed_insert(DecisionItem, [e.item for e in entries])
    leaf_insert(
        DecisionItem.treatments.through,
        ["decisionitem_id", "treatment_id"],
        [(e.item.pk, t) for e in entries for t in e.treatments],
    )
    leaf_insert(
        DecisionItem.body_regions.through,
        ["decisionitem_id", "bodyregion_id"],
        [(e.item.pk, r) for e in entries for r in e.body_regions],
    )
    citations = []
    for e in entries:
        for c in e.citations:
            c.citation.item_id = e.item.pk
            citations.append(c)
    citation_children_write(citations, create=True)


def citation_children_write(citations: list[CitationRows], *, create: bool) -> None:
    """Insert citations' pages and chapters; with ``create`` the citations themselves first."""
    if create:
        keyed_insert(GuidelineCitation, [c.citation for c in citations])
    leaf_insert(
        CitedPageRange,
        ["citation_id", "first_page", "last_page", "derived"],
        [(c.citation.pk, a, b, d) for c in citations for a, b, d in c.pages],
    )
    leaf_insert(
        CitedChapter,
        ["citation_id", "chapter"],
        [(c.citation.pk, ch) for c in citations for ch in c.chapters],
    )
