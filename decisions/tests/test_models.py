"""The database itself refuses bad values and duplicates, on SQLite and PostgreSQL alike."""

import pytest
from django.db import IntegrityError, transaction

from decisions.models import CitedPageRange, DecisionItem, Determination

from .factories import (
    DecisionItemFactory,
    DeterminationFactory,
    GuidelineCitationFactory,
)

pytestmark = pytest.mark.django_db


def rejects(callable_):
    """True when the database refuses the write with an IntegrityError."""
    try:
        with transaction.atomic():
            callable_()
    except IntegrityError:
        return True
    return False


def test_same_letter_cannot_be_stored_twice():
    first = DeterminationFactory(full_text="the same letter")
    assert rejects(
        lambda: Determination.objects.create(
            content_hash=first.content_hash, source_name="copy.pdf", full_text="the same letter"
        )
    )
    assert Determination.objects.count() == 1


def test_item_position_is_unique_within_a_letter_only():
    item = DecisionItemFactory(position=1)
    assert rejects(lambda: DecisionItemFactory(determination=item.determination, position=1))
    DecisionItemFactory(position=1)  # another letter's first item is fine
    assert DecisionItem.objects.count() == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [("outcome", "partly"), ("laterality", "middle"), ("position", 0)],
)
def test_item_choices_are_enforced_by_the_database(field, value):
    item = DecisionItemFactory()
    assert rejects(lambda: DecisionItem.objects.filter(pk=item.pk).update(**{field: value}))


@pytest.mark.parametrize(
    ("field", "value"),
    [("patient_sex", "other"), ("patient_age", 300), ("injury_year", 1200), ("layout", "memo")],
)
def test_letter_values_are_enforced_by_the_database(field, value):
    letter = DeterminationFactory()
    assert rejects(lambda: Determination.objects.filter(pk=letter.pk).update(**{field: value}))


def test_unknown_values_are_allowed_as_empty():
    letter = DeterminationFactory(patient_sex="", patient_age=None)
    item = DecisionItemFactory(determination=letter, laterality="", quantity=None)
    assert item.pk and letter.pk


def test_citation_source_must_be_a_known_side():
    citation = GuidelineCitationFactory()
    assert rejects(lambda: type(citation).objects.filter(pk=citation.pk).update(source="the_judge"))


def test_one_citation_per_item_source_and_guideline():
    citation = GuidelineCitationFactory()
    assert rejects(
        lambda: GuidelineCitationFactory(
            item=citation.item, source=citation.source, guideline=citation.guideline
        )
    )


def test_page_ranges_must_be_ordered_and_positive():
    citation = GuidelineCitationFactory()
    assert rejects(
        lambda: CitedPageRange.objects.create(citation=citation, first_page=99, last_page=98)
    )
    assert rejects(
        lambda: CitedPageRange.objects.create(citation=citation, first_page=0, last_page=3)
    )


def test_a_page_inside_a_range_finds_the_citation():
    citation = GuidelineCitationFactory()
    CitedPageRange.objects.create(citation=citation, first_page=98, last_page=99)
    found = DecisionItem.objects.filter(
        citations__page_ranges__first_page__lte=99, citations__page_ranges__last_page__gte=99
    )
    missed = DecisionItem.objects.filter(
        citations__page_ranges__first_page__lte=100, citations__page_ranges__last_page__gte=100
    )
    assert list(found) == [citation.item]
    assert not missed.exists()


def test_queryset_outcome_shortcuts():
    upheld = DecisionItemFactory(outcome="upheld")
    overturned = DecisionItemFactory(outcome="overturned")
    assert list(DecisionItem.objects.upheld()) == [upheld]
    assert list(DecisionItem.objects.overturned()) == [overturned]


def test_every_layout_the_parser_reads_in_the_fixtures_is_a_stored_choice():
    from pathlib import Path

    from decisions.parsing import parse_letter

    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    layouts = {parse_letter(p.read_text(encoding="utf-8")).layout for p in fixtures.rglob("*.txt")}
    assert len(layouts) >= 4  # the sets cover the layouts, so the check below means something
    assert layouts <= set(Determination.Layout.values)


def test_a_parse_becomes_unsaved_rows_with_its_facet_values():
    from pathlib import Path

    from decisions.parsing import parse_letter

    path = next((Path(__file__).resolve().parents[2] / "fixtures" / "letters").glob("*.txt"))
    text = path.read_text(encoding="utf-8")
    parsed = parse_letter(text)
    letter = Determination.from_parsed(parsed, text=text, source_name=path.name)
    assert letter.pk is None and letter.full_text == text
    assert letter.injury_year == (letter.date_of_injury.year if letter.date_of_injury else None)
    items = [DecisionItem.from_parsed(item) for item in parsed.items]
    assert [i.outcome for i in items] == [i.outcome for i in parsed.items]
    assert all(i.outcome in DecisionItem.Outcome.values for i in items)
