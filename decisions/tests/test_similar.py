"""Similar decisions: what they share with the item, where they come from, their order, and the
rate among them, checked against counts made by hand with the ORM."""

import datetime as dt
from urllib.parse import urlsplit

import pytest

from decisions import lettergen, selectors, services, similar
from decisions.models import CitedPageRange, DecisionItem, Determination
from decisions.stats import Rate

from .factories import (
    BodyRegionFactory,
    DecisionItemFactory,
    DeterminationFactory,
    GuidelineCitationFactory,
    TreatmentFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def generated_letters():
    """Generated letters, with headers (case numbers, decision dates): many share a treatment,
    region and guideline page, a few are alone in theirs."""
    inputs = [services.LetterInput(name, text) for name, text in lettergen.letters(150, seed=11)]
    outcomes = list(services.letters_ingest(letters=inputs))
    assert {o.status for o in outcomes} == {"new"}
    return outcomes


def similar_of(letter: Determination) -> tuple[list[DecisionItem], dict[int, similar.Similar]]:
    letter, items = selectors.letter_with_items(letter.key)
    return items, selectors.similar_decisions(letter, items)


def every_similar(sample: int | None = None):
    """(letter, item, its similar decisions) of every item (of the first ``sample`` letters)."""
    for letter in Determination.objects.order_by("pk")[:sample]:
        items, found = similar_of(letter)
        for item in items:
            if item.pk in found:
                yield letter, item, found[item.pk]


def hand_count(basis: similar.Basis) -> tuple[set[int], set[int]]:
    """(the decisions sharing ``basis``, those of them overturned), by the ORM."""
    found = DecisionItem.objects.filter(treatments__slug__in=[s for s, _ in basis.treatments])
    if basis.drug:
        found = found.filter(drug_id=basis.drug[0])
    if basis.regions:
        found = found.filter(body_regions__slug__in=[s for s, _ in basis.regions])
    if basis.page:
        guideline, _, number = basis.page
        found = found.filter(
            citations__source="maximus",
            citations__guideline_id=guideline,
            citations__page_ranges__derived=False,
            citations__page_ranges__first_page__lte=number,
            citations__page_ranges__last_page__gte=number,
        )
    ids = set(found.values_list("pk", flat=True))
    overturned = set(
        DecisionItem.objects.filter(pk__in=ids, outcome="overturned").values_list("pk", flat=True)
    )
    return ids, overturned


def test_similar_decisions_share_what_the_set_says_and_never_come_from_the_same_letter(
    generated_letters,
):
    checked = 0
    for letter, item, found in every_similar():
        treatments = {t.slug for t in item.treatments.all()}
        assert {slug for slug, _ in found.basis.treatments} == treatments
        if found.basis.regions:
            assert {s for s, _ in found.basis.regions} == {r.slug for r in item.body_regions.all()}
        shared, _ = hand_count(found.basis)
        for decision in found.decisions:
            other = DecisionItem.objects.select_related("determination").get(pk=decision.pk)
            assert other.determination_id != letter.pk
            assert decision.pk in shared  # same treatment (drug), region, page as the set says
            assert decision.url == other.get_absolute_url()
            assert decision.request == other.request and decision.outcome == other.outcome
            assert decision.decision_date == other.determination.decision_date
            checked += 1
        assert len(found.decisions) == min(similar.SHOWN, len(shared) - found.own)
    assert checked > 300  # most items have five


def test_those_citing_the_same_page_come_first(generated_letters):
    broader = 0
    for letter, item, found in every_similar():
        flags = [d.same_page for d in found.decisions]
        assert flags == sorted(flags, reverse=True)  # all that cite the page before any other
        if found.page is None:
            assert not any(flags)
            continue
        broader += 1
        # Those citing the page among those on the same treatment (drug) and region as the item.
        regions = tuple((r.slug, r.label) for r in item.body_regions.all())
        drug = (item.drug_id, "") if item.drug_id else None
        citing, _ = hand_count(similar.Basis(found.basis.treatments, drug, regions, found.page))
        citing -= set(letter.items.values_list("pk", flat=True))
        assert {d.pk for d in found.decisions if d.same_page} <= citing
        assert sum(flags) == min(similar.SHOWN, len(citing))
        assert found.page_label.endswith(f"p. {found.page[2]}")
    assert broader > 5  # sets broader than their page, so the order was put to the test


def test_the_rate_is_a_hand_count_of_the_set_the_link_lists(client, generated_letters):
    kinds = set()
    for letter, _, found in every_similar(sample=40):
        ids, overturned = hand_count(found.basis)
        assert found.rate == Rate(len(ids), len(overturned))
        assert found.own == len(ids & set(letter.items.values_list("pk", flat=True)))
        query = urlsplit(found.basis.search_url).query
        assert client.get(f"/api/decisions/?{query}").json()["count"] == len(ids)
        kinds.add((bool(found.basis.page), bool(found.basis.regions), bool(found.basis.drug)))
    assert len(kinds) >= 3  # with and without a page, a region, a drug


def test_the_rate_is_in_words_and_a_percentage_only_from_ten_decisions(generated_letters):
    said = set()
    for _, _, found in every_similar():
        if found.rate.decisions >= 10:
            assert f"({found.rate.percent}, 95% interval " in found.summary
            said.add("percent")
        else:
            assert found.summary.endswith("overturned: too few decisions to give a rate.")
            assert "%" not in found.summary
            said.add("words")
    assert said == {"percent", "words"}


def test_the_summary_reads_as_a_sentence():
    basis = similar.Basis((("facet_injection", "Facet injection"),), None, (("lumbar", "L"),))
    big = similar.Similar(basis, Rate(214, 31), own=1)
    assert big.summary == (
        "Of 214 decisions on the same treatment and body region (this one included), "
        "31 were overturned (14.5%, 95% interval 10.4-19.8%)."
    )
    page = ("mtus_chronic_pain", "MTUS Chronic Pain", 99)
    drug = similar.Basis((("medication", "Medication"),), ("omeprazole", "Omeprazole"), (), page)
    small = similar.Similar(drug, Rate(4, 1), own=2)
    assert small.summary == (
        "Of 4 decisions on the same drug, citing the same guideline page (2 of this letter's "
        "included), 1 was overturned: too few decisions to give a rate."
    )
    assert drug.values == "Medication (Omeprazole); MTUS Chronic Pain p. 99"
    assert drug.search_url == (
        "/?treatment=medication&drug=omeprazole&guideline=mtus_chronic_pain&source=maximus"
        "&cited_page=99"
    )


# --- on rows made for the purpose ------------------------------------------------------------


def decision(
    *,
    rationale="The request is not medically necessary.",
    treatment="knee_arthroscopy",
    region="knee",
    outcome="upheld",
    decided=dt.date(2020, 1, 1),
    page=None,
    letter=None,
):
    letter = letter or DeterminationFactory(decision_date=decided)
    item = DecisionItemFactory(determination=letter, rationale=rationale, outcome=outcome)
    item.treatments.add(TreatmentFactory(slug=treatment))
    if region:
        item.body_regions.add(BodyRegionFactory(slug=region))
    if page:
        citation = GuidelineCitationFactory(item=item)
        CitedPageRange.objects.create(citation=citation, first_page=page, last_page=page)
    return item


MENISCUS = (
    "Arthroscopic partial meniscectomy is not indicated: the MRI shows no meniscal tear, "
    "mechanical locking is not documented and conservative care with a home exercise program "
    "was not exhausted."
)


def test_within_a_group_the_rationale_most_alike_comes_first_however_old():
    item = decision(rationale=MENISCUS, decided=dt.date(2024, 5, 1))
    alike = decision(
        rationale="No meniscal tear on the MRI and no mechanical locking: a meniscectomy is not "
        "indicated until conservative care fails.",
        decided=dt.date(2014, 1, 1),
    )
    newer = [
        decision(
            rationale=f"The guidelines support a short course of therapy ({n}) for this patient.",
            decided=dt.date(2019, 1, n + 1),
        )
        for n in range(6)
    ]
    found = similar_of(item.determination)[1]
    shown = [d.pk for d in found[item.pk].decisions]
    assert shown[0] == alike.pk
    assert shown[1:] == [d.pk for d in reversed(newer)][:4]  # then the newest


def test_a_page_cited_by_few_comes_first_in_the_broader_set():
    item = decision(page=99, decided=dt.date(2024, 5, 1))
    citing = decision(page=99, decided=dt.date(2010, 1, 1), outcome="overturned")
    others = [decision(decided=dt.date(2020, 1, n + 1)) for n in range(12)]
    found = similar_of(item.determination)[1][item.pk]
    assert found.basis.page is None and found.page[2] == 99  # the set: treatment and region
    assert found.rate == Rate(14, 1)
    assert [d.pk for d in found.decisions][:2] == [citing.pk, others[-1].pk]
    assert [d.same_page for d in found.decisions] == [True, False, False, False, False]


def test_with_none_on_the_same_region_the_set_is_the_treatment_and_says_so():
    item = decision(region="knee", outcome="overturned")
    elsewhere = [decision(region="shoulder", outcome=o) for o in ("upheld", "overturned", "upheld")]
    found = similar_of(item.determination)[1][item.pk]
    assert found.basis.regions == ()
    assert {d.pk for d in found.decisions} == {d.pk for d in elsewhere}
    assert found.summary == (
        "Of 4 decisions on the same treatment (this one included), 2 were overturned: "
        "too few decisions to give a rate."
    )


def test_an_item_alone_in_its_treatment_has_no_similar_decisions_and_one_without_none_at_all():
    alone = decision(treatment="hip_arthroscopy")
    letter = alone.determination
    untreated = DecisionItemFactory(determination=letter)
    sibling = decision(letter=letter, treatment="hip_arthroscopy")
    decision(treatment="knee_arthroscopy")  # another letter, another treatment
    found = similar_of(letter)[1]
    assert untreated.pk not in found
    assert found[alone.pk].decisions == [] and found[sibling.pk].decisions == []
    assert found[alone.pk].own == 2  # the letter's own two are no similar decisions
