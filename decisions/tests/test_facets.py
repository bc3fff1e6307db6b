"""The facet engine counts exactly what the database counts, and keeps in step with its writes."""

import random

import pytest
from django.http import QueryDict

from decisions import facet_index, lettergen, services
from decisions.facets import Selection, facet_counts_sql
from decisions.filters import AGE_BANDS, DecisionFilter
from decisions.models import CitedChapter, DecisionItem, Determination, GuidelineCitation
from decisions.selectors import SORTS, decision_search

pytestmark = pytest.mark.django_db

SQL_ORDER = {name: order for name, (_, order) in SORTS.items() if order}


@pytest.fixture
def many_letters():
    """Generated letters with their own treatments, regions, guidelines, pages and outcomes."""
    inputs = [
        services.LetterInput(name, text)
        for name, text in lettergen.letters(60, seed=7, header=False)
    ]
    outcomes = list(services.letters_ingest(letters=inputs))
    assert {o.status for o in outcomes} == {"new"}
    return outcomes


def _present(model, column):
    return sorted({str(v) for v in model.objects.values_list(column, flat=True) if v})


def _random_query(rng: random.Random, pools: dict[str, list[str]]) -> QueryDict:
    params = QueryDict(mutable=True)
    for name, pool in pools.items():
        if rng.random() < 0.3:
            params.setlist(name, rng.sample(pool, k=min(len(pool), rng.choice([1, 1, 2]))))
    if rng.random() < 0.25:
        params["cited_page"] = str(rng.choice(pools["_pages"]))
    params.pop("_pages", None)
    return params


def _pools() -> dict[str, list[str]]:
    pages = sorted(
        {
            p
            for a, b in GuidelineCitation.objects.filter(page_ranges__derived=False).values_list(
                "page_ranges__first_page", "page_ranges__last_page"
            )
            for p in (a, b, (a + b) // 2)
        }
    )
    return {
        "outcome": DecisionItem.Outcome.values,
        "category": _present(DecisionItem, "treatments__category"),
        "treatment": _present(DecisionItem, "treatments__slug"),
        "drug_class": _present(DecisionItem, "drug_class"),
        "drug": _present(DecisionItem, "drug__slug"),
        "body_region": _present(DecisionItem, "body_regions__slug"),
        "guideline": _present(GuidelineCitation, "guideline_id"),
        "source": GuidelineCitation.Source.values,
        "specialty": _present(Determination, "reviewer_specialties__slug"),
        "state": _present(Determination, "reviewer_states__slug"),
        "sex": Determination.Sex.values,
        "age": list(AGE_BANDS),
        "injury_year": _present(Determination, "injury_year"),
        "_pages": [*pages, 1, 4999],
    }


def _as_dicts(facets):
    return {f.name: {(v.value, v.label, v.count, v.selected) for v in f.values} for f in facets}


def test_engine_counts_equal_the_database_counts_on_random_filter_sets(many_letters):
    rng = random.Random(2026)
    pools = _pools()
    assert len(pools["treatment"]) >= 5 and len(pools["guideline"]) >= 3  # data worth testing
    assert len(pools["drug"]) >= 3 and len(pools["category"]) >= 4
    nonempty = 0
    for _ in range(120):
        params = _random_query(rng, pools)
        filterset = DecisionFilter(params, queryset=DecisionItem.objects.all())
        assert filterset.is_valid(), (params, filterset.errors)
        with facet_index.current_index() as index:
            selection = Selection(index, filterset.form.cleaned_data, None)
            engine = _as_dicts(selection.facets())
            found = sorted(selection.found)
        assert engine == _as_dicts(facet_counts_sql(filterset)), params.urlencode()
        assert found == sorted(filterset.qs.values_list("pk", flat=True)), params.urlencode()
        nonempty += bool(found)
    assert nonempty > 30  # most random searches find something, so the counts were compared


@pytest.mark.parametrize("sort", sorted(SQL_ORDER))
def test_engine_pages_follow_the_sort_the_database_would_give(client, many_letters, sort):
    unknown = [o.determination_id for o in many_letters[::7]]  # letters that do not say
    Determination.objects.filter(pk__in=unknown).update(
        date_of_injury=None, injury_year=None, patient_age=None
    )
    filterset = DecisionFilter(QueryDict("outcome=upheld"), queryset=DecisionItem.objects.all())
    assert filterset.is_valid()
    expected = list(filterset.qs.order_by(*SQL_ORDER[sort]).values_list("pk", flat=True))
    found = decision_search(QueryDict(f"outcome=upheld&sort={sort}"))
    pages = found.page.paginator.num_pages
    shown = []
    for number in range(1, pages + 1):
        shown += [
            i.pk
            for i in decision_search(QueryDict(f"outcome=upheld&sort={sort}&page={number}")).page
        ]
    assert shown == expected


@pytest.mark.parametrize("sort", sorted(SQL_ORDER))
def test_an_exports_ids_follow_the_sort_the_database_would_give(many_letters, sort):
    unknown = [o.determination_id for o in many_letters[::5]]
    Determination.objects.filter(pk__in=unknown).update(decision_date=None, patient_age=None)
    for query in ("", "outcome=upheld"):  # every item (the index's own order), and some
        filterset = DecisionFilter(QueryDict(query), queryset=DecisionItem.objects.all())
        assert filterset.is_valid()
        expected = list(filterset.qs.order_by(*SQL_ORDER[sort]).values_list("pk", flat=True))
        with facet_index.current_index() as index:
            found = Selection(index, filterset.form.cleaned_data, None).found
            ordered = index.ordered(found, sort)
            first = facet_index.bitmap(ordered[1::3])  # as a best-match search puts some first
            ahead = index.ordered(found, sort, first)
            paged = index.page(found, sort, 0, len(found), first=first)
        assert ordered.tolist() == expected, query
        assert not ordered.flags.writeable  # the index's own order is not the caller's to change
        assert ahead.tolist() == paged == expected[1::3] + [i for i in expected if i not in first]


def test_a_correction_moves_the_counts_at_once(client, many_letters):
    def overturned():
        return client.get("/api/decisions/", {"outcome": "overturned"}).json()["count"]

    before = overturned()
    item = DecisionItem.objects.filter(outcome="upheld").first()
    DecisionItem.objects.filter(pk=item.pk).update(outcome="overturned")
    services.correction_record(obj=item, changes={"outcome": ("upheld", "overturned")})
    assert overturned() == before + 1


def test_new_letters_are_found_without_a_rebuild(client, many_letters):
    def total():
        return client.get("/api/decisions/").json()["count"]

    before = total()
    with facet_index.current_index() as index:
        first = index
    more = [services.LetterInput(n, t) for n, t in lettergen.letters(5, seed=99, header=False)]
    added = list(services.letters_ingest(letters=more))
    new_items = DecisionItem.objects.filter(
        determination_id__in=[o.determination_id for o in added]
    ).count()
    assert total() == before + new_items
    with facet_index.current_index() as index:
        assert index is first  # brought up to date in place, not rebuilt


def test_a_reparse_that_drops_an_item_drops_it_from_search(client, many_letters):
    letter = Determination.objects.filter(items__position=2).first()
    kept = letter.items.count() - 1
    total = client.get("/api/decisions/").json()["count"]
    services.rows_delete(objs=[letter.items.get(position=2)])
    assert client.get("/api/decisions/").json()["count"] == total - 1
    assert letter.items.count() == kept


def test_every_filter_is_counted_by_the_engine():
    names = set(DecisionFilter.base_filters) - {"q", "within", "cited_page"}
    from decisions.facets import FACETS

    assert names == set(FACETS)


def test_a_citation_a_person_rewrites_is_searched_with_its_decision(client, sample_letters):
    citation = GuidelineCitation.objects.select_related("item").first()
    citation.text += " Zygomatic Guidelines, page 12"
    citation.save()
    services.rows_saved(obj=citation)
    found = client.get("/api/decisions/", {"q": "zygomatic"}).json()["results"]
    assert [r["id"] for r in found] == [citation.item_id]


def test_the_engine_holds_each_sides_sections_as_written(many_letters):
    expected = {}
    for item, side, guideline, section in GuidelineCitation.objects.filter(
        section_derived=False
    ).values_list("item_id", "source", "guideline_id", "section"):
        if section:
            expected.setdefault((side, guideline, facet_index.wording_of(section)), set()).add(item)
    assert len(expected) >= 10
    with facet_index.current_index() as index:
        held = {
            (side, g, index.section_wordings[code]): set(items)
            for (side, g, code), items in index.sections.items()
        }
    assert held == expected


def test_the_engine_holds_the_chapters_each_side_cites(many_letters):
    expected = {}
    for item, side, guideline, chapter in CitedChapter.objects.values_list(
        "citation__item_id", "citation__source", "citation__guideline_id", "chapter"
    ):
        expected.setdefault((side, guideline, chapter), set()).add(item)
    assert len(expected) >= 3  # chapters of ACOEM, by both sides
    with facet_index.current_index() as index:
        assert {k: set(v) for k, v in index.chapters.items()} == expected
