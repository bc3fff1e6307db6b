"""Reading decisions for the site: the search (filters, text, sort, page, facets) and a letter.

Views call these and render what they return; nothing here writes. Every search is read from a
query string, so each view of the results has a permalink.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import F, Prefetch, QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from pyroaring import BitMap

from . import facet_index, search
from .facets import Facet, Selection
from .filters import DecisionFilter
from .models import CitedPageRange, DecisionItem, Determination, GuidelineCitation

PAGE_SIZE = 50
# name -> (label, the order as the database would give it). The engine sorts the same way
# (unknown dates and ages last), which a test checks against these orderings.
SORTS = {
    "relevance": ("Best match", None),
    "newest": ("Newest first", ("-determination_id", "position")),
    "oldest": ("Oldest first", ("determination_id", "position")),
    "injury": (
        "Most recent injury",
        (F("determination__date_of_injury").desc(nulls_last=True), "-determination_id", "position"),
    ),
    "age": (
        "Patient age",
        (F("determination__patient_age").asc(nulls_last=True), "-determination_id", "position"),
    ),
}


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

    @property
    def count(self) -> int:
        return self.page.paginator.count if self.page else 0

    @property
    def filtered(self) -> bool:
        """Whether any filter or text narrows the search (sort and page do not)."""
        return any(
            value
            for name, values in self.params.lists()
            if name not in ("sort", "page", "within")
            for value in values
        )

    @property
    def sorts(self) -> list[tuple[str, str]]:
        """The sorts this search offers (best match only for a text search)."""
        return [
            (key, label) for key, (label, _) in SORTS.items() if key != "relevance" or self.query
        ]


def decision_search(params: QueryDict) -> Search:
    """The decisions meeting ``params``: a page of them, every facet counted, or the errors."""
    found = Search(params=params)
    filterset = DecisionFilter(params, queryset=DecisionItem.objects.all())
    if not filterset.is_valid():
        found.errors = {k: [str(e) for e in v] for k, v in filterset.errors.items()}
        return found
    found.query = search.parse(filterset.form.cleaned_data.get("q") or "")
    found.sort = params.get("sort") or ("relevance" if found.query else "newest")
    if found.sort not in SORTS or (found.sort == "relevance" and not found.query):
        found.errors = {"sort": [f"Unknown sort “{found.sort}”: use one of {', '.join(SORTS)}."]}
        return found
    found.within = filterset.form.cleaned_data.get("within") or "decision"
    in_letters = found.within == "letter"
    with facet_index.current_index() as index:
        matches = first = None
        if found.query:
            matches = _text_matches(index, found.query, in_letters=in_letters)
            if found.sort == "relevance" and not in_letters:
                first = _text_matches(index, found.query, request_only=True)
        selection = Selection(index, filterset.form.cleaned_data, matches)
        found.facets = selection.facets()
        sort = "newest" if found.sort == "relevance" else found.sort
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


def _text_matches(
    index: facet_index.FacetIndex,
    query: search.Query,
    *,
    in_letters: bool = False,
    request_only: bool = False,
) -> BitMap:
    """The items a text search matches, from the database's full-text index."""
    if in_letters:
        sql, params = search.matching_letters(query)
    else:
        sql, params = search.matching_items(query, request_only=request_only)
    ids = facet_index.read_ints(["m.id"], f"FROM ({sql}) m", params)[:, 0]
    return index.items_of_letters(ids) if in_letters else facet_index.bitmap(ids) & index.items


class _Results:
    """The found items in sort order, as the paginator sees them: a count, and slices of rows.

    A slice is a list of ids from the engine, then one query (and its prefetches) for the rows.
    """

    def __init__(
        self, index: facet_index.FacetIndex, found: BitMap, sort: str, first: BitMap | None
    ) -> None:
        self.index, self.found, self.sort, self.first = index, found, sort, first

    def count(self) -> int:
        return len(self.found)

    def __len__(self) -> int:
        return len(self.found)

    def __getitem__(self, page: slice) -> list[DecisionItem]:
        start, stop = page.start or 0, page.stop or len(self)
        ids = self.index.page(self.found, self.sort, start, stop, first=self.first)
        rows = results_related(DecisionItem.objects.filter(pk__in=ids)).in_bulk()
        return [rows[pk] for pk in ids if pk in rows]


def letter_count() -> int:
    """How many letters the site holds (shown on the unfiltered home page)."""
    return Determination.objects.count()


# What a results row (and the API's) reads of an item and its letter: not the letter's text, its
# summary, or the JSON of spans and warnings, which cost more to load than the rest of the row.
RESULT_FIELDS = [
    "determination_id",
    "position",
    "request",
    "outcome",
    "body_regions_inferred",
    "laterality",
    "quantity",
    "drug_id",
    "drug_class",
    "determination__case_number",
    "determination__patient_age",
    "determination__patient_sex",
    "determination__date_of_injury",
]


def results_related(items: QuerySet) -> QuerySet:
    """What a results row shows, in a fixed number of queries whatever the page size."""
    citations = citations_prefetch(
        only=["item_id", "source", "guideline__slug", "guideline__label", "section"]
    )
    return (
        items.select_related("determination")
        .only(*RESULT_FIELDS)
        .prefetch_related(
            "treatments", "body_regions", "determination__reviewer_specialties", citations
        )
    )


def citations_prefetch(*related: str, only: list[str] | None = None) -> Prefetch:
    """An item's citations with their guideline and pages (and ``related``), in one query each.

    ``only``: the citation fields to load (a results row reads a few; the letter page all).
    """
    citations = GuidelineCitation.objects.select_related("guideline")
    pages = CitedPageRange.objects.all()
    if only:
        citations = citations.only(*only)
        pages = pages.only("citation_id", "first_page", "last_page", "derived")
    return Prefetch(
        "citations",
        queryset=citations.prefetch_related(Prefetch("page_ranges", queryset=pages), *related),
    )


def letter_with_items(pk: int) -> tuple[Determination, list[DecisionItem]]:
    """A letter (404 if none) and its items with everything the letter page shows."""
    letter = get_object_or_404(
        Determination.objects.prefetch_related("reviewer_states", "reviewer_specialties"), pk=pk
    )
    items = list(
        letter.items.prefetch_related("treatments", "body_regions", citations_prefetch("chapters"))
    )
    return letter, items
