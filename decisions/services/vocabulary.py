"""Vocabulary lookup tables: the parser's built-in terms, plus the aliases staff add."""

from __future__ import annotations

import hashlib
import json

from django.db import models

from .. import parsing
from ..models import BodyRegion, Drug, Guideline, Specialty, State, Treatment

TERM_MODELS = {
    "treatment": Treatment,
    "drug": Drug,
    "body_region": BodyRegion,
    "guideline": Guideline,
    "specialty": Specialty,
    "state": State,
}
TERM_KINDS = {model: kind for kind, model in TERM_MODELS.items()}


# The field a term's category fills, where its table has one.
CATEGORY_FIELDS = {"treatment": "category", "drug": "drug_class"}


def vocabulary_sync() -> None:
    """Make sure every built-in vocabulary term has its lookup row (labels and categories kept
    up to date)."""
    for kind, model in TERM_MODELS.items():
        terms = parsing.vocab.DEFAULT_VOCABULARY.terms(kind)
        category = CATEGORY_FIELDS.get(kind)
        model.objects.bulk_create(
            [
                model(slug=t.slug, label=t.label, **({category: t.category} if category else {}))
                for t in terms
            ],
            update_conflicts=True,
            unique_fields=["slug"],
            update_fields=["label", *([category] if category else [])],
        )


def _extra_aliases() -> dict[str, dict[str, list[str]]]:
    """The aliases staff added in the admin: kind -> slug -> aliases."""
    extra = {
        kind: {term.slug: term.alias_list() for term in model.objects.exclude(extra_aliases="")}
        for kind, model in TERM_MODELS.items()
    }
    return {kind: aliases for kind, aliases in extra.items() if aliases}


def vocabulary_fingerprint() -> str:
    """What a re-parse would read letters with now: the parser's version and staff's aliases.

    Two re-parses with the same fingerprint write the same rows (a job compares it to tell
    whether one already running does what is asked)."""
    seen = json.dumps([parsing.PARSER_VERSION, _extra_aliases()], sort_keys=True)
    return hashlib.sha256(seen.encode()).hexdigest()[:16]


def vocabulary_current() -> parsing.vocab.Vocabulary:
    """The built-in vocabulary plus the aliases staff added in the admin."""
    extra = _extra_aliases()
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


class KnownTerms:
    """Slugs known to exist in each lookup table during one ingest run."""

    def __init__(self) -> None:
        self.known = {
            kind: set(m.objects.values_list("slug", flat=True)) for kind, m in TERM_MODELS.items()
        }

    def ensure(self, wanted: dict[str, set[str]]) -> None:
        """Create the lookup rows ``wanted`` (kind -> slugs) names that do not exist yet."""
        for kind, slugs in wanted.items():
            _terms_ensure(TERM_MODELS[kind], slugs, self.known[kind])
