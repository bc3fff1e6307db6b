"""The API's description (decisions.api_schema, /api/openapi.json) against the API itself.

Nothing here lists a parameter or a field by name: the parameters come from the FilterSet, the
fields from live answers, so a parameter or a field added to the API without its description
fails these tests, and so does a description of something the API does not give.
"""

import copy
import csv
import datetime as dt
import io
import json

import pytest
from django.urls import reverse
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from decisions import api_schema, exports, selectors
from decisions.filters import DecisionFilter
from decisions.models import CitedPageRange, Drug, Specialty, Treatment

from .factories import DecisionItemFactory, DeterminationFactory, GuidelineCitationFactory

pytestmark = pytest.mark.django_db
API = reverse("decisions:api_decisions")
OPENAPI = reverse("decisions:api_openapi")


@pytest.fixture
def description(client):
    response = client.get(OPENAPI)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def parameters(description) -> dict[str, dict]:
    return {p["name"]: p for p in description["paths"][API]["get"]["parameters"]}


def answer(client, query: str = "") -> tuple[int, dict]:
    response = client.get(f"{API}?{query}")
    return response.status_code, json.loads(response.content)


# --- the description itself -----------------------------------------------------------------


def test_the_description_is_valid_openapi_3_1(description):
    assert description["openapi"].startswith("3.1")
    validate(description, cls=OpenAPIV31SpecValidator)  # raises with what is wrong


def test_every_parameter_the_search_reads_is_described(description):
    described = parameters(description)
    # The FilterSet's filters, the two the selector reads itself, and the view's format.
    assert set(described) == set(DecisionFilter.base_filters) | {"sort", "page", "format"}
    for name, parameter in described.items():
        assert parameter["in"] == "query"
        assert parameter["description"], f"{name} says nothing of what it means"
        # django-filter's label for a filter it cannot name (set label= on the filter)
        assert parameter["schema"]["title"] not in ("", "[invalid name]"), name


def test_repeatable_parameters_are_arrays_and_the_search_reads_every_value(
    client, sample_letters, description
):
    _, everything = answer(client)
    for name, parameter in parameters(description).items():
        schema = parameter["schema"]
        if schema["type"] != "array":
            continue
        assert parameter["style"] == "form" and parameter["explode"] is True, name
        # Two values of one facet are OR'ed: the answer marks both chosen.
        values = [v["value"] for v in everything["facets"].get(name, [])][:2]
        if len(values) == 2:
            status, data = answer(client, f"{name}={values[0]}&{name}={values[1]}")
            assert status == 200, (name, data)
            chosen = {v["value"] for v in data["facets"][name] if v["selected"]}
            assert chosen == set(values), name


def _one_value_schema(parameter: dict) -> dict:
    schema = parameter["schema"]
    return schema["items"] if schema["type"] == "array" else schema


def test_every_value_the_description_lists_is_one_the_search_accepts(
    client, sample_letters, description
):
    for name, parameter in parameters(description).items():
        schema = _one_value_schema(parameter)
        for value in schema.get("enum", []):
            # With words to search, so that every sort (best match too) applies.
            response = client.get(f"{API}?q=therapy&{name}={value}")
            assert response.status_code == 200, (name, value, response.content)
        if "enum" in schema:
            status, data = answer(client, f"{name}=not-a-value")
            assert status == 400 and name in data["fields"], (name, data)


def test_whole_number_parameters_refuse_anything_else(client, sample_letters, description):
    for name, parameter in parameters(description).items():
        schema = _one_value_schema(parameter)
        if schema["type"] != "integer" or name not in DecisionFilter.base_filters:
            continue  # (page is lenient, as its description says)
        status, data = answer(client, f"{name}=1.5")
        assert status == 400 and name in data["fields"], (name, data)
        if "minimum" in schema:
            status, data = answer(client, f"{name}={schema['minimum'] - 1}")
            assert status == 400 and name in data["fields"], (name, data)


# --- live answers against it ----------------------------------------------------------------


@pytest.fixture
def every_field(sample_letters):
    """The sample letters, and one decision that fills each field they leave empty (they name
    no drug and no case number): a field is checked against its type only where it has a value.
    """
    letter = DeterminationFactory(
        case_number="CM15-0012345",
        key="CM15-0012345",
        decision_date=dt.date(2015, 6, 2),
        decision_year=2015,
        date_assigned=dt.date(2015, 5, 1),
        ur_date=dt.date(2015, 4, 2),
        patient_age=47,
        patient_sex="male",
        date_of_injury=dt.date(2012, 5, 1),
        injury_year=2012,
    )
    letter.reviewer_specialties.add(Specialty.objects.order_by("slug").first())
    drug = Drug.objects.get(slug="hydrocodone/acetaminophen")
    item = DecisionItemFactory(
        determination=letter,
        request="Norco 10/325 #60 for the right knee",
        outcome="overturned",
        laterality="right",
        quantity=60,
        drug=drug,
        drug_class=drug.drug_class,
    )
    item.treatments.add(Treatment.objects.get(slug="medication"))
    citation = GuidelineCitationFactory(item=item, section="Opioids")
    CitedPageRange.objects.create(citation=citation, first_page=74, last_page=96)
    return item


def strict(schema):
    """``schema`` with no field besides those it describes (a client may be told of more)."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def problems(description, status: str, data, media_type: str = "application/json") -> list[str]:
    """How ``data`` differs from the description of the API's answer with ``status``."""
    content = description["paths"][API]["get"]["responses"][status]["content"]
    root = {
        **content[media_type]["schema"],
        "components": strict(description["components"]),
    }
    validator = OAS31Validator(root, format_checker=OAS31Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(the answer)'}: {e.message}"
        for e in validator.iter_errors(data)
    ]


def described_paths(field: api_schema.Field, path: str = "") -> set[str]:
    """Every place in an answer the description names (``results[].letter.id``)."""
    found = {path} if path else set()
    if field.items is not None:
        found |= described_paths(field.items, path + "[]")
    for name, inner in field.fields.items():
        found |= described_paths(inner, f"{path}.{name}" if path else name)
    return found


def valued_paths(value, path: str = "") -> set[str]:
    """Every place in ``value`` that holds something other than null."""
    if value is None:
        return set()
    found = {path} if path else set()
    if isinstance(value, list):
        for inner in value:
            found |= valued_paths(inner, path + "[]")
    elif isinstance(value, dict):
        for name, inner in value.items():
            found |= valued_paths(inner, f"{path}.{name}" if path else name)
    return found


def test_live_answers_hold_every_described_field_and_nothing_else(
    client, every_field, description, monkeypatch
):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 3)  # pages enough for next and previous links
    seen = set()
    for query in ["", "page=2", "q=therapy", "q=trochanteric&within=letter", "outcome=overturned"]:
        status, data = answer(client, query)
        assert status == 200, (query, data)
        found = problems(description, "200", data)
        assert not found, (query, found)
        seen |= valued_paths(data)
    unseen = described_paths(api_schema.SEARCH_PAGE) - seen
    # Each described field had a value somewhere, so its type was checked: where one did not,
    # the every_field decision above needs one.
    assert not unseen, f"never given a value, so never type-checked: {sorted(unseen)}"


def test_an_error_answer_is_what_the_description_says(client, sample_letters, description):
    status, data = answer(client, "outcome=maybe&injury_year=last")
    assert status == 400
    found = problems(description, "400", data)
    assert not found, found
    assert set(data["fields"]) == {"outcome", "injury_year"}


def test_the_description_catches_an_undescribed_field(client, sample_letters, description):
    _, data = answer(client)
    data["results"][0]["letter"]["colour"] = "blue"
    del data["facets"][next(iter(data["facets"]))]
    found = problems(description, "200", data)
    assert any("colour" in p for p in found), found
    assert any("required" in p for p in found), found


def test_an_export_is_what_the_description_says(client, every_field, description):
    content = description["paths"][API]["get"]["responses"]["200"]["content"]
    columns = list(description["components"]["schemas"]["ExportRow"]["properties"])
    for name, shown in exports.FORMATS.items():
        response = client.get(f"{API}?format={name}")
        assert response.status_code == 200
        assert response["Content-Type"].split(";")[0] in content, name
        body = b"".join(response.streaming_content)
        if shown.media_type == "text/csv":
            header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
            assert header == columns  # the columns described, in their order
        else:
            records = [json.loads(line) for line in body.decode().splitlines()]
            assert len(records) == 9
            found = problems(description, "200", records, shown.media_type)
            assert not found, found
            assert [list(r) for r in records] == [columns] * len(records)
            seen = set().union(*(valued_paths(r) for r in records))
            unseen = described_paths(api_schema.EXPORT_ROW) - seen
            assert not unseen, f"never given a value, so never type-checked: {sorted(unseen)}"


def test_the_description_catches_an_undescribed_export_column(client, every_field, description):
    body = b"".join(client.get(f"{API}?format=jsonl").streaming_content)
    records = [json.loads(line) for line in body.decode().splitlines()]
    records[0]["colour"] = "blue"
    del records[1]["rationale"]
    found = problems(description, "200", records, "application/jsonl")
    assert any("colour" in p for p in found), found
    assert any("rationale" in p for p in found), found
