"""The JSON API described: its parameters and the fields of its answers, declared once.

``GET /api/decisions/`` is a plain view (``views.api_decisions``); what it accepts and answers is
described here, from the code's own declarations, so the description cannot drift from it:

- the parameters are the FilterSet's filters (``decisions.filters``: name, label, help text,
  choices, whether a value repeats, whole numbers), with the sort (``selectors.SORTS``) and the
  page;
- the fields of an answer are declared below (``SEARCH_PAGE``, ``DECISION``, ``ERROR``, and an
  export's rows, ``EXPORT_ROW``), each with its JSON type and what it means; the facets are
  ``facets.FACETS``; the formats of an export are ``exports.FORMATS``.

From these ``openapi()`` makes the OpenAPI 3.1 description (``/api/openapi.json``) and
``parameters()`` / ``field_rows()`` the tables of the API page (``/api/``), which also runs the
``EXAMPLES`` against the data as it is when asked. Tests check live
answers against the declarations both ways: a field added to an answer without a line here, or a
line here the answer does not give, fails them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms
from django.http import QueryDict
from django.urls import reverse

from . import exports, facets, selectors
from .filters import DecisionFilter, MultipleIntegerField
from .models import (
    Category,
    CitingSide,
    DecisionItem,
    DrugClass,
    Laterality,
    Outcome,
    PatientSex,
)

Choices = list[tuple[str, str]]  # (value, label)


# --- the fields of an answer ----------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One field of the JSON: its JSON type, what it means, and what it holds.

    ``type`` is a JSON Schema type ("string", "integer", "boolean", "array", "object");
    ``nullable``: null when unknown or not applicable; ``choices``: its fixed values;
    ``format``: a JSON Schema format ("uri", "date"); ``items``: an array's element;
    ``fields``: an object's fields, by name; ``values``: an object whose keys are data (each
    value's shape); ``name``: a shared object's name (an OpenAPI component, a table of its own).
    """

    type: str
    description: str
    nullable: bool = False
    choices: Choices | None = None
    format: str | None = None
    items: Field | None = None
    fields: dict[str, Field] = field(default_factory=dict)
    values: Field | None = None
    name: str | None = None


def _string(description: str, **kwargs) -> Field:
    return Field("string", description, **kwargs)


def _slugs(description: str) -> Field:
    return Field("array", description, items=_string("A slug."))


CITATION = Field(
    "object",
    "A guideline one side relied on for this decision.",
    name="Citation",
    fields={
        "source": _string(
            "Who relied on it: the claims administrator's Utilization Review, or the MAXIMUS "
            "reviewer.",
            choices=CitingSide.choices,
        ),
        "guideline": _string(
            "The guideline, by slug (the values of the guideline parameter); none when that side "
            "cited no medical evidence."
        ),
        "section": _string("Its section or topic, as written; null when none.", nullable=True),
        "pages": Field(
            "array",
            "The page ranges the letter names, in order, each [first, last] (one page: [99, 99]).",
            items=Field(
                "array", "A range [first, last], inclusive.", items=Field("integer", "A page.")
            ),
        ),
    },
)
LETTER = Field(
    "object",
    "The Final Determination letter the decision is in (one letter decides one or more items).",
    name="Letter",
    fields={
        "id": Field("integer", "The letter's id in this database (it changes on a rebuild)."),
        "key": _string(
            "The letter's public key, in its URL: its case number, else (or when another letter "
            "shares it) the first 16 characters of its content hash. Searching it as q finds "
            "the letter's decisions."
        ),
        "url": _string("Its page on this site, at this decision.", format="uri"),
        "case_number": _string(
            "The IMR case number (CM15-0012345); null when none.", nullable=True
        ),
        "decision_date": _string(
            "The letter's date, the day of the decision (YYYY-MM-DD); null when not given.",
            nullable=True,
            format="date",
        ),
        "date_assigned": _string(
            "The date the case was assigned to the reviewer (YYYY-MM-DD); null when not given.",
            nullable=True,
            format="date",
        ),
        "ur_date": _string(
            "The date of the Utilization Review decision disputed (YYYY-MM-DD); null when not "
            "given.",
            nullable=True,
            format="date",
        ),
        "reviewer_specialties": _slugs(
            "The expert reviewer's specialties, by slug (the values of the specialty parameter)."
        ),
        "patient_age": Field(
            "integer", "The injured worker's age in years; null when not given.", nullable=True
        ),
        "patient_sex": _string(
            "The injured worker's sex; null when not given.",
            nullable=True,
            choices=PatientSex.choices,
        ),
        "date_of_injury": _string(
            "The date of the injury (YYYY-MM-DD); null when not given.",
            nullable=True,
            format="date",
        ),
    },
)
DECISION = Field(
    "object",
    "One decision: a disputed item of a letter and its outcome.",
    name="Decision",
    fields={
        "id": Field("integer", "The decision's id (each disputed item has its own)."),
        "request": _string("The disputed request, as the letter writes it."),
        "outcome": _string(
            "Upheld: the Utilization Review denial stands. Overturned: the treatment was found "
            "medically necessary.",
            choices=Outcome.choices,
        ),
        "treatments": _slugs(
            "The kinds of treatment requested, by slug (the values of the treatment parameter)."
        ),
        "categories": Field(
            "array",
            "The official categories of its treatments, each once.",
            items=_string("A category.", choices=Category.choices),
        ),
        "drug": Field(
            "object",
            "For a medication: its drug and class; null for any other request.",
            nullable=True,
            fields={
                "generic": _string(
                    "The drug by generic name (the values of the drug parameter); null when the "
                    "request names only a class.",
                    nullable=True,
                ),
                "class": _string("Its class, as asked for.", choices=DrugClass.choices),
            },
        ),
        "body_regions": _slugs(
            "The body regions the request is for, by slug (the values of the body_region "
            "parameter)."
        ),
        "body_regions_inferred": Field(
            "boolean",
            "True when the request names no region and its regions were read from the case "
            "summary.",
        ),
        "laterality": _string(
            "The side of the body, when the request names one; else null.",
            nullable=True,
            choices=Laterality.choices,
        ),
        "quantity": Field(
            "integer",
            "Total units requested (2 x 4 sessions is 8); null when not stated.",
            nullable=True,
        ),
        "citations": Field(
            "array",
            "The guidelines each side relied on, the claims administrator's first.",
            items=CITATION,
        ),
        "letter": LETTER,
        "snippet": _string(
            "With q: the passage of the rationale (or, with within=letter, of the letter) that "
            "matches, as HTML with each match in <mark>; null without q or a match.",
            nullable=True,
        ),
    },
)


def _citation_columns(side: str, who: str) -> dict[str, Field]:
    """An export's three columns of one side's citations, one value a citation, in step."""
    return {
        f"{side}_guidelines": _slugs(
            f"The guidelines {who} relied on, by slug (the values of the guideline parameter)."
        ),
        f"{side}_sections": Field(
            "array",
            "The section or topic of each of those citations, as written, in the same order.",
            items=_string("A section; empty when the citation names none."),
        ),
        f"{side}_pages": Field(
            "array",
            "The pages each of those citations names, as written, in the same order.",
            items=_string('Its page ranges: "74-96, 98"; empty when it names none.'),
        ),
    }


EXPORT_ROW = Field(
    "object",
    "One decision of an export (format=csv or format=jsonl): a row of the CSV, its columns "
    "in this order under a header row of their names, or a line of the JSON Lines, an object "
    'of these fields. In the CSV a list is its values joined by "; " (a side\'s citations by '
    '" | ", since a section may hold semicolons), null is an empty cell, and a text cell '
    "beginning with = + - @, a tab, a carriage return or an apostrophe has an apostrophe put "
    "before it, so that no spreadsheet runs it as a formula: take one leading apostrophe off "
    "a cell for its value.",
    name="ExportRow",
    fields={
        "id": DECISION.fields["id"],
        "letter_key": LETTER.fields["key"],
        "case_number": LETTER.fields["case_number"],
        "decision_date": LETTER.fields["decision_date"],
        "date_assigned": LETTER.fields["date_assigned"],
        "ur_date": LETTER.fields["ur_date"],
        "request": DECISION.fields["request"],
        "outcome": DECISION.fields["outcome"],
        "treatments": DECISION.fields["treatments"],
        "categories": DECISION.fields["categories"],
        "drug_generic": _string(
            "For a medication: the drug by generic name (the values of the drug parameter); "
            "null for any other request, or when it names only a class.",
            nullable=True,
        ),
        "drug_class": _string(
            "For a medication: its class, as asked for; null for any other request.",
            nullable=True,
            choices=DrugClass.choices,
        ),
        "body_regions": DECISION.fields["body_regions"],
        "laterality": DECISION.fields["laterality"],
        "quantity": DECISION.fields["quantity"],
        **_citation_columns("maximus", "the MAXIMUS reviewer"),
        **_citation_columns(
            "claims_administrator", "the claims administrator's Utilization Review"
        ),
        "reviewer_specialties": LETTER.fields["reviewer_specialties"],
        "reviewer_states": _slugs(
            "The states where the expert reviewer is licensed, by slug (the values of the "
            "state parameter)."
        ),
        "patient_age": LETTER.fields["patient_age"],
        "patient_sex": LETTER.fields["patient_sex"],
        "date_of_injury": LETTER.fields["date_of_injury"],
        "rationale": _string("The reviewer's reasons for the decision, as the letter gives them."),
        "letter_url": _string("The decision on its letter's page on this site.", format="uri"),
    },
)
FACET_VALUE = Field(
    "object",
    "One value of a facet and how many decisions choosing it would give.",
    name="FacetValue",
    fields={
        "value": _string("The value, as the parameter of the facet's name takes it."),
        "label": _string("Its name for people."),
        "count": Field(
            "integer",
            "How many decisions this search would find with this value chosen too: the facet is "
            "counted under every other filter but its own.",
        ),
        "selected": Field("boolean", "Whether the search chose this value."),
    },
)
# How FACETS orders each facet's values, in words.
FACET_ORDERS = {
    "fixed": "in a fixed order",
    "count": "most decisions first",
    "value_desc": "highest first",
}


def _facet_fields() -> dict[str, Field]:
    return {
        name: Field(
            "array",
            f"{label}: each value with its count, {FACET_ORDERS[order]}; "
            f"choose one with ?{name}=value.",
            items=FACET_VALUE,
        )
        for name, (label, _, order) in facets.FACETS.items()
    }


SEARCH_PAGE = Field(
    "object",
    "One page of the decisions a search finds, and every facet counted.",
    name="SearchPage",
    fields={
        "count": Field("integer", "How many decisions the search finds, on all pages."),
        "page": Field("integer", "This page's number, from 1."),
        "pages": Field(
            "integer",
            f"How many pages of {selectors.PAGE_SIZE} there are (1 when nothing is found).",
        ),
        "next": _string("The next page's URL; null on the last.", nullable=True, format="uri"),
        "previous": _string(
            "The previous page's URL; null on the first.", nullable=True, format="uri"
        ),
        "results": Field(
            "array", "This page's decisions, in the order sort asks for.", items=DECISION
        ),
        "facets": Field(
            "object",
            "Every facet, by the name of the parameter that filters by it.",
            fields=_facet_fields(),
        ),
    },
)
ERROR = Field(
    "object",
    "A search that could not be run: which parameters had values it does not know.",
    name="Error",
    fields={
        "error": _string("What went wrong, in a sentence."),
        "fields": Field(
            "object",
            "Each parameter at fault, with what was wrong with its value.",
            values=Field("array", "The messages.", items=_string("A message.")),
        ),
    },
)


@dataclass(frozen=True)
class FieldRow:
    """A field as the API page lists it: its path in the JSON (``citations[].pages``)."""

    path: str
    field: Field

    @property
    def type_label(self) -> str:
        return type_label(self.field)

    @property
    def ref(self) -> str | None:
        """The named object it is or holds (its own table on the page), if any."""
        return self.field.name or (self.field.items.name if self.field.items else None)

    @property
    def choices(self) -> Choices | None:
        """Its fixed values, or its elements'."""
        return self.field.choices or (self.field.items.choices if self.field.items else None)


def type_label(f: Field) -> str:
    """A field's type in words: "string or null", "array of Citation"."""
    if f.name:
        words = f.name
    elif f.type == "array" and f.items is not None:
        inner = type_label(f.items)
        words = f"array of {inner if f.items.name else _plural(inner)}"
    elif f.type == "object" and f.values is not None:
        inner = type_label(f.values)
        words = f"object of {inner if f.values.name else _plural(inner)}"
    else:
        words = f.type
    return f"{words} or null" if f.nullable else words


def _plural(words: str) -> str:
    return words.replace("array", "arrays", 1) if words.startswith("array") else words + "s"


def field_rows(declared: Field, prefix: str = "") -> Iterator[FieldRow]:
    """The fields of object ``declared`` and, within each, of its unnamed objects and arrays
    of them; a named object (a ``Citation``) is a table of its own."""
    for name, f in declared.fields.items():
        path = prefix + name
        yield FieldRow(path, f)
        inner = f.items if f.type == "array" and f.items is not None else f
        if inner.fields and not inner.name:
            yield from field_rows(inner, path + ("[]." if inner is not f else "."))


def field_tables(declared: Field) -> list[tuple[Field, list[FieldRow]]]:
    """The API page's tables of ``declared``: one for each named object in it, itself first."""
    return [(named, list(field_rows(named))) for named in named_objects(declared).values()]


def named_objects(declared: Field) -> dict[str, Field]:
    """Every named object within ``declared`` (itself first), by name."""
    found: dict[str, Field] = {}

    def walk(f: Field | None) -> None:
        if f is None:
            return
        if f.name and f.name not in found:
            found[f.name] = f
        for inner in (*f.fields.values(), f.items, f.values):
            walk(inner)

    walk(declared)
    return found


# --- the parameters -------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One query parameter of ``/api/decisions/`` (and of the search page)."""

    name: str
    label: str
    description: str
    type: str  # of one value: "string" or "integer"
    repeatable: bool  # several values (?outcome=upheld&outcome=overturned), OR'ed
    choices: Choices | None = None  # fixed values
    minimum: int | None = None
    maximum: int | None = None
    facet: str | None = None  # the facet whose values it takes (facets.<name>[].value)

    def schema(self) -> dict:
        one: dict = {"type": self.type}
        if self.choices:
            one["enum"] = [value for value, _ in self.choices]
        if self.minimum is not None:
            one["minimum"] = self.minimum
        if self.maximum is not None:
            one["maximum"] = self.maximum
        schema = {"type": "array", "items": one} if self.repeatable else one
        return {"title": self.label, **schema}


def _repeats(form_field: forms.Field) -> bool:
    """Whether the form reads every value of a repeated parameter, as the search does."""
    read = form_field.widget.value_from_datadict(QueryDict("v=1&v=2"), {}, "v")
    return isinstance(read, list)


def _filter_parameter(name: str, form_field: forms.Field) -> Parameter:
    integer = isinstance(form_field, forms.IntegerField | MultipleIntegerField)
    choices = None
    # A model choice's values are rows (treatments, guidelines, ...): data, not declarations.
    if isinstance(form_field, forms.ChoiceField) and not isinstance(
        form_field, forms.ModelChoiceField
    ):
        choices = [(str(v), str(label)) for v, label in form_field.choices if v != ""]
    return Parameter(
        name=name,
        label=str(form_field.label),
        description=str(form_field.help_text),
        type="integer" if integer else "string",
        repeatable=_repeats(form_field),
        choices=choices,
        minimum=getattr(form_field, "min_value", None),
        maximum=getattr(form_field, "max_value", None),
        facet=name if name in facets.FACETS and not choices else None,
    )


def parameters() -> list[Parameter]:
    """Every parameter the search reads: the FilterSet's filters, then the sort and the page."""
    form = DecisionFilter(queryset=DecisionItem.objects.none()).form
    found = [_filter_parameter(name, form_field) for name, form_field in form.fields.items()]
    found.append(
        Parameter(
            name="sort",
            label="Sort",
            description=(
                "The order of the results. relevance (best match: decisions whose request "
                "matches first) needs q, and is the default with it; newest without."
            ),
            type="string",
            repeatable=False,
            choices=[(key, label) for key, (label, _) in selectors.SORTS.items()],
        )
    )
    found.append(
        Parameter(
            name="page",
            label="Page",
            description=(
                f"Which page of {selectors.PAGE_SIZE} results, from 1. A page past the last "
                "gives the last; anything but a whole number from 1 is refused (a 400)."
            ),
            type="integer",
            repeatable=False,
            minimum=1,
            maximum=selectors.PAGE_LIMIT,
        )
    )
    found.append(
        Parameter(
            name="format",
            label="Format",
            description=(
                "What to answer. json (the default): one page of results and every facet. "
                "csv or jsonl: every decision the search finds, in its order (page is "
                "ignored), one an ExportRow, as a file to download, streamed as it is read."
            ),
            type="string",
            repeatable=False,
            choices=[("json", "A page, as JSON")]
            + [(name, shown.label) for name, shown in exports.FORMATS.items()],
        )
    )
    return found


# --- examples the API page runs -------------------------------------------------------------

# (what it shows, its query string): each is run when the page is asked for, with its answer.
EXAMPLES: list[tuple[str, str]] = [
    ("Overturned decisions, newest first", urlencode({"outcome": "overturned"})),
    (
        "A phrase, best matches first",
        urlencode({"q": '"physical therapy"', "sort": "relevance"}),
    ),
    (
        "Two values of one filter, either of them: an MRI or massage therapy",
        urlencode([("treatment", "mri"), ("treatment", "massage_therapy")]),
    ),
    (
        "Citations of page 99 of the MTUS Chronic Pain guidelines by the MAXIMUS reviewer",
        urlencode({"guideline": "mtus_chronic_pain", "source": "maximus", "cited_page": 99}),
    ),
]
ERROR_EXAMPLE = urlencode({"outcome": "maybe"})


def excerpt(data: dict) -> str:
    """What the API page shows of an answer, as JSON text: all of it but the rest of the
    results and of the facets (the first of each is shown); an error whole."""
    if "results" in data:
        shown = {k: v for k, v in data.items() if k not in ("results", "facets")}
        shown["results"] = data["results"][:1]
        first = next(iter(data["facets"]), None)
        shown["facets"] = {first: data["facets"][first]} if first else {}
        data = shown
    return _compact_json(data)


def _compact_json(value, indent: str = "") -> str:
    """JSON with a line for each field of an object; a short object of plain values, or a list
    of them, on one line."""
    inner = indent + "  "
    one_line = json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict) and len(indent + one_line) <= 96 and not _has_objects(value):
        return one_line
    if isinstance(value, dict) and value:
        lines = [f"{inner}{json.dumps(k)}: {_compact_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(lines) + f"\n{indent}}}"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        lines = [inner + _compact_json(v, inner) for v in value]
        return "[\n" + ",\n".join(lines) + f"\n{indent}]"
    return one_line


def _has_objects(value: dict) -> bool:
    return any(
        isinstance(v, dict) or (isinstance(v, list) and any(isinstance(i, dict) for i in v))
        for v in value.values()
    )


# --- OpenAPI ------------------------------------------------------------------------------


def _schema(f: Field, components: dict[str, dict]) -> dict:
    """The JSON Schema of ``f``; a named object is put in ``components`` and referred to."""
    if f.name:
        if f.name not in components:
            components[f.name] = {}  # taken, before its fields refer to anything
            components[f.name] = _inline(f, components)
        return {"$ref": f"#/components/schemas/{f.name}", "description": f.description}
    return _inline(f, components)


def _inline(f: Field, components: dict[str, dict]) -> dict:
    schema: dict = {
        "type": [f.type, "null"] if f.nullable else f.type,
        "description": f.description,
    }
    if f.choices:
        schema["enum"] = [value for value, _ in f.choices] + ([None] if f.nullable else [])
    if f.format:
        schema["format"] = f.format
    if f.items is not None:
        schema["items"] = _schema(f.items, components)
    if f.fields:
        schema["properties"] = {name: _schema(v, components) for name, v in f.fields.items()}
        schema["required"] = list(f.fields)  # every field is always there (null if unknown)
    if f.values is not None:
        schema["additionalProperties"] = _schema(f.values, components)
    return schema


def openapi(*, docs_url: str) -> dict:
    """The OpenAPI 3.1 description of the API (``docs_url``: the API page's address)."""
    components: dict[str, dict] = {}
    page_ref = _schema(SEARCH_PAGE, components)
    error_ref = _schema(ERROR, components)
    export_ref = _schema(EXPORT_ROW, components)
    query = [
        {
            "name": p.name,
            "in": "query",
            "required": False,
            "description": p.description,
            "schema": p.schema(),
            **({"style": "form", "explode": True} if p.repeatable else {}),
        }
        for p in parameters()
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "California IMR decision search",
            "version": "1",
            "description": (
                "Independent Medical Review decisions of California workers' compensation, "
                "searched as on the site's home page: filters, full text, sort and page in the "
                "query string, and every facet counted. Values of one parameter are OR'ed, "
                "different parameters AND'ed."
            ),
        },
        "externalDocs": {"description": "The API page, with live examples", "url": docs_url},
        "paths": {
            reverse("decisions:api_decisions"): {
                "get": {
                    "operationId": "searchDecisions",
                    "summary": "Search the decisions",
                    "description": (
                        f"One page of the decisions the parameters find ({selectors.PAGE_SIZE} "
                        "a page), with every facet counted; with format=csv or format=jsonl, "
                        "every decision they find, one a row, as a file streamed to download."
                    ),
                    "parameters": query,
                    "responses": {
                        "200": {
                            "description": (
                                "The page of decisions found, and the facets (JSON); or, with "
                                "format, every decision found (CSV or JSON Lines)."
                            ),
                            "headers": {
                                "Content-Disposition": {
                                    "description": (
                                        "With format=csv or jsonl: attachment, and a file name "
                                        "of the search's values and today's date "
                                        "(imr-decisions-overturned-2026-12-01.csv)."
                                    ),
                                    "schema": {"type": "string"},
                                }
                            },
                            "content": {
                                "application/json": {"schema": page_ref},
                                exports.FORMATS["csv"].media_type: {
                                    "schema": {
                                        "type": "string",
                                        "description": (
                                            "format=csv: UTF-8 with a byte order mark, RFC 4180; "
                                            "a header row, then a row each ExportRow."
                                        ),
                                    }
                                },
                                exports.FORMATS["jsonl"].media_type: {
                                    "schema": {
                                        "type": "array",
                                        "description": (
                                            "format=jsonl: one ExportRow a line, each a JSON "
                                            "object (described as the array the lines make)."
                                        ),
                                        "items": export_ref,
                                    }
                                },
                            },
                        },
                        "400": {
                            "description": "A parameter has a value the search does not know.",
                            "content": {"application/json": {"schema": error_ref}},
                        },
                    },
                }
            },
            reverse("decisions:feed"): {
                "get": {
                    "operationId": "followDecisions",
                    "summary": "Follow a search: its Atom feed",
                    "description": (
                        f"The {selectors.FEED_SIZE} decisions the parameters find that were "
                        "added to the site last, newest first, as an Atom 1.0 feed for a feed "
                        "reader: each entry links to the decision on its letter's page. The "
                        "search page's parameters, read as there; sort, page, view, by, order, "
                        "trend and format are ignored."
                    ),
                    "parameters": [p for p in query if p["name"] not in selectors.PRESENTATION],
                    "responses": {
                        "200": {
                            "description": "The search's feed.",
                            "content": {
                                "application/atom+xml": {
                                    "schema": {
                                        "type": "string",
                                        "description": (
                                            "Atom 1.0 (RFC 4287): the feed's title is the "
                                            "search in words, its id and link the search page."
                                        ),
                                    }
                                }
                            },
                        },
                        "400": {
                            "description": "A parameter has a value the search does not know.",
                            "content": {"application/json": {"schema": error_ref}},
                        },
                    },
                }
            },
        },
        "components": {"schemas": components},
    }
