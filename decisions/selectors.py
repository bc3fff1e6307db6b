"""Reading decisions for the site: the search (filters, text, sort, page, facets) and a letter.

Views call these and render what they return; nothing here writes. Every search is read from a
query string, so each view of the results has a permalink.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404

from . import search
from .facets import Facet, facet_counts
from .filters import DecisionFilter
from .models import DecisionItem, Determination, GuidelineCitation

PAGE_SIZE = 50
SORTS = {
    "relevance": ("Best match", None),
    "newest": ("Newest first", ("-determination_id", "position")),
    "oldest": ("Oldest first", ("determination_id", "position")),
    "injury": (
        "Most recent injury",
        ("-determination__date_of_injury", "-determination_id", "position"),
    ),
    "age": ("Patient age", ("determination__patient_age", "-determination_id", "position")),
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
    snippets: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return self.page.paginator.count if self.page else 0

    @property
    def filtered(self) -> bool:
        """Whether any filter or text narrows the search (sort and page do not)."""
        return any(
            value
            for name, values in self.params.lists()
            if name not in ("sort", "page")
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
    items = filterset.qs
    if found.sort == "relevance":
        items = items.annotate(rank=search.rank(found.query)).order_by(
            "-rank", "-determination_id", "position"
        )
    else:
        items = items.order_by(*SORTS[found.sort][1])
    found.page = Paginator(results_related(items), PAGE_SIZE).get_page(params.get("page"))
    found.snippets = search.snippets(found.query, [i.determination_id for i in found.page])
    for item in found.page:
        item.snippet = found.snippets.get(item.determination_id)
    found.facets = facet_counts(filterset)
    return found


def letter_count() -> int:
    """How many letters the site holds (shown on the unfiltered home page)."""
    return Determination.objects.count()


def results_related(items: QuerySet) -> QuerySet:
    """What a results row shows, in a fixed number of queries whatever the page size."""
    return items.select_related("determination").prefetch_related(
        "treatments", "body_regions", "determination__reviewer_specialties", citations_prefetch()
    )


def citations_prefetch(*related: str) -> Prefetch:
    """An item's citations with their guideline and pages (and ``related``), in one query each."""
    return Prefetch(
        "citations",
        queryset=GuidelineCitation.objects.select_related("guideline").prefetch_related(
            "page_ranges", *related
        ),
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
