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
from django.db.models.expressions import RawSQL

from . import search
from .models import (
    BodyRegion,
    Category,
    CitedPageRange,
    DecisionItem,
    Determination,
    Drug,
    DrugClass,
    Guideline,
    GuidelineCitation,
    Specialty,
    State,
    Treatment,
)

# Patient age bands: key -> (label, lowest age or None, age it stops below or None).
AGE_BAND_BOUNDS = {
    "under_30": ("Under 30", None, 30),
    "30_39": ("30-39", 30, 40),
    "40_49": ("40-49", 40, 50),
    "50_59": ("50-59", 50, 60),
    "60_plus": ("60 and over", 60, None),
}


def _age_condition(low: int | None, high: int | None) -> Q:
    condition = Q()
    if low is not None:
        condition &= Q(determination__patient_age__gte=low)
    if high is not None:
        condition &= Q(determination__patient_age__lt=high)
    return condition


AGE_BANDS = {
    key: (label, _age_condition(low, high)) for key, (label, low, high) in AGE_BAND_BOUNDS.items()
}
CITATION_PARAMS = ("guideline", "source", "cited_page")
# Where a text search looks: each decision's own text (the default), or its whole letter.
WITHIN_CHOICES = [("decision", "This decision"), ("letter", "Anywhere in the letter")]


class MultipleIntegerField(forms.Field):
    """A repeated query parameter of years (``?injury_year=2011&injury_year=2012``), each
    between ``min_value`` and ``max_value``: a number no letter could hold is refused, not
    looked for (and never reaches a database that cannot hold it, as SQLite cannot 2**63)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "invalid": "“%(value)s” is not a year.",
        "range": "“%(value)s” is not a year from %(min)s to %(max)s.",
    }

    def __init__(self, *, min_value: int = 1900, max_value: int = 2100, **kwargs) -> None:
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else [value] if value else []
        out = []
        for v in values:
            try:
                year = int(v)
            except (TypeError, ValueError):
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid", params={"value": v}
                ) from None
            if not self.min_value <= year <= self.max_value:
                raise forms.ValidationError(
                    self.error_messages["range"],
                    code="range",
                    params={"value": v, "min": self.min_value, "max": self.max_value},
                )
            out.append(year)
        return out


class MultipleIntegerFilter(django_filters.Filter):
    field_class = MultipleIntegerField


def _slugs(values) -> list[str]:
    return [v.slug for v in values]


class LinkedTermFilter(django_filters.ModelMultipleChoiceFilter):
    """Decisions whose item, or whose letter, a link table ties to one of the chosen terms.

    ``through`` is the link table; ``owner`` its column naming the item or the letter, matched to
    the decision's ``outer`` column; ``term`` its column naming the term.
    """

    def __init__(self, *, through, owner: str, outer: str, term: str, **kwargs) -> None:
        self.through, self.owner, self.outer, self.term = through, owner, outer, term
        kwargs.setdefault("to_field_name", "slug")
        super().__init__(**kwargs)

    def filter(self, qs: QuerySet, value) -> QuerySet:
        if not value:
            return qs
        rows = self.through.objects.filter(
            **{self.owner: OuterRef(self.outer), f"{self.term}__in": _slugs(value)}
        )
        return qs.filter(Exists(rows))


class CitationFilterMixin:
    """One part of the citation filter (guideline, side, page): alone it filters nothing.

    The three apply together, to one and the same citation, in ``DecisionFilter.queryset_without``
    (through ``citation_conditions``).
    """

    def filter(self, qs: QuerySet, value) -> QuerySet:
        return qs


class CitationGuidelineFilter(CitationFilterMixin, django_filters.ModelMultipleChoiceFilter):
    pass


class CitationSourceFilter(CitationFilterMixin, django_filters.MultipleChoiceFilter):
    pass


class CitationPageFilter(CitationFilterMixin, django_filters.NumberFilter):
    field_class = forms.IntegerField  # a page is a whole number: "99.5" is refused, not page 99


class DecisionFilter(django_filters.FilterSet):
    # Each filter's label and help_text say what it means: the API page and the OpenAPI
    # description (decisions.api_schema) are made from them.
    q = django_filters.CharFilter(
        method="filter_text",
        label="Search the decisions",
        help_text=(
            "Words to find in each decision's own text (its request, rationale and citations): "
            'words, "quoted phrases", or, -word. English words are stemmed ("injections" finds '
            '"injection"); common words alone ("the of") are no search.'
        ),
    )
    within = django_filters.ChoiceFilter(
        choices=WITHIN_CHOICES,
        method="filter_within",
        label="Search within",
        empty_label=None,
        help_text="Where q looks: each decision's own text (the default), or its whole letter.",
    )
    outcome = django_filters.MultipleChoiceFilter(
        field_name="outcome",
        lookup_expr="exact",
        choices=DecisionItem.Outcome.choices,
        distinct=False,
        help_text=(
            "Upheld: the Utilization Review denial stands. Overturned: the treatment was found "
            "medically necessary."
        ),
    )
    category = django_filters.MultipleChoiceFilter(
        choices=Category.choices,
        method="filter_category",
        label="Treatment category",
        help_text=(
            "The Division of Workers' Compensation's grouping of treatments, as its annual IMR "
            "report counts requests."
        ),
    )
    treatment = LinkedTermFilter(
        queryset=Treatment.objects.all(),
        through=DecisionItem.treatments.through,
        owner="decisionitem_id",
        outer="pk",
        term="treatment_id",
        label="Treatment",
        help_text="A kind of treatment requested (MRI, physical therapy, ...).",
    )
    drug_class = django_filters.MultipleChoiceFilter(
        field_name="drug_class",
        lookup_expr="exact",
        choices=DrugClass.choices,
        distinct=False,
        label="Drug class",
        help_text="A medication's class, as asked for (a lidocaine patch is a topical analgesic).",
    )
    drug = django_filters.ModelMultipleChoiceFilter(
        queryset=Drug.objects.all(),
        to_field_name="slug",
        method="filter_drug",
        label="Drug",
        help_text="A medication by its generic name (Norco is hydrocodone/acetaminophen).",
    )
    body_region = LinkedTermFilter(
        queryset=BodyRegion.objects.all(),
        through=DecisionItem.body_regions.through,
        owner="decisionitem_id",
        outer="pk",
        term="bodyregion_id",
        label="Body region",
        help_text="A body region the request is for.",
    )
    # The citation filters: guideline, side and page of one and the same citation.
    guideline = CitationGuidelineFilter(
        queryset=Guideline.objects.all(),
        to_field_name="slug",
        label="Guideline",
        help_text=(
            "A guideline cited. With source and cited_page it applies to one and the same citation."
        ),
    )
    source = CitationSourceFilter(
        choices=GuidelineCitation.Source.choices,
        label="Citing side",
        help_text=(
            "Who relied on the guideline: the claims administrator (its Utilization Review) or "
            "the MAXIMUS reviewer."
        ),
    )
    cited_page = CitationPageFilter(
        label="Cited page",
        min_value=1,
        max_value=5000,
        help_text=(
            'A page the citation names: 99 finds "98-99". With guideline and source it applies '
            "to one and the same citation."
        ),
    )
    specialty = LinkedTermFilter(
        queryset=Specialty.objects.all(),
        through=Determination.reviewer_specialties.through,
        owner="determination_id",
        outer="determination_id",
        term="specialty_id",
        label="Reviewer specialty",
        help_text="A specialty or certification of the expert reviewer.",
    )
    state = LinkedTermFilter(
        queryset=State.objects.all(),
        through=Determination.reviewer_states.through,
        owner="determination_id",
        outer="determination_id",
        term="state_id",
        label="Reviewer licensure",
        help_text="A state where the expert reviewer is licensed.",
    )
    sex = django_filters.MultipleChoiceFilter(
        field_name="determination__patient_sex",
        lookup_expr="exact",
        choices=Determination.Sex.choices,
        distinct=False,
        label="Patient sex",
        help_text="The injured worker's sex, as the letter gives it.",
    )
    age = django_filters.MultipleChoiceFilter(
        choices=[(k, label) for k, (label, _) in AGE_BANDS.items()],
        method="filter_age",
        label="Patient age",
        help_text="The injured worker's age band, from the age the letter gives.",
    )
    injury_year = MultipleIntegerFilter(
        method="filter_injury_year",
        label="Year of injury",
        help_text="The year of the injury.",
    )
    # the decision: when it was made
    decision_year = MultipleIntegerFilter(
        method="filter_decision_year",
        label="Year of decision",
        help_text="The year of the letter's decision date.",
    )

    class Meta:
        model = DecisionItem
        fields: list[str] = []

    # --- letter text

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if key := search.letter_key_of(value):
            return queryset.filter(Q(determination__key=key) | Q(determination__case_number=key))
        query = search.parse(value)
        if not query:
            return queryset
        if self.form.cleaned_data.get("within") == "letter":
            return queryset.filter(determination_id__in=RawSQL(*search.matching_letters(query)))
        return queryset.filter(pk__in=RawSQL(*search.matching_items(query)))

    def filter_within(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # where ``q`` looks: read by filter_text

    # --- what was requested

    def filter_category(self, queryset, name, value):
        if not value:
            return queryset
        rows = DecisionItem.treatments.through.objects.filter(
            decisionitem_id=OuterRef("pk"), treatment__category__in=value
        )
        return queryset.filter(Exists(rows))

    def filter_drug(self, queryset, name, value):
        return queryset.filter(drug_id__in=_slugs(value)) if value else queryset

    # --- the patient

    def filter_age(self, queryset, name, value):
        condition = Q()
        for band in value:
            condition |= AGE_BANDS[band][1]
        return queryset.filter(condition) if value else queryset

    def filter_injury_year(self, queryset, name, value):
        return queryset.filter(determination__injury_year__in=value) if value else queryset

    def filter_decision_year(self, queryset, name, value):
        return queryset.filter(determination__decision_year__in=value) if value else queryset

    # --- citations: guideline, side and page together

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
