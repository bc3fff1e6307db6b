"""The search filters: one FilterSet over decisions (disputed items), for the page and the API.

Several values of one filter are OR'ed (``?treatment=mri&treatment=ct``), different filters are
AND'ed. Every filter is an ``Exists``/``IN`` subquery rather than a join, so the filtered queryset
keeps one row per decision (facet counts in ``decisions.facets`` rely on that). The guideline,
the citing side and the cited page apply to one and the same citation: "MTUS Chronic Pain page 99"
means a citation of that guideline that cites page 99.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from . import search
from .models import (
    BodyRegion,
    CitedPageRange,
    DecisionItem,
    Determination,
    Guideline,
    GuidelineCitation,
    Specialty,
    State,
    Treatment,
)

AGE_BANDS = {
    "under_30": ("Under 30", Q(determination__patient_age__lt=30)),
    "30_39": ("30-39", Q(determination__patient_age__gte=30, determination__patient_age__lt=40)),
    "40_49": ("40-49", Q(determination__patient_age__gte=40, determination__patient_age__lt=50)),
    "50_59": ("50-59", Q(determination__patient_age__gte=50, determination__patient_age__lt=60)),
    "60_plus": ("60 and over", Q(determination__patient_age__gte=60)),
}
CITATION_PARAMS = ("guideline", "source", "cited_page")


class MultipleIntegerField(forms.Field):
    """A repeated query parameter of whole numbers (``?injury_year=2011&injury_year=2012``)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "“%(value)s” is not a year."}

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else [value] if value else []
        out = []
        for v in values:
            try:
                out.append(int(v))
            except (TypeError, ValueError):
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid", params={"value": v}
                ) from None
        return out


class MultipleIntegerFilter(django_filters.Filter):
    field_class = MultipleIntegerField


def _slugs(values) -> list[str]:
    return [v.slug for v in values]


def _linked(queryset: QuerySet, through, owner: str, outer: str, term: str, value) -> QuerySet:
    """Decisions whose item or letter (``owner`` = ``outer``) a link table ties to a chosen term."""
    if not value:
        return queryset
    rows = through.objects.filter(**{owner: OuterRef(outer), f"{term}__in": _slugs(value)})
    return queryset.filter(Exists(rows))


class DecisionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label="Search the letters")
    outcome = django_filters.MultipleChoiceFilter(
        field_name="outcome",
        lookup_expr="exact",
        choices=DecisionItem.Outcome.choices,
        distinct=False,
    )
    treatment = django_filters.ModelMultipleChoiceFilter(
        queryset=Treatment.objects.all(), to_field_name="slug", method="filter_treatment"
    )
    body_region = django_filters.ModelMultipleChoiceFilter(
        queryset=BodyRegion.objects.all(), to_field_name="slug", method="filter_body_region"
    )
    guideline = django_filters.ModelMultipleChoiceFilter(
        queryset=Guideline.objects.all(), to_field_name="slug", method="filter_noop"
    )
    source = django_filters.MultipleChoiceFilter(
        choices=GuidelineCitation.Source.choices, method="filter_noop", label="Citing side"
    )
    cited_page = django_filters.NumberFilter(
        method="filter_noop", label="Cited page", min_value=1, max_value=5000
    )
    specialty = django_filters.ModelMultipleChoiceFilter(
        queryset=Specialty.objects.all(), to_field_name="slug", method="filter_specialty"
    )
    state = django_filters.ModelMultipleChoiceFilter(
        queryset=State.objects.all(), to_field_name="slug", method="filter_state"
    )
    sex = django_filters.MultipleChoiceFilter(
        field_name="determination__patient_sex",
        lookup_expr="exact",
        choices=Determination.Sex.choices,
        distinct=False,
        label="Patient sex",
    )
    age = django_filters.MultipleChoiceFilter(
        choices=[(k, label) for k, (label, _) in AGE_BANDS.items()],
        method="filter_age",
        label="Patient age",
    )
    injury_year = MultipleIntegerFilter(method="filter_injury_year", label="Year of injury")

    class Meta:
        model = DecisionItem
        fields: list[str] = []

    # --- letter text

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        query = search.parse(value)
        if not query:
            return queryset
        return queryset.filter(determination_id__in=search.matching_letters(query))

    # --- vocabularies of the item and of its letter's reviewer (link tables)

    def filter_treatment(self, queryset, name, value):
        return _linked(
            queryset,
            DecisionItem.treatments.through,
            "decisionitem_id",
            "pk",
            "treatment_id",
            value,
        )

    def filter_body_region(self, queryset, name, value):
        return _linked(
            queryset,
            DecisionItem.body_regions.through,
            "decisionitem_id",
            "pk",
            "bodyregion_id",
            value,
        )

    def filter_specialty(self, queryset, name, value):
        through = Determination.reviewer_specialties.through
        return _linked(
            queryset, through, "determination_id", "determination_id", "specialty_id", value
        )

    def filter_state(self, queryset, name, value):
        through = Determination.reviewer_states.through
        return _linked(queryset, through, "determination_id", "determination_id", "state_id", value)

    # --- the patient

    def filter_age(self, queryset, name, value):
        condition = Q()
        for band in value:
            condition |= AGE_BANDS[band][1]
        return queryset.filter(condition) if value else queryset

    def filter_injury_year(self, queryset, name, value):
        return queryset.filter(determination__injury_year__in=value) if value else queryset

    # --- citations: guideline, side and page together (see queryset_without)

    def filter_noop(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return self.queryset_without(None, queryset)

    def queryset_without(self, name: str | None, queryset: QuerySet | None = None) -> QuerySet:
        """The decisions meeting every filter but ``name`` (all of them for None).

        Facet counts call this once per facet; the values were validated once, by ``is_valid``.
        """
        queryset = self.queryset if queryset is None else queryset
        cleaned = self.form.cleaned_data
        for filter_name, value in cleaned.items():
            if filter_name != name and filter_name not in CITATION_PARAMS:
                queryset = self.filters[filter_name].filter(queryset, value)
        citations = citation_conditions(cleaned, without=name)
        if citations is not None:
            queryset = queryset.filter(Exists(citations.filter(item_id=OuterRef("pk"))))
        return queryset


def citation_conditions(cleaned: dict, *, without: str | None = None) -> QuerySet | None:
    """Citations meeting the guideline, side and page filters (all but ``without``), or None."""
    rows = GuidelineCitation.objects.all()
    used = False
    if without != "guideline" and cleaned.get("guideline"):
        rows, used = rows.filter(guideline_id__in=_slugs(cleaned["guideline"])), True
    if without != "source" and cleaned.get("source"):
        rows, used = rows.filter(source__in=cleaned["source"]), True
    page = cleaned.get("cited_page")
    if without != "cited_page" and page:
        ranges = CitedPageRange.objects.filter(
            citation_id=OuterRef("pk"), derived=False, first_page__lte=page, last_page__gte=page
        )
        rows, used = rows.filter(Exists(ranges)), True
    return rows if used else None
