"""Facet counts: for each facet, how many decisions each value would give under the current search.

The one place that counts. Counts are disjunctive, as shoppers and searchers expect: a facet is
counted under every filter but its own, so choosing a second treatment shows how many decisions
it adds. Each facet is one GROUP BY over the filtered decisions (a fixed number of queries
whatever the page). At a million letters these become the slow part; a later version can answer
from precomputed counts behind the same ``facet_counts`` without touching views.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Case, CharField, Count, QuerySet, Value, When

from .filters import AGE_BANDS, DecisionFilter, citation_conditions
from .models import DecisionItem, Determination, GuidelineCitation


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


def _grouped(queryset: QuerySet, value: str, label: str | None = None) -> Rows:
    fields = [value, label] if label else [value]
    rows = (
        queryset.filter(**{f"{value}__isnull": False})
        .values(*fields)
        .annotate(n=Count("pk"))
        .order_by()
        .values_list(*fields, "n")
    )
    return [(r[0], r[1] if label else str(r[0]), r[-1]) for r in rows]


def _choices(queryset: QuerySet, path: str, choices: dict[str, str]) -> Rows:
    counts = {v: n for v, _, n in _grouped(queryset, path)}
    return [(v, label, counts[v]) for v, label in choices.items() if v in counts]


def _citations(filterset: DecisionFilter, name: str, value: str, label: str | None) -> Rows:
    """Count decisions per guideline or side among the citations meeting the other filters."""
    cleaned = filterset.form.cleaned_data
    rows = citation_conditions(cleaned, without=name) or GuidelineCitation.objects.all()
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
    "treatment": (
        "Treatment",
        lambda fs, n: _grouped(fs.queryset_without(n), "treatments__slug", "treatments__label"),
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
}


def _selected_values(cleaned: dict, name: str) -> set[str]:
    value = cleaned.get(name) or []
    return {str(getattr(v, "slug", v)) for v in value}


def facet_counts(filterset: DecisionFilter) -> list[Facet]:
    """Every facet with its values and counts; ``filterset`` must be valid."""
    cleaned = filterset.form.cleaned_data
    facets = []
    for name, (label, counter, order) in FACETS.items():
        rows = counter(filterset, name)
        selected = _selected_values(cleaned, name)
        values = [FacetValue(str(v), lbl, n, str(v) in selected) for v, lbl, n in rows]
        shown = {v.value for v in values}
        values += [FacetValue(v, v, 0, True) for v in sorted(selected - shown)]  # still removable
        if order == "count":
            values.sort(key=lambda v: (-v.count, v.label.lower()))
        elif order == "value_desc":
            values.sort(key=lambda v: v.value, reverse=True)
        facets.append(Facet(name, label, values))
    return facets
