"""Facet counts: for each facet, how many decisions each value would give under the current search.

The one place that counts. Counts are disjunctive, as shoppers and searchers expect: a facet is
counted under every filter but its own, so choosing a second treatment shows how many decisions
it adds.

Two ways to count, with identical results (a test compares them on random filter sets):
``Selection`` answers from the in-memory bitmaps of ``decisions.facet_index`` (milliseconds
at a million letters), and ``facet_counts_sql`` with one GROUP BY per facet over the filtered
decisions (seconds at that size): the reference the engine is checked against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Case, CharField, Count, QuerySet, Value, When
from pyroaring import BitMap

from .facet_index import FacetIndex
from .filters import AGE_BANDS, DecisionFilter, citation_conditions
from .models import Category, DecisionItem, Determination, DrugClass, GuidelineCitation


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool = False


@dataclass
class Facet:
    name: str
    label: str
    values: list[FacetValue] = field(default_factory=list)

    @property
    def selected(self) -> list[FacetValue]:
        return [v for v in self.values if v.selected]


Rows = list[tuple[object, str, int]]  # (value, label, count)


def _grouped(
    queryset: QuerySet, value: str, label: str | None = None, *, distinct: bool = False
) -> Rows:
    """Decisions per value of ``value``; ``distinct`` where one decision can reach a value
    twice (two treatments of one category)."""
    fields = [value, label] if label else [value]
    rows = (
        queryset.filter(**{f"{value}__isnull": False})
        .values(*fields)
        .annotate(n=Count("pk", distinct=distinct))
        .order_by()
        .values_list(*fields, "n")
    )
    return [(r[0], r[1] if label else str(r[0]), r[-1]) for r in rows]


def _choices(
    queryset: QuerySet, path: str, choices: dict[str, str], *, distinct: bool = False
) -> Rows:
    counts = {v: n for v, _, n in _grouped(queryset, path, distinct=distinct)}
    return [(v, label, counts[v]) for v, label in choices.items() if v in counts]


def _citations(filterset: DecisionFilter, name: str, value: str, label: str | None) -> Rows:
    """Count decisions per guideline or side among the citations meeting the other filters."""
    cleaned = filterset.form.cleaned_data
    rows = citation_conditions(cleaned, without=name)
    if rows is None:
        rows = GuidelineCitation.objects.all()
    rows = rows.filter(item_id__in=filterset.queryset_without(name).values("pk"))
    fields = [value, label] if label else [value]
    grouped = rows.values(*fields).annotate(n=Count("item_id", distinct=True)).order_by()
    if label:
        return [(g[value], g[label], g["n"]) for g in grouped]
    choices = dict(GuidelineCitation.Source.choices)
    return [(g[value], choices.get(g[value], g[value]), g["n"]) for g in grouped]


def _age(queryset: QuerySet) -> Rows:
    band = Case(
        *[When(condition, then=Value(key)) for key, (_, condition) in AGE_BANDS.items()],
        default=Value(""),
        output_field=CharField(),
    )
    counts = dict(
        queryset.annotate(band=band).values("band").annotate(n=Count("pk")).values_list("band", "n")
    )
    return [(k, label, counts[k]) for k, (label, _) in AGE_BANDS.items() if counts.get(k)]


# name -> (label, counter, order). Counters get the decisions meeting every other filter.
FACETS: dict[str, tuple[str, Callable[[DecisionFilter, str], Rows], str]] = {
    "outcome": (
        "Outcome",
        lambda fs, n: _choices(
            fs.queryset_without(n), "outcome", dict(DecisionItem.Outcome.choices)
        ),
        "fixed",
    ),
    "category": (
        "Treatment category",
        lambda fs, n: _choices(
            fs.queryset_without(n), "treatments__category", dict(Category.choices), distinct=True
        ),
        "count",
    ),
    "treatment": (
        "Treatment",
        lambda fs, n: _grouped(fs.queryset_without(n), "treatments__slug", "treatments__label"),
        "count",
    ),
    "drug_class": (
        "Drug class",
        lambda fs, n: _choices(fs.queryset_without(n), "drug_class", dict(DrugClass.choices)),
        "count",
    ),
    "drug": (
        "Drug",
        lambda fs, n: _grouped(fs.queryset_without(n), "drug__slug", "drug__label"),
        "count",
    ),
    "body_region": (
        "Body region",
        lambda fs, n: _grouped(fs.queryset_without(n), "body_regions__slug", "body_regions__label"),
        "count",
    ),
    "guideline": (
        "Guideline",
        lambda fs, n: _citations(fs, n, "guideline_id", "guideline__label"),
        "count",
    ),
    "source": ("Citing side", lambda fs, n: _citations(fs, n, "source", None), "count"),
    "specialty": (
        "Reviewer specialty",
        lambda fs, n: _grouped(
            fs.queryset_without(n),
            "determination__reviewer_specialties__slug",
            "determination__reviewer_specialties__label",
        ),
        "count",
    ),
    "state": (
        "Reviewer licensure",
        lambda fs, n: _grouped(
            fs.queryset_without(n),
            "determination__reviewer_states__slug",
            "determination__reviewer_states__label",
        ),
        "count",
    ),
    "sex": (
        "Patient sex",
        lambda fs, n: _choices(
            fs.queryset_without(n), "determination__patient_sex", dict(Determination.Sex.choices)
        ),
        "fixed",
    ),
    "age": ("Patient age", lambda fs, n: _age(fs.queryset_without(n)), "fixed"),
    "injury_year": (
        "Year of injury",
        lambda fs, n: _grouped(fs.queryset_without(n), "determination__injury_year"),
        "value_desc",
    ),
    "decision_year": (
        "Year of decision",
        lambda fs, n: _grouped(fs.queryset_without(n), "determination__decision_year"),
        "value_desc",
    ),
}


def _selected_values(cleaned: dict, name: str) -> set[str]:
    return set(selected_labels(cleaned, name))


def selected_labels(cleaned: dict, name: str) -> dict[str, str]:
    """The chosen values of facet ``name``, each with its label: a term's own, or its choice's."""
    labels = FIXED_LABELS.get(name, {})
    return {
        str(getattr(v, "slug", v)): getattr(v, "label", None) or labels.get(str(v), str(v))
        for v in cleaned.get(name) or []
    }


def chosen_labels(cleaned: dict) -> list[tuple[str, list[str]]]:
    """(facet label, the labels of its chosen values) of each facet a valid search chooses
    values of, in the facets' order: the search's filters in words, with nothing counted."""
    chosen = []
    for name, (label, _, _) in FACETS.items():
        if selected := selected_labels(cleaned, name):
            chosen.append((label, sorted(selected.values(), key=str.lower)))
    return chosen


def _assemble(cleaned: dict, counted: dict[str, Rows]) -> list[Facet]:
    """Facets in their fixed order, each value with its count, chosen values marked."""
    facets = []
    for name, (label, _, order) in FACETS.items():
        selected = selected_labels(cleaned, name)
        values = [FacetValue(str(v), lbl, n, str(v) in selected) for v, lbl, n in counted[name]]
        shown = {v.value for v in values}
        # A chosen value the other filters leave no decision for: still shown, and removable.
        values += [FacetValue(v, selected[v], 0, True) for v in sorted(selected.keys() - shown)]
        if order == "count":
            values.sort(key=lambda v: (-v.count, v.label.lower()))
        elif order == "value_desc":
            values.sort(key=lambda v: v.value, reverse=True)
        facets.append(Facet(name, label, values))
    return facets


def facet_counts_sql(filterset: DecisionFilter) -> list[Facet]:
    """Every facet counted by the database, a GROUP BY each; ``filterset`` must be valid."""
    counted = {name: counter(filterset, name) for name, (_, counter, _) in FACETS.items()}
    return _assemble(filterset.form.cleaned_data, counted)


# --- the engine -----------------------------------------------------------------------------

FIXED_LABELS = {
    "outcome": dict(DecisionItem.Outcome.choices),
    "sex": dict(Determination.Sex.choices),
    "age": {k: label for k, (label, _) in AGE_BANDS.items()},
    "source": dict(GuidelineCitation.Source.choices),
    "category": dict(Category.choices),
    "drug_class": dict(DrugClass.choices),
}
# Facets the engine holds a bitmap per value for (the citation ones are apart: see Selection).
VALUE_FACETS = [
    "outcome",
    "category",
    "treatment",
    "drug_class",
    "drug",
    "body_region",
    "specialty",
    "state",
    "sex",
    "age",
    "injury_year",
    "decision_year",
]


class Selection:
    """A valid search's filters as bitmaps of the engine: what they find, and every facet count.

    ``text_matches``: the items a text search matched (None when there is no text).
    """

    def __init__(self, index: FacetIndex, cleaned: dict, text_matches: BitMap | None) -> None:
        self.index, self.cleaned = index, cleaned
        self.filters: dict[str, BitMap] = {}
        for name in VALUE_FACETS:
            chosen = _selected_values(cleaned, name)
            if chosen:
                self.filters[name] = index.matching({name: chosen})
        if text_matches is not None:
            self.filters["q"] = text_matches
        self.guidelines = sorted(_selected_values(cleaned, "guideline"))
        self.sides = sorted(_selected_values(cleaned, "source"))
        page = cleaned.get("cited_page")
        self.page = int(page) if page else None
        if self.guidelines or self.sides or self.page:
            self.filters["citation"] = index.citing(self.guidelines, self.sides, self.page)
        self.found = self._all_but(None)

    def found_but(self, name: str) -> BitMap:
        """Items meeting every filter but facet ``name`` (what its counts are counted in)."""
        return self._all_but(name)

    def _all_but(self, name: str | None) -> BitMap:
        """Items meeting every filter but ``name`` (the citation filters are one, "citation")."""
        chosen = [b for n, b in self.filters.items() if n != name]
        if not chosen:
            return self.index.items
        chosen.sort(key=len)
        return BitMap.intersection(*chosen) if len(chosen) > 1 else chosen[0]

    def _count(self, base: BitMap, values: BitMap) -> int:
        # With no other filter every item counts: the bitmap's own size, no intersection.
        return len(values) if base is self.index.items else base.intersection_cardinality(values)

    def counts(self) -> dict[str, Rows]:
        index, counted = self.index, {}
        for name in VALUE_FACETS:
            base = self._all_but(name)
            labels = FIXED_LABELS.get(name) or index.labels.get(name, {})
            rows = [
                (v, labels.get(v, v), self._count(base, b))
                for v, b in index.values.get(name, {}).items()
            ]
            counted[name] = [r for r in rows if r[2]]
        base = self._all_but("citation")
        guideline_labels = index.labels["guideline"]
        counted["guideline"] = [
            (g, guideline_labels.get(g, g), n)
            for g in guideline_labels
            if (n := self._count(base, index.citing([g], self.sides, self.page)))
        ]
        counted["source"] = [
            (s, FIXED_LABELS["source"][s], n)
            for s in FIXED_LABELS["source"]
            if (n := self._count(base, index.citing(self.guidelines, [s], self.page)))
        ]
        return counted

    def facets(self) -> list[Facet]:
        return _assemble(self.cleaned, self.counts())
