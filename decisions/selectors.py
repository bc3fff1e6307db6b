"""Reading decisions for the site: the search (filters, text, sort, page, facets) and a letter.

Views call these and render what they return; nothing here writes. Every search is read from a
query string, so each view of the results has a permalink.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet
from django.http import QueryDict
from django.urls import reverse
from pyroaring import BitMap

from . import facet_index, search, similar, stats
from .facets import FIXED_LABELS, Facet, Selection, chosen_labels
from .filters import DecisionFilter
from .models import (
    CitedPageRange,
    CitingSide,
    DecisionItem,
    Determination,
    DrugClass,
    GuidelineCitation,
    Laterality,
)

PAGE_SIZE = 50
# The highest page number a search takes (5 million decisions at PAGE_SIZE): past the last page
# the last is shown; a number past this, or not a whole number from 1, is refused.
PAGE_LIMIT = 100_000
# name -> (label, the order as the database would give it). The engine sorts the same way
# (unknown dates and ages last), which a test checks against these orderings.
SORTS = {
    "relevance": ("Best match", None),
    "newest": (
        "Newest decision",
        (F("determination__decision_date").desc(nulls_last=True), "-determination_id", "position"),
    ),
    "oldest": (
        "Oldest decision",
        (F("determination__decision_date").asc(nulls_last=True), "determination_id", "position"),
    ),
    "injury": (
        "Most recent injury",
        (F("determination__date_of_injury").desc(nulls_last=True), "-determination_id", "position"),
    ),
    "age": (
        "Patient age",
        (F("determination__patient_age").asc(nulls_last=True), "-determination_id", "position"),
    ),
}


# Parameters that say how to show a search, not which decisions it finds; with ``within``
# (where the text is looked for), those that narrow nothing.
PRESENTATION = ("sort", "page", "view", "by", "order", "trend", "format")
SHOWING = (*PRESENTATION, "within")
# The outcome panel: what it breaks the rate down by (and how it sorts them) unless asked.
PANEL_BY, PANEL_ORDERS, TRENDS = "category", ("count", "rate"), stats.YEARS
PANEL_LIMIT = 12  # values in the panel's breakdown (the report page shows every one)


@dataclass
class Breakdown:
    """A search's overturn rate within each value of a facet."""

    by: str
    order: str
    groups: list[stats.Group]

    @property
    def label(self) -> str:
        return stats.BREAKDOWNS[self.by]


@dataclass
class Search:
    """One search, read from the query string: its results page, facets, or what was wrong."""

    params: QueryDict
    errors: dict[str, list[str]] = field(default_factory=dict)
    query: search.Query | None = None
    sort: str = "newest"
    page: Page | None = None
    facets: list[Facet] = field(default_factory=list)
    within: str = "decision"
    letter_key: str | None = None  # the case number or letter key searched for, if ``q`` is one
    rate: stats.Rate | None = None  # of the decisions found: how many overturned
    breakdowns: dict[str, Breakdown] = field(default_factory=dict)  # by the names asked

    @property
    def count(self) -> int:
        return self.page.paginator.count if self.page else 0

    @property
    def filtered(self) -> bool:
        """Whether any filter or text narrows the search (sort and page do not)."""
        return any(
            value for name, values in self.params.lists() if name not in SHOWING for value in values
        )

    @property
    def sorts(self) -> list[tuple[str, str]]:
        """The sorts this search offers (best match only for a text search)."""
        return [
            (key, label) for key, (label, _) in SORTS.items() if key != "relevance" or self.query
        ]


def decision_search(
    params: QueryDict,
    index: facet_index.FacetIndex | None = None,
    *,
    breakdowns: dict[str, tuple[str, str, int | None]] | None = None,
) -> Search:
    """The decisions meeting ``params``: a page of them, every facet counted, their overturn
    rate, or the errors.

    ``index``: the facet index, when the caller holds it already (else it is taken here).
    ``breakdowns``: name -> (facet, order, how many values) of each breakdown of the rate wanted
    (``Search.breakdowns`` has them by the same names).
    """
    found, cleaned = _searched(params)
    if found.errors:
        return found
    in_letters = found.within == "letter"
    held = contextlib.nullcontext(index) if index is not None else facet_index.current_index()
    with held as index:
        selection, sort, first = _selection(index, found, cleaned)
        found.facets = selection.facets()
        # Rates are of the search without its outcome filter: of "overturned" alone, all are.
        rated = selection.found_but("outcome")
        found.rate = stats.rate_of(index, rated)
        for name, (by, order, limit) in (breakdowns or {}).items():
            groups = stats.breakdown(
                index, rated, by, labels=FIXED_LABELS.get(by), order=order, limit=limit
            )
            found.breakdowns[name] = Breakdown(by, order, groups)
        results = _Results(index, selection.found, sort, first)
        found.page = Paginator(results, PAGE_SIZE).get_page(params.get("page"))
    if in_letters:
        by_letter = search.snippets(found.query, [i.determination_id for i in found.page])
        for item in found.page:
            item.snippet = by_letter.get(item.determination_id)
    else:
        by_item = search.item_snippets(found.query, [i.pk for i in found.page])
        for item in found.page:
            item.snippet = by_item.get(item.pk)
    return found


def _searched(params: QueryDict, *, paged: bool = True) -> tuple[Search, dict]:
    """The search ``params`` ask for, before it is run: its text, sort and scope, or its errors
    (and the FilterSet's cleaned values). ``paged``: whether it reads ``page`` (an export, of
    every decision, does not)."""
    found = Search(params=params)
    filterset = DecisionFilter(params, queryset=DecisionItem.objects.all())
    if not filterset.is_valid():
        found.errors = {k: [str(e) for e in v] for k, v in filterset.errors.items()}
        return found, {}
    cleaned = filterset.form.cleaned_data
    text = cleaned.get("q") or ""
    found.letter_key = search.letter_key_of(text)
    found.query = None if found.letter_key else search.parse(text)
    found.sort = params.get("sort") or ("relevance" if found.query else "newest")
    if found.sort not in SORTS or (found.sort == "relevance" and not found.query):
        found.errors = {"sort": [f"Unknown sort “{found.sort}”: use one of {', '.join(SORTS)}."]}
        return found, cleaned
    found.within = cleaned.get("within") or "decision"
    if paged and (problem := _page_problem(params.get("page"))):
        found.errors = {"page": [problem]}
    return found, cleaned


def _page_problem(page: str | None) -> str | None:
    """What is wrong with the page number asked for, if anything."""
    if page is None or page == "":
        return None
    if not (page.isascii() and page.isdigit()) or not 1 <= int(page) <= PAGE_LIMIT:
        return f"“{page[:40]}” is not a page number: use a whole number from 1 to {PAGE_LIMIT:,}."
    return None


def _selection(
    index: facet_index.FacetIndex, found: Search, cleaned: dict
) -> tuple[Selection, str, BitMap | None]:
    """What a valid search selects in ``index``: its filters and text, the engine's sort, and
    the items to put first (a best-match search's, whose request matches)."""
    matches, first = text_matches(index, cleaned), None
    if found.query and found.sort == "relevance" and found.within != "letter":
        first = _text_matches(index, found.query, request_only=True)
    sort = "newest" if found.sort == "relevance" else found.sort
    return Selection(index, cleaned, matches), sort, first


def text_matches(index: facet_index.FacetIndex, cleaned: dict) -> BitMap | None:
    """The items the search's ``q`` finds, from its cleaned values: a case number's (or letter
    key's) letter's items, or what the words match where ``within`` says; None when ``q``
    searches nothing (absent, or common words alone)."""
    text = cleaned.get("q") or ""
    if key := search.letter_key_of(text):
        return index.items_of_letters(letters_of_key(key))
    query = search.parse(text)
    if not query:
        return None
    return _text_matches(index, query, in_letters=cleaned.get("within") == "letter")


def search_errors(params: QueryDict) -> dict[str, list[str]]:
    """What is wrong with the search ``params`` ask for (nothing is run): by parameter."""
    return _searched(params)[0].errors


EXPORT_CHUNK = 2_000  # decisions read at a time for an export


@dataclass
class Export:
    """Every decision a search finds, for an export: their ids in the search's order, and
    their rows read ``EXPORT_CHUNK`` at a time, so what is held at once does not grow with it.
    """

    search: Search
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def errors(self) -> dict[str, list[str]]:
        return self.search.errors

    @property
    def count(self) -> int:
        return len(self.ids)

    def chunks(self, size: int | None = None) -> Iterator[list[ResultRow]]:
        """The rows, ``size`` (``EXPORT_CHUNK``) at a time, each read when the one before has
        been used."""
        size = size or EXPORT_CHUNK
        for start in range(0, len(self.ids), size):
            yield export_rows(self.ids[start : start + size].tolist())


def decision_export(params: QueryDict) -> Export:
    """Every decision meeting ``params``, in their order (not a page: ``page`` is ignored).

    The facet index is held only to find and order the ids; no rendered search is cached.
    """
    found, cleaned = _searched(params, paged=False)
    if found.errors:
        return Export(found)
    with facet_index.current_index() as index:
        selection, sort, first = _selection(index, found, cleaned)
        ids = index.ordered(selection.found, sort, first)
    return Export(found, ids)


FEED_SIZE = 50  # decisions in a search's feed: the newest to the site


@dataclass
class Feed:
    """A search's feed: the ``FEED_SIZE`` decisions it finds that were added to the site last
    (highest item id first), the search in words, its query string, or its errors."""

    query: str  # the search's filters in a canonical order (search_query)
    errors: dict[str, list[str]] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)  # "Outcome: Overturned", a filter each
    rows: list[ResultRow] = field(default_factory=list)
    added: dict[int, dt.datetime] = field(default_factory=dict)  # letter id -> when ingested

    @property
    def title(self) -> str:
        return "IMR decisions: " + (" · ".join(self.words) or "every decision")


def search_query(params: QueryDict) -> str:
    """The query string of the decisions ``params`` find, the same for the same search: only
    the parameters that narrow it (no sort, page or view, no name the search does not read, no
    empty value), by name, each name's values sorted (values of one name are OR'ed)."""
    kept = QueryDict(mutable=True)
    for name in sorted(set(params) & set(DecisionFilter.base_filters)):
        if values := sorted({v for v in params.getlist(name) if v}):
            kept.setlist(name, values)
    return kept.urlencode()


def decision_feed(params: QueryDict, index: facet_index.FacetIndex | None = None) -> Feed:
    """The feed of the search ``params`` ask for (sort, page and the like are ignored): the
    decisions it finds newest to the site first, as the ids of the facet index say (an item's
    id grows with each ingest), or what is wrong with its parameters."""
    query = search_query(params)
    found, cleaned = _searched(QueryDict(query), paged=False)
    if found.errors:
        return Feed(query, found.errors)
    held = contextlib.nullcontext(index) if index is not None else facet_index.current_index()
    with held as index:
        selected = Selection(index, cleaned, text_matches(index, cleaned)).found
        rows = result_rows(list(reversed(selected[-FEED_SIZE:])))
    letters = {row.determination_id for row in rows}
    added = Determination.objects.filter(pk__in=letters).values_list("pk", "created_at")
    words = [f"{label}: {', '.join(values)}" for label, values in chosen_labels(cleaned)]
    if cleaned.get("cited_page"):
        words.append(f"Cited page: {cleaned['cited_page']}")
    if text := cleaned.get("q"):
        where = " anywhere in the letter" if found.within == "letter" else ""
        words.append(f"Text: “{text}”{where}")
    return Feed(query, words=words, rows=rows, added=dict(added))


def letters_of_key(key: str) -> list[int]:
    """The letters a case number or letter key names (a case number may be on several)."""
    named = Q(key=key) | Q(case_number=key)
    return list(Determination.objects.filter(named).values_list("pk", flat=True))


def panel_breakdowns(params: QueryDict) -> tuple[dict[str, tuple[str, str, int | None]], dict]:
    """What the outcome panel breaks the rate down by (``by``, ``order``) and the trend it draws
    (``trend``: by year of decision or of injury), or the errors of those parameters."""
    by = params.get("by") or PANEL_BY
    order = params.get("order") or "count"
    trend = params.get("trend") or TRENDS[0]
    errors = {}
    if by not in stats.BREAKDOWNS:
        errors["by"] = [f"Unknown breakdown “{by}”: use one of {', '.join(stats.BREAKDOWNS)}."]
    if order not in PANEL_ORDERS:
        errors["order"] = [f"Unknown order “{order}”: use one of {', '.join(PANEL_ORDERS)}."]
    if trend not in TRENDS:
        errors["trend"] = [f"Unknown trend “{trend}”: use one of {', '.join(TRENDS)}."]
    if errors:
        return {}, errors
    return {"panel": (by, order, PANEL_LIMIT), "trend": (trend, "value", None)}, {}


# The report page's tables, as the Division's annual IMR report has them: requests and overturn
# rate by category and drug class, the treatments most asked for, the guidelines relied on.
REPORT_BREAKDOWNS = {
    "category": ("category", "count", None),
    "drug_class": ("drug_class", "count", None),
    "treatment": ("treatment", "count", 25),
    "guideline": ("guideline", "count", None),
    "cited_page": ("cited_page", "count", 25),
    "decision_year": ("decision_year", "value", None),
}


T = TypeVar("T")
S = TypeVar("S")


def search_shown(params: QueryDict, variant: Hashable, show: Callable[[Search], T], **options) -> T:
    """``show(decision_search(params))``: what a view makes of a search (its HTML, its JSON).

    Kept in a small per-process LRU (``SEARCH_CACHE_ENTRIES`` of them, 0 for none) by the
    query string and ``variant`` (what else the result depends on), for as long as the facet
    index stays at the same version: every ingest, re-parse and correction moves the version
    (services log an ``IndexChange``), so a page is never shown from before one. What ``show``
    makes must depend on nothing but the search and ``variant``, never on who asks.
    """
    key = (variant, params.urlencode())
    return _kept(key, lambda index: decision_search(params, index, **options), show)


def feed_shown(params: QueryDict, variant: Hashable, show: Callable[[Feed], T]) -> T:
    """``show(decision_feed(params))``, kept as ``search_shown`` keeps a page (a feed reader
    asks again and again), by the search's canonical query: what the feed ignores makes no
    other entry."""
    key = ("feed", variant, search_query(params))
    return _kept(key, lambda index: decision_feed(params, index), show)


def _kept(
    key: Hashable, read: Callable[[facet_index.FacetIndex | None], S], show: Callable[[S], T]
) -> T:
    """``show(read(index))``, from the LRU of the index's version when it holds ``key``."""
    if not settings.SEARCH_CACHE_ENTRIES:
        return show(read(None))
    with facet_index.current_index() as index:
        version = index.version
        if (hit := _shown.get(index, version, key)) is not None:
            return hit
        found = read(index)
        # An empty site says "no letters yet" from a count of letters the version does not see.
        keep = bool(index.items)
    shown = show(found)
    if keep:
        _shown.put(index, version, key, shown, settings.SEARCH_CACHE_ENTRIES)
    return shown


class _VersionedLRU:
    """An LRU of what one index at one version gives (``search_shown``'s pages, the text
    searches' matches): every entry is dropped when the version moves.

    The index is held weakly and compared by identity: a rebuilt index (a new object, as in
    tests, which roll their rows back) is another state even at the same version.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: weakref.ref | None = None
        self.version: tuple[int, int] | None = None
        self.entries: OrderedDict = OrderedDict()

    def _holds(self, index: facet_index.FacetIndex, version: tuple[int, int]) -> bool:
        return self.index is not None and self.index() is index and self.version == version

    def get(self, index: facet_index.FacetIndex, version: tuple[int, int], key: Hashable):
        with self.lock:
            if not self._holds(index, version):
                return None
            if (hit := self.entries.get(key)) is not None:
                self.entries.move_to_end(key)
            return hit

    def put(self, index, version: tuple[int, int], key: Hashable, value, size: int) -> None:
        with self.lock:
            if not self._holds(index, version):
                self.index, self.version = weakref.ref(index), version
                self.entries = OrderedDict()
            self.entries[key] = value
            while len(self.entries) > size:
                self.entries.popitem(last=False)


_shown = _VersionedLRU()
# The items each text search matched, by its words and where it looked: the same words with
# other filters, another sort or page need no second full-text query (65 ms at a million
# letters on PostgreSQL for a common phrase). A match is a compressed bitmap, tens of KiB.
_matched = _VersionedLRU()
TEXT_MATCHES_KEPT = 64


def _text_matches(
    index: facet_index.FacetIndex,
    query: search.Query,
    *,
    in_letters: bool = False,
    request_only: bool = False,
) -> BitMap:
    """The items a text search matches, from the database's full-text index (or from the
    last searches' matches, at the index's version)."""
    key, version = (query.engine_query, in_letters, request_only), index.version
    if (hit := _matched.get(index, version, key)) is not None:
        return hit
    if in_letters:
        sql, params = search.matching_letters(query)
    else:
        sql, params = search.matching_items(query, request_only=request_only)
    ids = facet_index.read_ints(["m.id"], f"FROM ({sql}) m", params)[:, 0]
    found = index.items_of_letters(ids) if in_letters else facet_index.bitmap(ids) & index.items
    if settings.SEARCH_CACHE_ENTRIES:
        _matched.put(index, version, key, found, TEXT_MATCHES_KEPT)
    return found


class _Results:
    """The found items in sort order, as the paginator sees them: a count, and slices of rows.

    A slice is a list of ids from the engine, then ``result_rows`` for the rows.
    """

    def __init__(
        self, index: facet_index.FacetIndex, found: BitMap, sort: str, first: BitMap | None
    ) -> None:
        self.index, self.found, self.sort, self.first = index, found, sort, first

    def count(self) -> int:
        return len(self.found)

    def __len__(self) -> int:
        return len(self.found)

    def __getitem__(self, page: slice) -> list[ResultRow]:
        start, stop = page.start or 0, page.stop or len(self)
        return result_rows(self.index.page(self.found, self.sort, start, stop, first=self.first))


def letter_count() -> int:
    """How many letters the site holds (shown on the unfiltered home page)."""
    return Determination.objects.count()


# --- a page of results ------------------------------------------------------------------
# A results page shows 50 items with their letter, treatments, regions, reviewer specialties,
# citations and cited pages: some 1,800 rows. As model instances (select_related and prefetches)
# they cost more CPU than everything else a search does; read as tuples (one query a relation,
# as the prefetches were) into the plain objects below, a tenth of that. Each list is in the
# order its model's default ordering gives (terms by label, citations by side then guideline
# label, pages by first page), as the prefetches gave.


@dataclass(slots=True)
class ResultCitation:
    """A citation as a results row shows it: side, guideline, section, pages."""

    source: str
    guideline_id: str
    label: str  # the guideline's
    section: str
    pages: list[tuple[int, int, bool]] = field(default_factory=list)  # (first, last, derived)

    @property
    def summary(self) -> str:
        """Guideline, section, and the pages the letter names (derived ones left out).

        " p." comes before the first range only when the citation's first range (by first
        page, derived or not) is a named one, as the results page has always written it.
        """
        text = f"{self.label}, {self.section}" if self.section else self.label
        for n, (first, last, derived) in enumerate(self.pages):
            if not derived:
                sep = " p. " if n == 0 else ", "
                text += sep + (str(first) if first == last else f"{first}-{last}")
        return text

    def named_pages(self) -> list[list[int]]:
        return [[first, last] for first, last, derived in self.pages if not derived]


@dataclass(slots=True)
class ResultLetter:
    """What a results row shows of an item's letter."""

    pk: int
    key: str
    case_number: str
    decision_date: dt.date | None
    date_assigned: dt.date | None
    ur_date: dt.date | None
    patient_age: int | None
    patient_sex: str
    date_of_injury: dt.date | None
    specialties: list[tuple[str, str]] = field(default_factory=list)  # (slug, label)
    states: list[tuple[str, str]] = field(default_factory=list)  # read for an export only

    @property
    def specialty_labels(self) -> str:
        return ", ".join(label for _, label in self.specialties)

    def __str__(self) -> str:  # as Determination's
        return f"Case {self.case_number}" if self.case_number else f"IMR letter {self.key}"

    def get_absolute_url(self) -> str:
        return f"{_letters_url()}{self.key}/"


@dataclass(slots=True)
class ResultRow:
    """One decision item of a results page (what the page and the JSON API show of it)."""

    pk: int
    determination_id: int
    position: int
    request: str
    outcome: str
    body_regions_inferred: bool
    laterality: str
    quantity: int | None
    drug_id: str | None
    drug_class: str
    rationale: str
    letter: ResultLetter
    treatments: list[tuple[str, str]] = field(default_factory=list)  # (slug, label)
    treatment_categories: list[str] = field(default_factory=list)  # each treatment's, in order
    body_regions: list[tuple[str, str]] = field(default_factory=list)
    citations: list[ResultCitation] = field(default_factory=list)
    snippet: str | None = None

    def get_absolute_url(self) -> str:  # as DecisionItem's
        return f"{self.letter.get_absolute_url()}#item-{self.position}"

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, self.outcome)

    @property
    def treatment_labels(self) -> str:
        return ", ".join(label for _, label in self.treatments)

    @property
    def rationale_lead(self) -> str:
        """The rationale's opening lines (about 300 characters, cut at a word)."""
        text = " ".join(self.rationale.split())
        if len(text) <= LEAD_LENGTH:
            return text
        return text[: text.rfind(" ", 0, LEAD_LENGTH)].rstrip(",;:") + " …"

    @property
    def body_region_labels(self) -> str:
        return ", ".join(label for _, label in self.body_regions)

    @property
    def laterality_label(self) -> str:
        return LATERALITY_LABELS.get(self.laterality, self.laterality)

    @property
    def drug_summary(self) -> str:
        """A medication's drug and class: "hydrocodone/acetaminophen (Opioids)"."""
        if not self.drug_class:
            return ""
        label = DRUG_CLASS_LABELS.get(self.drug_class, self.drug_class)
        return f"{self.drug_id} ({label})" if self.drug_id else label

    @property
    def maximus_citations(self) -> list[str]:
        return [c.summary for c in self.citations if c.source == CitingSide.MAXIMUS]


LEAD_LENGTH = 300
LATERALITY_LABELS = dict(Laterality.choices)
OUTCOME_LABELS = dict(DecisionItem.Outcome.choices)
DRUG_CLASS_LABELS = dict(DrugClass.choices)


@functools.cache
def _letters_url() -> str:
    """The letters' URL prefix ("/letters/"): a letter's URL is it and the letter's key."""
    return reverse("decisions:letter", kwargs={"key": "x"}).removesuffix("x/")


def result_rows(ids: list[int]) -> list[ResultRow]:
    """The results rows of items ``ids``, in that order: six queries whatever their number."""
    return _rows(ids, export=False)


def export_rows(ids: list[int]) -> list[ResultRow]:
    """The rows of items ``ids`` as an export writes them, in that order: a results row's
    fields and the reviewer's states, in seven queries.

    Each query takes ``len(ids)`` parameters whatever the rows hold (the lists of letters and
    of items found are padded with 0, an id nothing has), so every chunk of an export's size
    runs the same compiled SQL, and an export of any size adds none to ``_sql``'s cache.
    """
    return _rows(ids, export=True)


def _rows(ids: list[int], *, export: bool) -> list[ResultRow]:
    if not ids:
        return []

    def keys(found: dict) -> list[int]:
        return [*found, *[0] * (len(ids) - len(found))] if export else list(found)

    rows, letters = {}, {}
    for pk, letter_id, *columns in _run(_items, ids):
        of_item, of_letter = columns[:ITEM_COLUMNS], columns[ITEM_COLUMNS:]
        if letter_id not in letters:
            letters[letter_id] = ResultLetter(letter_id, *of_letter)
        rows[pk] = ResultRow(pk, letter_id, *of_item, letters[letter_id])
    if not rows:
        return []
    for pk, slug, label, category in _run(_treatments, keys(rows)):
        rows[pk].treatments.append((slug, label))
        rows[pk].treatment_categories.append(category)
    for pk, slug, label in _run(_body_regions, keys(rows)):
        rows[pk].body_regions.append((slug, label))
    for letter_id, slug, label in _run(_specialties, keys(letters)):
        letters[letter_id].specialties.append((slug, label))
    if export:
        for letter_id, slug, label in _run(_states, keys(letters)):
            letters[letter_id].states.append((slug, label))
    citations = {}
    for pk, item_id, source, guideline, label, section in _run(_citations, keys(rows)):
        citations[pk] = ResultCitation(source, guideline, label, section)
        rows[item_id].citations.append(citations[pk])
    if citations:
        # A page's by its citations; an export's by its items, a number of ids that is fixed.
        pages = _run(_item_pages, keys(rows)) if export else _run(_pages, list(citations))
        for citation_id, first, last, derived in pages:
            citations[citation_id].pages.append((first, last, derived))
    return [rows[pk] for pk in ids if pk in rows]


# The queries of result_rows, each of the rows with some ids. Their SQL is the ORM's, made once
# per query and number of ids (_sql) and then run as it is: building a queryset and compiling it
# costs several times what running it does, and a page runs six. Plain columns only, so the
# database driver gives them their Python types (SQLite's through the column's declared type).


ITEM_COLUMNS = 9  # of _items, after its first two: the item's, then its letter's


def _items(ids: list[int]) -> QuerySet:
    return (
        DecisionItem.objects.filter(pk__in=ids)
        .order_by()
        .values_list(
            "pk",
            "determination_id",
            "position",
            "request",
            "outcome",
            "body_regions_inferred",
            "laterality",
            "quantity",
            "drug_id",
            "drug_class",
            "rationale",
            "determination__key",
            "determination__case_number",
            "determination__decision_date",
            "determination__date_assigned",
            "determination__ur_date",
            "determination__patient_age",
            "determination__patient_sex",
            "determination__date_of_injury",
        )
    )


def _terms_of(relation, owners: list[int], *more: str) -> QuerySet:
    """(owner id, slug, label, *more) of a many-to-many to a vocabulary, by label as the terms
    sort (``more``: other fields of the term)."""
    through = relation.through
    owner, term = relation.field.m2m_field_name(), relation.field.m2m_reverse_field_name()
    return (
        through.objects.filter(**{f"{owner}_id__in": owners})
        .order_by(f"{term}__label")
        .values_list(f"{owner}_id", f"{term}_id", f"{term}__label", *(f"{term}__{f}" for f in more))
    )


def _treatments(item_ids: list[int]) -> QuerySet:
    return _terms_of(DecisionItem.treatments, item_ids, "category")


def _body_regions(item_ids: list[int]) -> QuerySet:
    return _terms_of(DecisionItem.body_regions, item_ids)


def _specialties(letter_ids: list[int]) -> QuerySet:
    return _terms_of(Determination.reviewer_specialties, letter_ids)


def _states(letter_ids: list[int]) -> QuerySet:
    return _terms_of(Determination.reviewer_states, letter_ids)


def _citations(item_ids: list[int]) -> QuerySet:
    return (
        GuidelineCitation.objects.filter(item_id__in=item_ids)
        .order_by("item_id", "source", "guideline__label")
        .values_list("pk", "item_id", "source", "guideline_id", "guideline__label", "section")
    )


def _pages(citation_ids: list[int]) -> QuerySet:
    return (
        CitedPageRange.objects.filter(citation_id__in=citation_ids)
        .order_by("citation_id", "first_page")
        .values_list("citation_id", "first_page", "last_page", "derived")
    )


def _item_pages(item_ids: list[int]) -> QuerySet:
    return (
        CitedPageRange.objects.filter(citation__item_id__in=item_ids)
        .order_by("citation_id", "first_page")
        .values_list("citation_id", "first_page", "last_page", "derived")
    )


def _run(query: Callable[[list[int]], QuerySet], ids: list[int]) -> list[tuple]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_sql(query, 1, connection.vendor), [ids])
        else:
            cursor.execute(_sql(query, len(ids), connection.vendor), ids)
        return cursor.fetchall()


_IN_LIST = re.compile(r"IN \(%s(?:, %s)*\)")


@functools.lru_cache(maxsize=1024)
def _sql(query: Callable[[list[int]], QuerySet], count: int, vendor: str) -> str:
    """The SQL of ``query`` for ``count`` ids, its parameters those ids in their order.

    On PostgreSQL its one ``IN (%s, ...)`` becomes ``= ANY(%s)``, one array whatever the
    number of ids: psycopg parses a query's text on every run once it is too long to keep
    (4 ms for 2,000 placeholders, an export's chunk) and dumps each parameter alone.
    """
    ids = list(range(1, count + 1))
    sql, params = query(ids).query.sql_with_params()
    if list(params) != ids:  # a query whose parameters are not just its ids cannot run so
        raise ValueError(f"{query.__name__}: parameters {params!r} are not the ids")
    if vendor == "postgresql":
        sql, found = _IN_LIST.subn("= ANY(%s)", sql)
        if found != 1:
            raise ValueError(f"{query.__name__}: {found} lists of ids, not one")
    return sql


def citations_prefetch(*related: str) -> Prefetch:
    """An item's citations with their guideline and pages (and ``related``), in one query each."""
    citations = GuidelineCitation.objects.select_related("guideline")
    return Prefetch("citations", queryset=citations.prefetch_related("page_ranges", *related))


_HASH_KEY = re.compile(r"[0-9a-f]{16}|[0-9a-f]{64}")


def letter_key_found(key: str) -> str | None:
    """The key of the letter a URL names, by its key or an older name of it: its database id
    (the URLs before keys), its short content hash, its case number in any case. None if none."""
    letters = Determination.objects.values_list("key", flat=True)
    if re.fullmatch(r"[0-9]+", key):  # ASCII digits only: str.isdigit also takes "¹"
        return letters.filter(pk=int(key)).first() if len(key) < 19 else None
    for candidate in dict.fromkeys([key, key.upper(), key.lower()]):
        if found := letters.filter(key=candidate).first():
            return found
    lower = key.lower()
    if _HASH_KEY.fullmatch(lower):  # a letter whose key became its case number
        return letters.filter(content_hash__startswith=lower).order_by("pk").first()
    return letters.filter(case_number=key.upper()).order_by("pk").first()


def letter_original(key: str) -> Determination | None:
    """The letter of ``key`` (its original file and that file's name only), or None."""
    return Determination.objects.only("original", "original_name").filter(key=key).first()


def letter_with_items(key: str) -> tuple[Determination, list[DecisionItem]] | None:
    """The letter of ``key`` and its items with everything its page shows, or None."""
    letter = (
        Determination.objects.prefetch_related("reviewer_states", "reviewer_specialties")
        .filter(key=key)
        .first()
    )
    if letter is None:
        return None
    items = list(
        letter.items.prefetch_related("treatments", "body_regions", citations_prefetch("chapters"))
    )
    return letter, items


def similar_decisions(
    letter: Determination, items: list[DecisionItem]
) -> dict[int, similar.Similar]:
    """Each item's similar decisions in other letters and their rate (``decisions.similar``),
    by item id, from the items as ``letter_with_items`` read them: three queries whatever their
    number (the facet index's version, the text ranks, the rows shown)."""
    subjects = [
        similar.Subject(
            item.pk,
            treatments=tuple((t.slug, t.label) for t in item.treatments.all()),
            drug=item.drug_id,
            regions=tuple((r.slug, r.label) for r in item.body_regions.all()),
            pages=tuple(
                (c.guideline_id, c.guideline.label, page)
                for c in item.citations.all()
                if c.source == CitingSide.MAXIMUS
                for r in c.page_ranges.all()
                if not r.derived
                for page in range(r.first_page, r.last_page + 1)
            ),
        )
        for item in items
    ]
    with facet_index.current_index() as index:
        return similar.for_subjects(index, subjects, letter.pk)
