"""The guideline browser: every count and rate against a count by the database over the same
rows, and every count's link against the search it leads to.

The sample letters (fixtures/letters) by hand: MTUS Chronic Pain is cited by the claims
administrator in 4 decisions and by MAXIMUS in 6, 2 of them overturned; page 99 by MAXIMUS in 3
(one overturned, the lumbar physical therapy of letter 003).
"""

import html
import re
from urllib.parse import urlsplit

import pytest
from django.db.models import Q
from django.urls import reverse

from decisions import facet_index, lettergen, services
from decisions.facet_index import wording_of
from decisions.guidelines import ORDERS, SECTIONS_SHOWN
from decisions.models import (
    CitedChapter,
    CitingSide,
    DecisionItem,
    Guideline,
    GuidelineCitation,
    Outcome,
)
from decisions.parsing import vocab

pytestmark = pytest.mark.django_db
LIST = reverse("decisions:guidelines")
SIDES = (CitingSide.CLAIMS_ADMINISTRATOR, CitingSide.MAXIMUS)


def detail_url(slug):
    return reverse("decisions:guideline", kwargs={"slug": slug})


def browse(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response, response.context["browse"]


# --- counting by hand: the database over the same rows ------------------------------------------


EVERY = Q()  # no scope: every decision


def items(condition: Q, scope: Q = EVERY) -> tuple[int, int]:
    """(decisions, overturned) of the items in ``scope`` with a citation meeting ``condition``."""
    ids = set(GuidelineCitation.objects.filter(condition).values_list("item_id", flat=True))
    found = DecisionItem.objects.filter(scope, pk__in=ids)
    return found.count(), found.filter(outcome=Outcome.OVERTURNED).count()


def by_side(condition: Q, scope: Q = EVERY) -> tuple[int, int, int]:
    """(claims administrator's decisions, MAXIMUS's, MAXIMUS's overturned) citing so."""
    claims, _ = items(condition & Q(source=CitingSide.CLAIMS_ADMINISTRATOR), scope)
    maximus, overturned = items(condition & Q(source=CitingSide.MAXIMUS), scope)
    return claims, maximus, overturned


def on_pages(*ranges: tuple[int, int]) -> Q:
    """Citations naming a page of one of ``ranges`` ((first, last) each), not pages looked up
    from a section's name."""
    overlapping = Q()
    for first, last in ranges:
        overlapping |= Q(page_ranges__first_page__lte=last, page_ranges__last_page__gte=first)
    return Q(overlapping, page_ranges__derived=False)


def shown(row) -> tuple[int, int, int]:
    return row.cited.claims, row.cited.maximus, row.cited.rate.overturned


# --- the list ---------------------------------------------------------------------------------


def test_every_guideline_with_its_counts_by_side_and_rate(client, sample_letters):
    response, found = browse(client, LIST)
    rows = {r.key: r for r in found.guidelines}
    assert set(rows) == set(Guideline.objects.values_list("slug", flat=True))
    for slug, row in rows.items():
        assert shown(row) == by_side(Q(guideline_id=slug)), slug
        assert row.cited.rate.decisions == row.cited.maximus
    assert shown(rows["mtus_chronic_pain"]) == (4, 6, 2)  # by hand, as the module says
    assert shown(rows["mtus_acoem"]) == (1, 2, 2)
    content = response.content.decode()
    assert "2 of 6 overturned" in content
    assert f'href="{detail_url("mtus_chronic_pain")}"' in content


def result_count(content: str) -> int:
    heading = re.search(r'id="results-heading"[^>]*>\s*(\d+) decisions?', content)
    return int(heading.group(1))


def assert_links_lead_to_their_counts(client, response, rows):
    """Every count linked on the page is what the search (and the API) it leads to finds."""
    content = response.content.decode()
    followed = 0
    for row in rows:
        for n, url in [
            (row.cited.claims, row.cited.claims_url),
            (row.cited.maximus, row.cited.maximus_url),
        ]:
            if not n:
                continue
            assert f'href="{html.escape(url)}"' in content, url
            page = client.get(url)
            assert page.status_code == 200
            assert result_count(page.content.decode()) == n, (row.label, url)
            query = urlsplit(url).query
            assert client.get(f"{reverse('decisions:api_decisions')}?{query}").json()["count"] == n
            followed += 1
    return followed


def test_each_count_leads_to_a_search_finding_that_many(client, sample_letters):
    response, found = browse(client, LIST)
    assert assert_links_lead_to_their_counts(client, response, found.guidelines) >= 8
    chronic = next(r for r in found.guidelines if r.key == "mtus_chronic_pain")
    assert chronic.cited.maximus_url == "/?guideline=mtus_chronic_pain&source=maximus"


# --- a guideline ------------------------------------------------------------------------------


def test_mtus_chronic_pain_pages_and_topics_counted_as_the_database_does(client, sample_letters):
    response, found = browse(client, detail_url("mtus_chronic_pain"))
    chronic = Q(guideline_id="mtus_chronic_pain")
    assert shown(found.summary) == by_side(chronic) == (4, 6, 2)
    pages = {int(r.key): r for r in found.pages}
    named = GuidelineCitation.objects.filter(chronic, page_ranges__derived=False).values_list(
        "page_ranges__first_page", "page_ranges__last_page"
    )
    assert set(pages) == {p for a, b in named for p in range(a, b + 1)}
    for p, row in pages.items():
        assert shown(row) == by_side(chronic & on_pages((p, p))), p
    assert shown(pages[99]) == (1, 3, 1)
    assert pages[99].notes == "Physical Medicine"  # its topic, from the MTUS page table
    assert shown(pages[98]) == (0, 3, 1)  # the claims administrator's 98-99 was looked up

    topics = {r.key: r for r in found.topics}
    for term in vocab.MTUS_SECTIONS:
        expected = by_side(chronic & on_pages(*term.pages))
        if term.slug in topics:
            assert shown(topics[term.slug]) == expected, term.slug
        else:
            assert expected == (0, 0, 0), term.slug
            assert term.slug in {t.key for t in found.uncited_topics}
    assert shown(topics["physical_medicine"]) == (1, 3, 1)
    assert topics["physical_medicine"].notes == "pages 98-99"
    assert len(found.topics) + len(found.uncited_topics) == len(vocab.MTUS_SECTIONS)
    assert_links_lead_to_their_counts(client, response, [found.summary, *found.pages])
    link = "/?guideline=mtus_chronic_pain&amp;cited_page=99&amp;source=maximus"
    assert f'href="{link}"' in response.content.decode()


def test_acoem_chapters_and_sections_as_written(client, sample_letters):
    response, found = browse(client, detail_url("mtus_acoem"))
    acoem = Q(guideline_id="mtus_acoem")
    assert shown(found.summary) == by_side(acoem) == (1, 2, 2)
    chapters = {int(r.key): r for r in found.chapters}
    assert set(chapters) == set(
        CitedChapter.objects.filter(citation__guideline_id="mtus_acoem").values_list(
            "chapter", flat=True
        )
    )
    for n, row in chapters.items():
        assert shown(row) == by_side(acoem & Q(chapters__chapter=n)), n
    assert chapters[12].label == "Chapter 12: Low Back Complaints"
    assert shown(chapters[12]) == (1, 2, 2)
    assert not found.topics  # the MTUS page table is Chronic Pain's
    for row in found.pages:
        assert shown(row) == by_side(acoem & on_pages((int(row.key), int(row.key))))

    written = GuidelineCitation.objects.filter(acoem, section_derived=False).exclude(section="")
    wordings = {wording_of(c.section) for c in written}
    assert {r.key for r in found.sections} == wordings
    for row in found.sections:
        same = [c.pk for c in written if wording_of(c.section) == row.key]
        assert shown(row) == by_side(Q(pk__in=same)), row.key
    content = response.content.decode()
    assert "Chapter 12 Low Back Complaints" in content
    assert_links_lead_to_their_counts(client, response, [found.summary, *found.pages])


def test_sections_looked_up_from_the_pages_are_not_sections_as_written(client, sample_letters):
    _, found = browse(client, detail_url("mtus_chronic_pain"))
    physical = next(r for r in found.sections if r.key == "physical medicine")
    # letter 001's MAXIMUS citation gives pages 98-99 alone: its section was looked up
    assert shown(physical) == (2, 2, 1)


def test_scoped_by_a_search_its_counts_and_links_keep_the_filters(client, sample_letters):
    response, found = browse(client, detail_url("mtus_chronic_pain"), treatment="physical_therapy")
    therapy = Q(treatments__slug="physical_therapy")
    chronic = Q(guideline_id="mtus_chronic_pain")
    assert shown(found.summary) == by_side(chronic, therapy)
    assert found.scope == [("Treatment", "Physical therapy")]
    for row in found.pages:
        p = int(row.key)
        assert shown(row) == by_side(chronic & on_pages((p, p)), therapy)
        assert row.cited.maximus_url.startswith("/?treatment=physical_therapy&guideline=")
    assert_links_lead_to_their_counts(client, response, [found.summary, *found.pages])
    assert "See these decisions" in response.content.decode()

    _, listed = browse(client, LIST, treatment="physical_therapy", body_region="lumbar_spine")
    lumbar = therapy & Q(body_regions__slug="lumbar_spine")
    for row in listed.guidelines:
        assert shown(row) == by_side(Q(guideline_id=row.key), lumbar), row.key
        assert row.url.endswith("?treatment=physical_therapy&body_region=lumbar_spine")


def test_the_scope_is_named_as_the_search_names_its_filters(client, sample_letters):
    query = (
        "outcome=upheld&age=40_49&injury_year=2011&drug_class=opioid&specialty=orthopedic_surgery"
    )
    response = client.get(f"{LIST}?{query}")
    assert response.context["browse"].scope == [
        ("Outcome", "Upheld"),
        ("Drug class", "Opioids"),
        ("Reviewer specialty", "Orthopedic Surgery"),
        ("Patient age", "40-49"),
        ("Year of injury", "2011"),
    ]
    assert "<strong>Reviewer specialty</strong> Orthopedic Surgery" in response.content.decode()


def test_scoped_by_words_as_the_search_reads_them(client, sample_letters):
    response, found = browse(client, LIST, q="massage")
    api = client.get(reverse("decisions:api_decisions"), {"q": "massage"}).json()
    matched = Q(pk__in=[r["id"] for r in api["results"]])
    assert api["count"] == 1
    for row in found.guidelines:
        assert shown(row) == by_side(Q(guideline_id=row.key), matched), row.key
    assert found.scope == [("Text", "“massage”")]
    assert assert_links_lead_to_their_counts(client, response, found.guidelines) >= 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("order=colour", "order"),
        ("treatment=levitation", "treatment"),
        ("guideline=odg", "guideline"),  # what the page counts by cannot narrow it
        ("source=maximus", "source"),
        ("cited_page=99", "cited_page"),
    ],
)
def test_a_bad_request_is_a_400_with_a_message(client, sample_letters, query, field):
    for url in (LIST, detail_url("mtus_chronic_pain")):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400
        content = response.content.decode()
        assert "This page could not be made" in content
        assert f"<strong>{field}</strong>" in content
        assert response.context["browse"].errors[field][0]
    assert "use one of count, rate" in client.get(f"{LIST}?order=colour").content.decode()


def test_an_unknown_guideline_is_a_404(client, sample_letters):
    assert client.get(detail_url("zygomatic")).status_code == 404


def test_the_menu_leads_to_the_guidelines(client, sample_letters):
    content = client.get(reverse("decisions:home")).content.decode()
    assert f'<a href="{LIST}">Guidelines</a>' in content


@pytest.fixture
def generated_letters():
    """Letters enough for rates: generated, each with its own requests, pages and outcomes."""
    inputs = [services.LetterInput(n, t) for n, t in lettergen.letters(80, seed=3, header=False)]
    assert {o.status for o in services.letters_ingest(letters=inputs)} == {"new"}


def test_by_rate_the_highest_first_and_those_with_too_few_decisions_last(client, generated_letters):
    response, found = browse(client, detail_url("mtus_chronic_pain"), order="rate")
    for rows in (found.pages, found.topics, found.sections):
        enough = [r.cited.rate for r in rows if r.cited.rate.enough]
        assert enough, "no row with decisions enough for a rate"
        assert [r.cited.rate.enough for r in rows] == sorted(
            (r.cited.rate.enough for r in rows), reverse=True
        )
        assert [r.rate for r in enough] == sorted((r.rate for r in enough), reverse=True)
    rate = found.pages[0].cited.rate
    content = response.content.decode()
    assert f"{rate.words}: <strong>{rate.percent}</strong>" in content
    assert rate.interval_words in content
    assert 'aria-sort="descending"' in content
    assert ORDERS["rate"] in content

    _, by_count = browse(client, detail_url("mtus_chronic_pain"))
    counts = [r.cited.maximus for r in by_count.pages]
    assert counts == sorted(counts, reverse=True)
    assert len(found.sections) <= SECTIONS_SHOWN
    for row in by_count.pages:
        p = int(row.key)
        assert shown(row) == by_side(Q(guideline_id="mtus_chronic_pain") & on_pages((p, p)))


def test_a_chapter_a_person_removes_leaves_its_count_at_once(client, sample_letters):
    def chapter_12():
        _, found = browse(client, detail_url("mtus_acoem"))
        return next(shown(r) for r in found.chapters if r.key == "12")

    assert chapter_12() == (1, 2, 2)
    chapter = CitedChapter.objects.get(chapter=12, citation__source=CitingSide.CLAIMS_ADMINISTRATOR)
    citation = chapter.citation
    chapter.delete()
    services.rows_saved(obj=citation)  # as the admin does after saving a citation's inlines
    assert chapter_12() == (0, 2, 2)


def test_the_pages_take_a_few_queries_whatever_the_guideline(
    client, sample_letters, django_assert_max_num_queries
):
    client.get(LIST)  # the facet index, built on first use
    with django_assert_max_num_queries(3):
        client.get(LIST)
    with django_assert_max_num_queries(4):
        client.get(detail_url("mtus_acoem"), {"treatment": "mri"})


def test_before_any_letter_is_loaded_the_list_says_so(client):
    response, found = browse(client, LIST)
    assert found.guidelines == []  # the guidelines come with the letters' vocabulary
    assert "No letters yet" in response.content.decode()


def test_new_letters_and_their_sections_count_without_a_rebuild(client, sample_letters):
    _, before = browse(client, detail_url("mtus_chronic_pain"))
    with facet_index.current_index() as index:
        first = index
    more = [services.LetterInput(n, t) for n, t in lettergen.letters(12, seed=5, header=False)]
    assert {o.status for o in services.letters_ingest(letters=more)} == {"new"}
    _, after = browse(client, detail_url("mtus_chronic_pain"))
    with facet_index.current_index() as index:
        assert index is first  # brought up to date in place
    written = GuidelineCitation.objects.filter(
        guideline_id="mtus_chronic_pain", section_derived=False
    ).exclude(section="")
    assert after.sections_total >= before.sections_total
    for row in after.sections:
        same = [c.pk for c in written if wording_of(c.section) == row.key]
        assert shown(row) == by_side(Q(pk__in=same)), row.key
    assert sum(r.cited.maximus for r in after.sections) > sum(
        r.cited.maximus for r in before.sections
    )
