"""The guideline browser: each guideline, its pages, topics, chapters and sections, and the
decisions citing each.

For every guideline (and each of its pages, MTUS Chronic Pain topics, ACOEM chapters and
sections as written): how many decisions cite it by each side, the claims administrator's
Utilization Review and the MAXIMUS reviewer, and the overturn rate among the decisions where
MAXIMUS relied on it (``stats.Rate``: a 95% Wilson interval, words only under ten decisions).

Counts are the facet engine's bitmaps (``facet_index``: a citation's side and guideline, its
pages, its chapters, its section's wording), so a count is an intersection's size whatever the
number of letters (a GROUP BY of the sections or chapters took 3.5-11 s at a million letters),
and a count linked to the search is the very count that search finds (guideline, side and page
of one and the same citation). A topic is a range of pages of the MTUS page table
(``parsing.vocab.MTUS_SECTIONS``), counted as the decisions citing any page of it; the search
takes one page at a time, so a topic's counts link nowhere, its pages do.

Either page may be scoped by a search's filters (``?treatment=physical_therapy``): the same
FilterSet, read into a ``facets.Selection``. The citation filters (guideline, source,
cited_page) are what the browser counts by, so they cannot scope it. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import reverse
from pyroaring import BitMap

from . import facet_index, stats
from .facets import FACETS, Selection, selected_labels
from .filters import CITATION_PARAMS, DecisionFilter
from .models import CitingSide, DecisionItem
from .parsing import vocab
from .selectors import text_matches

MTUS_CHRONIC_PAIN, MTUS_ACOEM = "mtus_chronic_pain", "mtus_acoem"
CLAIMS, MAXIMUS = CitingSide.CLAIMS_ADMINISTRATOR, CitingSide.MAXIMUS
# ?order=: name -> what the tables are sorted by.
ORDERS = {
    "count": "most cited by MAXIMUS first",
    "rate": "highest overturn rate first (those with fewer than 10 decisions last)",
}
SECTIONS_SHOWN = 25  # the most cited sections as written, of many


@dataclass(frozen=True)
class Cited:
    """How many decisions cite one thing by each side, and how those MAXIMUS decided fared.

    A url is the search finding those decisions ("" where no search says it: a topic, a
    chapter, a section).
    """

    claims: int
    maximus: int
    rate: stats.Rate  # among the decisions where MAXIMUS relied on it
    claims_url: str = ""
    maximus_url: str = ""

    @property
    def sides(self) -> list[tuple[str, int, str]]:
        """(side, decisions, url) of each side, as the pages show them."""
        return [
            ("the claims administrator (UR)", self.claims, self.claims_url),
            ("MAXIMUS", self.maximus, self.maximus_url),
        ]


@dataclass(frozen=True)
class Row:
    """One line of a table: a guideline, a page, a topic, a chapter or a section."""

    key: str
    label: str
    cited: Cited
    url: str = ""  # its own page (a guideline's)
    notes: str = ""  # a page's topics, a topic's pages


@dataclass
class Browse:
    """What both pages share: the order, the scope (the search's filters), or what was wrong."""

    params: QueryDict
    errors: dict[str, list[str]] = field(default_factory=dict)
    order: str = "count"
    scope: list[tuple[str, str]] = field(default_factory=list)  # (filter, value) in force
    scope_query: str = ""  # those filters as a query string ("" for every decision)

    @property
    def order_label(self) -> str:
        return ORDERS.get(self.order, "")

    @property
    def search_url(self) -> str:
        """The search of the decisions in scope."""
        return _home() + (f"?{self.scope_query}" if self.scope_query else "")


@dataclass
class GuidelineList(Browse):
    guidelines: list[Row] = field(default_factory=list)


@dataclass
class GuidelineDetail(Browse):
    slug: str = ""
    label: str = ""
    summary: Row | None = None
    topics: list[Row] = field(default_factory=list)  # MTUS Chronic Pain's, those cited
    uncited_topics: list[Row] = field(default_factory=list)  # the others, in page order
    pages: list[Row] = field(default_factory=list)
    chapters: list[Row] = field(default_factory=list)
    sections: list[Row] = field(default_factory=list)  # the first SECTIONS_SHOWN, in order
    sections_total: int = 0  # how many sections as written there are

    @property
    def is_chronic_pain(self) -> bool:
        return self.slug == MTUS_CHRONIC_PAIN


def guideline_list(params: QueryDict) -> GuidelineList:
    """Every guideline with the decisions citing it by each side, in scope of ``params``."""
    found = GuidelineList(params=params)
    with facet_index.current_index() as index:
        scope = _read(found, index)
        if scope is None:
            return found
        labels = index.labels.get("guideline", {})
        found.guidelines = _ordered(
            [
                Row(
                    g,
                    label,
                    _searched(index, scope, found, g, None),
                    url=_guideline_url(g, found.scope_query),
                )
                for g, label in sorted(labels.items(), key=_guideline_order)
            ],
            found.order,
        )
    return found


def guideline_detail(slug: str, params: QueryDict) -> GuidelineDetail | None:
    """One guideline: its counts, its cited pages (MTUS Chronic Pain's with their topics), its
    chapters and its sections as written; None if no guideline has ``slug``."""
    with facet_index.current_index() as index:
        label = index.labels.get("guideline", {}).get(slug)
        if label is None:
            return None
        found = GuidelineDetail(params=params, slug=slug, label=label)
        scope = _read(found, index)
        if scope is None:
            return found
        found.summary = Row(slug, label, _searched(index, scope, found, slug, None))
        found.pages = _pages(index, scope, found)
        if slug == MTUS_CHRONIC_PAIN:
            topics = _topics(index, scope)
            found.topics = _ordered([t for t in topics if _any(t)], found.order)
            found.uncited_topics = [t for t in topics if not _any(t)]
        found.chapters = _chapters(index, scope, found)
        sections = _sections(index, scope, found)
        found.sections, found.sections_total = sections[:SECTIONS_SHOWN], len(sections)
    return found


# --- reading the request ----------------------------------------------------------------------


def _read(found: Browse, index: facet_index.FacetIndex) -> BitMap | None:
    """The items in scope of ``found.params`` (every item without filters), or None with
    ``found.errors`` said."""
    params = found.params
    found.order = params.get("order") or "count"
    if found.order not in ORDERS:
        found.errors["order"] = [f"Unknown order “{found.order}”: use one of {', '.join(ORDERS)}."]
    for name in CITATION_PARAMS:
        if params.get(name):
            found.errors[name] = [
                f"This page counts by guideline, citing side and page: “{name}” cannot narrow "
                "it. Filter by what was requested, the body region, the reviewer or the "
                "patient instead."
            ]
    filterset = DecisionFilter(params, queryset=DecisionItem.objects.none())
    if not filterset.is_valid():
        found.errors.update({k: [str(e) for e in v] for k, v in filterset.errors.items()})
    if found.errors:
        return None
    cleaned = filterset.form.cleaned_data
    selection = Selection(index, cleaned, text_matches(index, cleaned))
    kept = [
        (name, value)
        for name, values in params.lists()
        if name in DecisionFilter.base_filters
        for value in values
        if value
    ]
    found.scope_query = urlencode(kept)
    found.scope = _scope_labels(cleaned)
    if cleaned.get("q"):
        found.scope.append(("Text", f"“{cleaned['q']}”"))
    return selection.found


def _scope_labels(cleaned: dict) -> list[tuple[str, str]]:
    """(filter, value) of each filter value in force, as the search page names them (without
    counting every facet, as the search page does)."""
    return [
        (label, text)
        for name, (label, _, _) in FACETS.items()
        for text in selected_labels(cleaned, name).values()
    ]


# --- counting ---------------------------------------------------------------------------------


def _count(index: facet_index.FacetIndex, scope: BitMap, items: BitMap | None) -> int:
    if not items:
        return 0
    return len(items) if scope is index.items else scope.intersection_cardinality(items)


def _cited(
    index: facet_index.FacetIndex, scope: BitMap, claims: BitMap | None, maximus: BitMap | None
) -> Cited:
    """The decisions in ``scope`` among ``claims`` and ``maximus`` (items citing something by
    each side), and the rate of those MAXIMUS decided on it."""
    relied = BitMap() if not maximus else maximus if scope is index.items else scope & maximus
    return Cited(_count(index, scope, claims), len(relied), stats.rate_of(index, relied))


def _searched(
    index: facet_index.FacetIndex, scope: BitMap, found: Browse, guideline: str, page: int | None
) -> Cited:
    """The decisions in scope citing ``guideline`` (at ``page``) by each side, with the
    searches finding them."""
    if page is None:
        claims, maximus = (index.cited.get((side, guideline)) for side in (CLAIMS, MAXIMUS))
    else:
        claims, maximus = (index.cited_pages.get((s, guideline, page)) for s in (CLAIMS, MAXIMUS))
    cited = _cited(index, scope, claims, maximus)
    return Cited(
        cited.claims,
        cited.maximus,
        cited.rate,
        claims_url=_search_url(found.scope_query, guideline, page, CLAIMS),
        maximus_url=_search_url(found.scope_query, guideline, page, MAXIMUS),
    )


def _any(row: Row) -> bool:
    return bool(row.cited.claims or row.cited.maximus)


def _union(bitmaps: list[BitMap | None]) -> BitMap:
    present = [b for b in bitmaps if b]
    return BitMap.union(*present) if present else BitMap()


def _pages(index: facet_index.FacetIndex, scope: BitMap, found: GuidelineDetail) -> list[Row]:
    """The pages of the guideline that citations name, with (MTUS Chronic Pain) their topics."""
    g = found.slug
    pages = sorted({p for _, guideline, p in index.cited_pages if guideline == g})
    topics = _topics_of_pages() if g == MTUS_CHRONIC_PAIN else {}
    rows = []
    for p in pages:
        cited = _searched(index, scope, found, g, p)
        if cited.claims or cited.maximus:
            rows.append(Row(str(p), f"Page {p}", cited, notes="; ".join(topics.get(p, []))))
    return _ordered(rows, found.order)


def _topics(index: facet_index.FacetIndex, scope: BitMap) -> list[Row]:
    """Each topic of the MTUS page table: the decisions citing any of its pages, by side."""
    g = MTUS_CHRONIC_PAIN
    rows = []
    for term in vocab.MTUS_SECTIONS:
        pages = [p for first, last in term.pages for p in range(first, last + 1)]
        claims, maximus = (
            _union([index.cited_pages.get((side, g, p)) for p in pages])
            for side in (CLAIMS, MAXIMUS)
        )
        cited = _cited(index, scope, claims, maximus)
        rows.append(Row(term.slug, term.label, cited, notes=_page_ranges(term.pages)))
    return rows


def _chapters(index: facet_index.FacetIndex, scope: BitMap, found: GuidelineDetail) -> list[Row]:
    """The chapters citations of the guideline name (ACOEM's), by side."""
    names = vocab.ACOEM_CHAPTERS if found.slug == MTUS_ACOEM else {}
    return _ordered(
        [
            Row(str(n), f"Chapter {n}" + (f": {names[n]}" if n in names else ""), cited)
            for n, cited in _of_guideline(index, scope, index.chapters, found.slug)
        ],
        found.order,
    )


def _sections(index: facet_index.FacetIndex, scope: BitMap, found: GuidelineDetail) -> list[Row]:
    """The sections citations of the guideline give as written (not those looked up from the
    pages), one row a wording (``facet_index.wording_of``), by side."""
    rows = [
        Row(index.section_wordings[code], index.section_labels[code], cited)
        for code, cited in _of_guideline(index, scope, index.sections, found.slug)
    ]
    rows.sort(key=lambda r: r.key)
    return _ordered(rows, found.order)


def _of_guideline(
    index: facet_index.FacetIndex, scope: BitMap, bitmaps: dict, guideline: str
) -> list[tuple[int, Cited]]:
    """(value, counts) of each value of ``bitmaps`` ((side, guideline, value) -> items) that a
    decision in scope cites, in value order."""
    rows = []
    for value in sorted({v for _, g, v in bitmaps if g == guideline}):
        claims, maximus = (bitmaps.get((side, guideline, value)) for side in (CLAIMS, MAXIMUS))
        cited = _cited(index, scope, claims, maximus)
        if cited.claims or cited.maximus:
            rows.append((value, cited))
    return rows


# --- order, labels and links ------------------------------------------------------------------


def _ordered(rows: list[Row], order: str) -> list[Row]:
    """``rows`` (given in their natural order, which breaks ties) most cited by MAXIMUS first,
    or by overturn rate (rows with too few decisions for a rate after, most cited first)."""
    if order == "rate":
        return sorted(
            rows,
            key=lambda r: (not r.cited.rate.enough, -(r.cited.rate.rate or 0), -r.cited.maximus),
        )
    return sorted(rows, key=lambda r: (-r.cited.maximus, -r.cited.claims))


def _guideline_order(item: tuple[str, str]) -> tuple[int, str]:
    """The vocabulary's order (the MTUS parts first), then any other by label."""
    slug, label = item
    order = [t.slug for t in vocab.GUIDELINES]
    return (order.index(slug), "") if slug in order else (len(order), label.lower())


def _topics_of_pages() -> dict[int, list[str]]:
    """MTUS Chronic Pain page -> the labels of the page table's topics covering it."""
    topics: dict[int, list[str]] = {}
    for term in vocab.MTUS_SECTIONS:
        for first, last in term.pages:
            for p in range(first, last + 1):
                topics.setdefault(p, []).append(term.label)
    return topics


def _page_ranges(ranges) -> str:
    """ "pages 98-99", "page 122" """
    pages = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)
    return ("pages " if any(a != b for a, b in ranges) or len(ranges) > 1 else "page ") + pages


def _home() -> str:
    return reverse("decisions:home")


def _search_url(scope_query: str, guideline: str, page: int | None, side: str) -> str:
    """The search for the decisions in scope citing ``guideline`` (at ``page``) by ``side``."""
    citation = {"guideline": guideline, **({"cited_page": page} if page else {}), "source": side}
    return _home() + "?" + "&".join(filter(None, [scope_query, urlencode(citation)]))


def _guideline_url(slug: str, scope_query: str) -> str:
    url = reverse("decisions:guideline", kwargs={"slug": slug})
    return url + (f"?{scope_query}" if scope_query else "")
