"""Vocabularies as data: treatments, body regions, specialties, guidelines, states, MTUS pages.

Each vocabulary is a TOML file beside this module, read once at import, so adding a term or an
alias touches no code. A file is a list of ``[[term]]`` tables, each becoming a ``Term``:

- ``slug``: what is stored; ``label``: what people read, matched as the first alias.
- ``aliases``: more ways letters say it. An alias is a plain phrase (any case, whole words, any
  whitespace between them, an optional plural "s" or "es") or, after ``re:``, a regular
  expression without named groups (a TOML literal string, in single quotes, keeps its
  backslashes as written).
- ``aliases_from``: another vocabulary of this folder whose terms' labels and aliases (in file
  order) follow the term's own aliases (``drugs`` for the treatment ``medication``).
- ``pages``: ``[first, last]`` page ranges (the MTUS page table only).
- ``category``: a treatment's category (``categories.toml``), a drug's class
  (``drug_classes.toml``).

Order counts: a matcher tries aliases longest first, and of two the same length the one listed
first, so keep the files' order when editing. How terms are found in text is ``matching``'s.
A key the loader does not know, or a ``.toml`` here that nothing reads, fails the import
rather than being ignored.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ..matching import KINDS, Found, Matcher, PageRange, Term, Vocabulary

__all__ = [
    "ACOEM_CHAPTERS",
    "BODY_REGIONS",
    "CATEGORIES",
    "DEFAULT_VOCABULARY",
    "DRUGS",
    "DRUG_CLASSES",
    "GUIDELINES",
    "KINDS",
    "MEDICATION_HINT",
    "MTUS_FAMILY",
    "MTUS_SECTIONS",
    "SPECIALTIES",
    "STATES",
    "SYSTEMIC_TRANSDERMAL",
    "TOPICAL_BRANDS",
    "TREATMENTS",
    "Found",
    "Matcher",
    "PageRange",
    "Term",
    "Vocabulary",
]

_HERE = Path(__file__).resolve().parent
_TERM_KEYS = frozenset({"slug", "label", "aliases", "aliases_from", "pages", "category"})
_read: dict[str, dict] = {}  # file name -> its tables, while the module loads


def _load(name: str) -> dict:
    if name not in _read:
        with (_HERE / f"{name}.toml").open("rb") as f:
            _read[name] = tomllib.load(f)
    return _read[name]


def _names(name: str) -> tuple[str, ...]:
    """Every label and alias of a vocabulary's terms, in file order."""
    return tuple(a for t in _terms(name) for a in t.aliases)


def _terms(name: str, categories: str | None = None) -> tuple[Term, ...]:
    """The terms of ``name``.toml; with ``categories``, each must name one of that file's."""
    known = {t.slug for t in _terms(categories)} if categories else None
    terms = []
    for entry in _load(name)["term"]:
        if unknown := entry.keys() - _TERM_KEYS:
            raise ValueError(f"{name}.toml, term {entry.get('slug')!r}: unknown {sorted(unknown)}")
        aliases = (entry["label"], *entry.get("aliases", ()))
        if "aliases_from" in entry:
            aliases += _names(entry["aliases_from"])
        pages = tuple((first, last) for first, last in entry.get("pages", ()))
        category = entry.get("category")
        if known is not None and category not in known:
            raise ValueError(f"{name}.toml, term {entry['slug']!r}: no {categories} {category!r}")
        terms.append(Term(entry["slug"], entry["label"], aliases, pages, category))
    return tuple(terms)


CATEGORIES = _terms("categories")
DRUG_CLASSES = _terms("drug_classes")
DRUGS = _terms("drugs", categories="drug_classes")
SYSTEMIC_TRANSDERMAL = frozenset(_load("drugs")["systemic_transdermal"])
TOPICAL_BRANDS = frozenset(_load("drugs")["topical_brands"])
TREATMENTS = _terms("treatments", categories="categories")
BODY_REGIONS = _terms("body_regions")
SPECIALTIES = _terms("specialties")
GUIDELINES = _terms("guidelines")
MTUS_FAMILY = frozenset(_load("guidelines")["mtus_family"])
ACOEM_CHAPTERS = {int(n): title for n, title in _load("guidelines")["acoem_chapters"].items()}
STATES = _terms("states")
MTUS_SECTIONS = _terms("mtus_pages")
if _unread := sorted({p.stem for p in _HERE.glob("*.toml")} - _read.keys()):
    raise ImportError(f"vocabulary files that nothing reads: {_unread}")  # an edit in vain
_read.clear()  # the terms are built; the raw tables are not needed again

# A request naming no treatment but a dose or dosage form is a medication request.
MEDICATION_HINT = re.compile(
    r"(?<![\w/])\d+(?:\.\d+)?\s*(?:mg|mcg|µg|ug|ml|%|gm?)(?!\w)|#\s*\d+"
    r"|\b(?:tablets?|tabs?|capsules?|caps|patch(?:es)?|creams?|gels?|ointments?|lotions?"
    r"|solutions?|sprays?|drops|syrup|suppositor(?:y|ies)|ER|XR|CR|SR|DS|q\.?d|b\.?i\.?d|t\.?i\.?d"
    r"|q\d+h|p\.?r\.?n)\b",
    re.I,
)

DEFAULT_VOCABULARY = Vocabulary(
    {
        "treatment": TREATMENTS,
        "body_region": BODY_REGIONS,
        "specialty": SPECIALTIES,
        "guideline": GUIDELINES,
        "state": STATES,
        "mtus_section": MTUS_SECTIONS,
        "drug": DRUGS,
        "category": CATEGORIES,
        "drug_class": DRUG_CLASSES,
    }
)
