"""The search page, the letter page and the JSON API, as a user and an API client meet them.

Expected counts come from the five sample letters (fixtures/letters, labelled in fixtures/gold):
8 decisions, 5 upheld and 3 overturned.
"""

import html
import json
import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape, strip_tags

from decisions import api_schema, facet_index, services, views
from decisions.models import CitedChapter, DecisionItem, Determination

from .factories import (
    BodyRegionFactory,
    DecisionItemFactory,
    GuidelineCitationFactory,
    TreatmentFactory,
)

pytestmark = pytest.mark.django_db
HOME = reverse("decisions:home")
API = reverse("decisions:api_decisions")


def api(client, query=""):
    response = client.get(f"{API}?{query}")
    return response.status_code, json.loads(response.content)


def count(client, query=""):
    status, data = api(client, query)
    assert status == 200, data
    return data["count"]


def facet(data, name):
    return {v["value"]: v["count"] for v in data["facets"][name]}


# --- the page --------------------------------------------------------------------------------


def test_empty_site_says_how_to_load_letters(client):
    response = client.get(HOME)
    assert response.status_code == 200
    assert b"No letters yet" in response.content
    assert b"ingest_letters" in response.content


def test_home_lists_decisions_with_their_outcome(client):
    DecisionItemFactory(request="MRI of the Lumbar Spine", outcome="overturned")
    response = client.get(HOME)
    assert b"MRI of the Lumbar Spine" in response.content
    assert b"badge-overturned" in response.content


def test_no_match_says_so_and_offers_a_way_back(client, sample_letters):
    content = client.get(HOME, {"treatment": "mri", "outcome": "upheld"}).content.decode()
    assert "0 decisions" in content
    assert "No decisions match" in content
    assert 'href="/"' in content  # start over


def test_facet_links_add_and_remove_a_value_keeping_the_rest(client, sample_letters):
    content = client.get(HOME, {"q": "therapy", "outcome": "upheld"}).content.decode()
    # the link on "Overturned" adds it (OR) and keeps the text search; on "Upheld" removes it
    assert 'href="?q=therapy&amp;outcome=upheld&amp;outcome=overturned"' in content
    assert 'href="?q=therapy"' in content
    assert 'aria-current="true"' in content


@pytest.mark.parametrize(
    "query",
    [
        "",
        "outcome=upheld",
        "q=a+b&outcome=upheld&outcome=overturned&page=3",
        "treatment=mri&sort=oldest&treatment=x%26y&cited_page=99",
        "page=2&q=%E2%80%9Cback+pain%E2%80%9D&state=CA",
    ],
)
def test_facet_links_toggle_one_value_as_the_query_string_would(query):
    params = QueryDict(query)
    toggle = views.Toggles(params)
    for name, value in [
        ("outcome", "upheld"),
        ("outcome", "overturned"),
        ("treatment", "mri"),
        ("treatment", "x&y"),
        ("state", "CA"),
        ("age", "60_plus"),
    ]:
        expected = params.copy()
        expected.pop("page", None)
        kept = [v for v in expected.getlist(name) if v != value]
        expected.setlist(name, kept if value in params.getlist(name) else [*kept, value])
        assert toggle(name, value) == "?" + expected.urlencode()


def test_a_search_is_a_permalink(client, sample_letters):
    first = client.get(HOME, {"guideline": "mtus_chronic_pain", "cited_page": "99"}).content
    again = client.get(f"{HOME}?guideline=mtus_chronic_pain&cited_page=99").content
    assert first == again
    assert b"3 decisions" in first
    assert b'value="99"' in first  # the form shows the search it ran


def test_htmx_gets_only_the_results_region(client, sample_letters):
    response = client.get(HOME, {"outcome": "overturned"}, headers={"HX-Request": "true"})
    content = response.content.decode()
    # htmx swaps the response in for #search (outerHTML): it must be that element and no more
    assert content.lstrip().startswith('<div id="search"')
    assert "<html" not in content
    assert "3 decisions" in content


def test_pages_of_fifty_with_links_both_ways(client):
    letter = DecisionItemFactory(position=1).determination
    for position in range(2, 121):
        DecisionItemFactory(determination=letter, position=position)
    content = client.get(HOME).content.decode()
    assert "120 decisions" in content
    assert content.count('class="result"') == 50
    assert 'href="?page=2" rel="next"' in content
    page3 = client.get(HOME, {"page": 3}).content.decode()
    assert page3.count('class="result"') == 20
    assert 'rel="prev"' in page3 and 'rel="next"' not in page3


def test_page_links_keep_every_filter_including_repeated_ones(client):
    letter = DecisionItemFactory(position=1, outcome="overturned").determination
    for position in range(2, 121):
        DecisionItemFactory(determination=letter, position=position, outcome="overturned")
    query = "outcome=upheld&outcome=overturned&sort=oldest"
    content = client.get(f"{HOME}?{query}&page=2").content.decode()
    assert "page 2 of 3" in content
    kept = query.replace("&", "&amp;")
    assert f'href="?{kept}&amp;page=1" rel="prev"' in content
    assert f'href="?{kept}&amp;page=3" rel="next"' in content
    assert f'href="?{kept}">« First' in content  # page 1 is the page without a number
    assert f'href="?{kept}&amp;page=3">Last' in content


def test_a_results_page_takes_the_same_queries_for_five_or_fifty_decisions(client):
    def queries_for_page():
        client.get(HOME)  # the facet index takes in the new rows (once per change, not per page)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(HOME, {"outcome": "upheld"}).status_code == 200
        return len(ctx.captured_queries)

    letter = DecisionItemFactory(position=1).determination
    for position in range(2, 6):
        DecisionItemFactory(determination=letter, position=position)
    few = queries_for_page()
    for position in range(6, 61):
        DecisionItemFactory(determination=letter, position=position)
    many = queries_for_page()
    assert few == many
    # The index's version, the page's rows and their 5 prefetches: every count is the engine's.
    assert many <= 7


# --- filters and facet counts ------------------------------------------------------------------


def test_no_filter_gives_every_decision_with_outcome_counts(client, sample_letters):
    status, data = api(client)
    assert status == 200
    assert data["count"] == 8
    assert facet(data, "outcome") == {"upheld": 5, "overturned": 3}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("outcome=overturned", 3),
        ("outcome=upheld&outcome=overturned", 8),
        ("treatment=physical_therapy", 5),
        ("treatment=mri&treatment=massage_therapy", 2),  # OR within a facet
        ("treatment=physical_therapy&outcome=overturned", 1),  # AND across facets
        ("body_region=cervical_spine", 1),
        ("guideline=mtus_acoem", 2),
        ("guideline=mtus_chronic_pain&cited_page=99", 3),
        ("cited_page=303", 1),  # "303-4" of the MRI's ACOEM citation
        ("source=claims_administrator&guideline=none", 2),
        ("specialty=family_medicine", 1),
        ("state=GA", 2),
        ("state=MA&state=TX", 4),  # 000 (MA), 001 and 002 (TX)
        ("sex=male", 3),
        ("age=40_49", 3),
        ("age=60_plus&age=under_30", 2),
        ("injury_year=2011", 2),
        ("injury_year=2007&injury_year=2008", 4),
    ],
)
def test_each_filter(client, sample_letters, query, expected):
    assert count(client, query) == expected


def test_guideline_side_and_page_apply_to_one_citation(client, sample_letters):
    # The lumbar PT letter cites page 99 of the Chronic Pain guidelines, and ACOEM elsewhere:
    # "ACOEM page 99" must not find it.
    assert count(client, "guideline=mtus_acoem&cited_page=99") == 0
    assert (
        count(client, "guideline=mtus_chronic_pain&source=claims_administrator&cited_page=99") == 1
    )
    # derived pages (from the MTUS table) are not pages the letter cites
    assert (
        count(client, "guideline=mtus_chronic_pain&source=claims_administrator&cited_page=98") == 0
    )


def test_facet_counts_follow_the_other_filters_but_not_their_own(client, sample_letters):
    _, data = api(client, "outcome=overturned")
    assert data["count"] == 3
    assert facet(data, "outcome") == {"upheld": 5, "overturned": 3}  # still shows the other way
    assert facet(data, "treatment") == {"physical_therapy": 1, "mri": 1, "massage_therapy": 1}
    selected = [v["value"] for v in data["facets"]["outcome"] if v["selected"]]
    assert selected == ["overturned"]


def test_a_chosen_value_that_finds_nothing_keeps_its_label(client, sample_letters):
    # The massage therapy decision was overturned: "upheld" and it find nothing together.
    query = "treatment=massage_therapy&outcome=upheld&guideline=acr&injury_year=2011"
    _, data = api(client, query)
    assert data["count"] == 0
    chosen = {
        name: [(v["value"], v["label"], v["count"]) for v in values if v["selected"]]
        for name, values in data["facets"].items()
    }
    assert chosen["treatment"] == [("massage_therapy", "Massage therapy", 0)]
    assert chosen["outcome"] == [("upheld", "Upheld", 0)]
    assert chosen["guideline"] == [("acr", "American College of Radiology (ACR)", 0)]
    assert chosen["injury_year"] == [("2011", "2011", 0)]
    content = client.get(f"{HOME}?{query}").content.decode()
    assert "massage_therapy</span>" not in content  # the facet list
    assert '<span class="label">Massage therapy</span>' in content
    assert re.search(r"Treatment: Massage therapy\s*<span", content)  # its chip
    assert re.search(r"Outcome: Upheld\s*<span", content)


def test_citation_facets_count_only_citations_meeting_the_other_citation_filters(
    client, sample_letters
):
    _, data = api(client, "cited_page=99")
    assert facet(data, "guideline") == {"mtus_chronic_pain": 3}
    assert facet(data, "source") == {"maximus": 3, "claims_administrator": 1}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("guideline=no_such_guideline", "guideline"),
        ("outcome=maybe", "outcome"),
        ("treatment=levitation", "treatment"),
        ("injury_year=last", "injury_year"),
        ("cited_page=ninety", "cited_page"),
        ("cited_page=99.5", "cited_page"),  # a page is a whole number, not read as page 99
        ("age=ancient", "age"),
        ("sort=colour", "sort"),
        ("sort=relevance", "sort"),  # relevance needs words to be relevant to
    ],
)
def test_unknown_values_are_a_400_with_a_message_never_a_500(client, sample_letters, query, field):
    status, data = api(client, query)
    assert status == 400
    assert field in data["fields"]
    assert data["fields"][field][0]
    page = client.get(f"{HOME}?{query}")
    assert page.status_code == 400
    assert b"This search could not be run" in page.content


def test_api_results_carry_what_a_client_needs(client, sample_letters):
    _, data = api(client, "treatment=mri")
    (mri,) = data["results"]
    assert mri["request"] == "MRI of the Lumbar Spine"
    assert mri["outcome"] == "overturned"
    assert mri["body_regions"] == ["lumbar_spine"]
    maximus_acoem = next(
        c for c in mri["citations"] if c["source"] == "maximus" and c["guideline"] == "mtus_acoem"
    )
    assert maximus_acoem["pages"] == [[303, 304], [309, 309]]
    assert mri["letter"]["url"].endswith(f"/letters/{mri['letter']['key']}/#item-2")
    assert len(mri["letter"]["key"]) == 16  # the sample letters have no case number
    assert data["next"] is None


def test_the_official_taxonomy_filters_and_counts_category_drug_class_and_drug(client, db):
    from decisions import services

    from .conftest import LETTERS

    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(LETTERS.glob("*.txt"))}
    name = next(n for n in texts if n.startswith("002"))
    texts[name] = texts[name].replace(
        "TPI 20553 X6 in the Right Lumbar Paraspinals", "Lidoderm 5% patch #30 for the low back"
    )
    list(services.letters_ingest(letters=[services.LetterInput(n, t) for n, t in texts.items()]))

    _, data = api(client, "category=pharmaceuticals")
    (patch,) = data["results"]
    assert patch["request"].startswith("Lidoderm 5% patch #30")
    assert patch["categories"] == ["pharmaceuticals"]
    assert patch["drug"] == {"generic": "lidocaine", "class": "topical_analgesic"}
    assert count(client, "drug_class=topical_analgesic") == 1
    assert count(client, "drug=lidocaine") == 1
    assert count(client, "category=rehabilitation") == 6  # physical therapy, chiro, massage
    assert count(client, "category=rehabilitation&category=pharmaceuticals") == 7

    page = client.get("/?category=rehabilitation").content.decode()
    assert "Treatment category" in page and "Drug class" in page
    assert "lidocaine (Topical analgesics)" in client.get("/?drug=lidocaine").content.decode()
    assert client.get("/?drug_class=not_a_class").status_code == 400


# --- full-text search ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "in_decision", "in_letter"),
    [
        ("massage", 1, 2),  # the massage decision; in the letter, both of letter 004's
        ("MASSAGE", 1, 2),
        ('"flare up"', 2, 4),  # letters 002 and 004, one decision each says it
        ('"massage therapy"', 1, 2),
        ('"therapy massage"', 0, 0),  # a phrase, not two words
        ("injections", 1, 2),  # stemmed: letter 002 says "injection" and "injections"
        ("acupuncture", 0, 0),
        ("massage or radiculopathy", 1, 7),  # radiculopathy is in every summary but 000's
        ("therapy -chiropractic", 6, 4),  # letters 000, 001, 003; decisions not about chiro
        ("L5-S1", 0, 0),
        ("10/325", 0, 0),  # odd characters are words, not syntax errors
        ('"unbalanced', 0, 0),
    ],
)
def test_full_text_search_with_web_search_syntax(client, sample_letters, q, in_decision, in_letter):
    assert count(client, f"q={q}") == in_decision
    assert count(client, f"q={q}&within=decision") == in_decision
    assert count(client, f"q={q}&within=letter") == in_letter


@pytest.mark.parametrize(
    ("tsquery", "asked", "exact"),
    [
        ("'epidur' <-> 'inject'", "'epidur inject'", True),  # a two-word phrase: one pair term
        ("'therapi' & !'chiropract'", "( 'therapi' & !( 'chiropract' ) )", True),
        ("'l5-s1' <-> 'l5' <-> 's1'", "( 'l5-s1 l5' & 'l5 s1' )", False),  # then positions
        ("'physic' <-> 'therapi' <3> 'knee'", "( 'physic therapi' & 'knee' )", False),
        ("!( 'a' <-> 'b' )", "!( 'a b' )", True),
        ("( 'a' | 'b' ) & 'c'", "( ( 'a' | 'b' ) & 'c' )", True),
        ("'it''s' & 'a\\\\b'", "( 'it''s' & 'a\\\\b' )", True),
        # not (a superset) is no superset: the long phrase's AND drops it, and checks after
        ("'a' & !( 'b' <-> 'c' <-> 'd' )", "'a'", False),
        ("'a' | !( 'b' <-> 'c' <-> 'd' )", None, False),  # the index cannot narrow at all
        ("", "", True),  # stop words only: nothing matches
    ],
)
def test_a_query_is_asked_of_the_index_of_words_and_word_pairs(tsquery, asked, exact):
    from decisions import search

    assert search.index_terms(tsquery) == (asked, exact)


QUERIES = [
    "massage",
    "injections",
    '"flare up"',
    '"massage therapy"',
    '"therapy massage"',
    "lumbar physical therapy",
    '"lumbar physical therapy"',
    "massage or radiculopathy",
    "therapy -chiropractic",
    '-"physical therapy" therapy',
    'therapy -"flare up"',
    '"physical therapy for the" knee',
    "L5-S1",
    "-L5-S1 spine",
    "10/325",
    '"unbalanced',
    "-massage",
    '"medically necessary"',
    '"not medically necessary"',
]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's index of word pairs")
@pytest.mark.parametrize("q", QUERIES)
def test_the_index_of_word_pairs_matches_what_the_items_vectors_match(sample_letters, q):
    from decisions import search

    query = search.parse(q)
    for request_only, column in ((False, "search_vector"), (True, "request_vector")):
        sql, params = search.matching_items(query, request_only=request_only)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = sorted(row[0] for row in cursor.fetchall())
            cursor.execute(
                f"SELECT id FROM decisions_decisionitem "
                f"WHERE {column} @@ websearch_to_tsquery('english', %s) ORDER BY id",
                [query.engine_query],
            )
            assert found == [row[0] for row in cursor.fetchall()], (q, request_only, sql)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL keeps it by triggers")
def test_the_index_of_word_pairs_follows_every_write_to_an_item(client, sample_letters):
    from decisions import services

    item = DecisionItem.objects.first()

    def write(**fields):  # a raw write, logged as the services log theirs (pages are cached)
        DecisionItem.objects.filter(pk=item.pk).update(**fields)
        services.letters_changed(letters=[item.determination_id])

    write(rationale=item.rationale + " zygomatic arch")
    assert count(client, 'q="zygomatic arch"') == count(client, "q=zygomatic") == 1
    write(rationale=item.rationale)  # and back
    assert count(client, "q=zygomatic") == 0
    write(request="Zygomatic arch brace")
    assert count(client, 'q="zygomatic arch"') == 1
    item.delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM decisions_itemsearch WHERE item_id = %s", [item.pk])
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM decisions_itemsearch")
        assert cursor.fetchone()[0] == DecisionItem.objects.count()


def test_a_search_finds_the_decisions_about_it_not_their_letters_neighbours(client, sample_letters):
    # "MRI of the Lumbar Spine" shares a letter with physical therapy: not a therapy decision.
    _, data = api(client, "q=lumbar physical therapy&outcome=overturned")
    requests = [r["request"] for r in data["results"]]
    assert requests and all("therapy" in r.lower() for r in requests)
    assert all("therap" in r["snippet"].lower() for r in data["results"])
    _, letters = api(client, "q=lumbar physical therapy&outcome=overturned&within=letter")
    assert "MRI of the Lumbar Spine" in [r["request"] for r in letters["results"]]


def test_decisions_whose_request_matches_come_first(client, sample_letters):
    _, data = api(client, "q=therapy")
    requests = [r["request"].lower() for r in data["results"]]
    in_request = [("therapy" in r) for r in requests]
    assert in_request == sorted(in_request, reverse=True)  # all True before any False
    assert any(in_request)


def test_the_search_box_example_finds_decisions_in_the_sample_letters(client, sample_letters):
    content = client.get(HOME).content.decode()
    box = re.search(r'<input id="q"[^>]*>', content)[0]
    placeholder = html.unescape(re.search(r"placeholder=(['\"])(.*?)\1", box)[2])
    example = placeholder.removeprefix("e.g. ")
    assert example != placeholder  # offered as an example
    assert count(client, urlencode({"q": example})) > 0


def test_a_query_of_common_words_only_is_no_text_search_and_says_so(client, sample_letters):
    assert count(client, "q=the of and") == count(client, "") == 8
    content = client.get(HOME, {"q": "the of and"}).content.decode()
    assert "has only common words" in content


def test_search_combines_with_facets_and_sorts_by_relevance(client, sample_letters):
    status, data = api(client, "q=massage&outcome=overturned")
    assert status == 200
    assert [r["request"] for r in data["results"]] == ["Two massage therapy sessions"]
    content = client.get(HOME, {"q": "massage"}).content.decode()
    assert '<option value="relevance" selected>' in content


def test_snippets_mark_the_words_found_and_never_pass_markup_through(client, sample_letters):
    content = client.get(HOME, {"q": "massage"}).content.decode()
    assert re.search(r"<mark>massage</mark>", content, re.I)
    letter = Determination.objects.get(pk=sample_letters[-1].determination_id)
    markup = " Treater wrote <script>alert(1)</script> in an addendum. "
    Determination.objects.filter(pk=letter.pk).update(full_text=letter.full_text + markup)
    item = letter.items.first()
    DecisionItem.objects.filter(pk=item.pk).update(rationale=item.rationale + markup)
    for within in ("decision", "letter"):
        content = client.get(HOME, {"q": "addendum", "within": within}).content.decode()
        snippet = re.search(r'<p class="snippet">(.*?)</p>', content, re.S)[1]
        assert "<mark>addendum</mark>" in snippet
        assert "<script" not in snippet  # escaped (SQLite) or dropped by ts_headline (PostgreSQL)


def test_a_snippet_has_an_ellipsis_only_where_the_rationale_was_cut(client, db):
    filler = " ".join(f"word{n}" for n in range(60))
    rationales = {
        "short": ("Zygomatic arch films are not indicated.", "", ""),
        "middle": (f"{filler} The zygomatic arch films are not indicated. {filler}", "… ", " …"),
        "start": (f"Zygomatic arch films are not indicated. {filler}", "", " …"),
        "end": (f"{filler} Zygomatic arch films are not indicated.", "… ", ""),
    }
    for request, (rationale, _, _) in rationales.items():
        DecisionItemFactory(request=request, rationale=rationale)
    content = client.get(HOME, {"q": "zygomatic"}).content.decode()
    _, data = api(client, "q=zygomatic")
    api_snippets = {r["request"]: r["snippet"] for r in data["results"]}
    for request, (_, lead, trail) in rationales.items():
        shown = re.search(rf">{request}</a>.*?<p class=\"snippet\">(.*?)</p>", content, re.S)[1]
        for snippet in (shown, api_snippets[request]):
            assert "<mark>" in snippet
            assert snippet.startswith("…") == bool(lead), (request, snippet)
            assert snippet.endswith("…") == bool(trail), (request, snippet)
            assert not re.search(r"…\s*…", snippet), (request, snippet)


# --- the API page -------------------------------------------------------------------------

API_PAGE = reverse("decisions:api")


def test_the_menu_leads_to_the_api_page_not_to_raw_json(client):
    assert f'<a href="{API_PAGE}">JSON API</a>' in client.get(HOME).content.decode()


def test_the_api_page_explains_every_parameter_and_field_and_links_the_description(
    client, sample_letters
):
    page = client.get(API_PAGE).content.decode()
    assert f'href="{reverse("decisions:api_openapi")}"' in page
    for parameter in api_schema.parameters():
        assert f'id="param-{parameter.name}"' in page
        assert escape(parameter.description) in page
        for value, _ in parameter.choices or []:
            assert f"<code>{value}</code>" in page
    answers = [
        *api_schema.named_objects(api_schema.SEARCH_PAGE).values(),
        api_schema.ERROR,
        api_schema.EXPORT_ROW,
    ]
    for declared in answers:
        assert f'id="schema-{declared.name}"' in page
        for row in api_schema.field_rows(declared):
            assert f'id="field-{declared.name}-{row.path}"' in page, row.path


def _examples_shown(client) -> dict[str, int]:
    """Each example of the API page: its URL, and the count the page says it answers."""
    page = client.get(API_PAGE).content.decode()
    found = re.findall(
        r'<a href="([^"]+)"><code>[^<]*</code></a>\s*</p>\s*<p>\s*(\d+) decision', page
    )
    return {html.unescape(url): int(n) for url, n in found}


def test_the_api_page_runs_its_examples_against_the_data_as_it_is(client, sample_letters):
    shown = _examples_shown(client)
    assert len(shown) == len(api_schema.EXAMPLES)
    for url, n in shown.items():
        assert n == json.loads(client.get(url).content)["count"], url
        assert n, f"{url} finds nothing in the sample letters: not much of an example"
    DecisionItemFactory(outcome="overturned")  # the page says so at once: not pasted
    overturned = f"{API}?outcome=overturned"
    assert _examples_shown(client)[overturned] == shown[overturned] + 1


def test_the_api_page_works_before_any_letter_is_loaded(client):
    response = client.get(API_PAGE)
    assert response.status_code == 200
    assert set(_examples_shown(client).values()) == {0}


def test_the_api_page_shows_a_live_error(client, sample_letters):
    page = html.unescape(client.get(API_PAGE).content.decode())
    status, data = api(client, api_schema.ERROR_EXAMPLE)
    assert status == 400
    url = re.escape(f"{API}?{api_schema.ERROR_EXAMPLE}")
    assert re.search(rf"{url}</code></a> answers\s+400", page)
    (name,) = data["fields"]
    assert data["fields"][name][0] in page


# --- the letter page ---------------------------------------------------------------------------


def test_letter_page_marks_each_field_where_it_was_read(client, sample_letters):
    pk = sample_letters[2].determination_id  # 002: a 45-year-old woman, two items
    content = client.get(Determination.objects.get(pk=pk).get_absolute_url()).content.decode()
    age = re.search(
        r'<mark id="(mark-\d+)" class="field" data-field="patient.age"[^>]*>(.*?)</mark>', content
    )
    assert age and age[2] == "45"
    assert f'href="#{age[1]}">45</a>' in content  # the field list links to it
    assert re.search(r'data-field="items\[2\].laterality"[^>]*>Right</mark>', content)
    assert "TPI 20553 X6 in the Right Lumbar Paraspinals DOS 12/29/15" in content


def test_letter_page_links_each_cited_page_to_its_decisions(client, sample_letters):
    pk = sample_letters[2].determination_id
    content = client.get(Determination.objects.get(pk=pk).get_absolute_url()).content.decode()
    assert 'href="/?guideline=mtus_chronic_pain&amp;cited_page=122"' in content
    assert client.get("/", {"guideline": "mtus_chronic_pain", "cited_page": 122}).status_code == 200
    assert count(client, "guideline=mtus_chronic_pain&cited_page=122") == 1


def test_each_cited_page_link_finds_the_page_it_names(client, sample_letters):
    letter = Determination.objects.get(pk=sample_letters[2].determination_id)  # 002: "98-99"
    content = client.get(letter.get_absolute_url()).content.decode()
    links = re.findall(r'<a href="/\?([^"]*cited_page=[^"]*)"[^>]*>([^<]*)</a>', content)
    assert links
    for query, text in links:
        assert text == QueryDict(query.replace("&amp;", "&"))["cited_page"]  # "99" finds 99
    assert re.search(r">98</a>-<a [^>]*>99</a>", content)  # the range still reads 98-99
    assert count(client, "guideline=mtus_chronic_pain&cited_page=99") == 3  # 98-99 and 99


def test_letter_page_marks_each_field_a_person_corrected(client, sample_letters):
    letter = Determination.objects.get(pk=sample_letters[2].determination_id)  # 002: two items
    item = letter.items.get(position=2)
    citation = item.citations.first()
    services.correction_record(obj=letter, changes={"patient_age": (45, 46)})
    services.correction_record(obj=item, changes={"outcome": ("upheld", "overturned")})
    services.correction_record(obj=citation, changes={"section": (citation.section, "Trigger")})
    content = client.get(letter.get_absolute_url()).content.decode()

    def fact(label, within=content):
        return re.search(rf"<dt>{label}</dt>\s*<dd>(.*?)</dd>", within, re.S)[1]

    marker = re.compile(r'<span class="corrected"\s+title="Corrected by staff[^"]*">\(corrected\)')
    assert marker.search(fact("Patient age"))
    assert not marker.search(fact("Patient sex"))
    first, second = re.findall(r'<article class="item".*?</article>', content, re.S)
    assert marker.search(re.search(r"<h3.*?</h3>", second, re.S)[0])  # beside its outcome
    assert marker.search(re.search(r'<ul class="citations">.*?</ul>', second, re.S)[0])
    assert not marker.search(first)
    assert len(marker.findall(content)) == 3
    assert "“(corrected)”: a staff member set this value" in content  # what the marker means


def test_letter_page_names_a_cited_chapter_once(client, sample_letters):
    one = GuidelineCitationFactory(item__position=1)
    CitedChapter.objects.create(citation=one, chapter=12)
    text = " ".join(strip_tags(client.get(one.item.get_absolute_url()).content.decode()).split())
    assert "· Chapter 12 ·" in text
    many = Determination.objects.get(pk=sample_letters[3].determination_id)  # ACOEM 3, 5 and 12
    text = " ".join(strip_tags(client.get(many.get_absolute_url()).content.decode()).split())
    assert "· Chapters 3, 5, 12 ·" in text
    assert not re.search(r"chapters? chapter", text, re.I)


def test_letter_page_lists_each_items_similar_decisions_and_their_rate(client, sample_letters):
    letter = Determination.objects.get(pk=sample_letters[2].determination_id)  # 002
    content = client.get(letter.get_absolute_url()).content.decode()
    therapy, injection = content.split('id="item-2"')
    # Physical therapy of the lumbar spine: five decisions of four other letters and this one;
    # 004's, citing the same MTUS page, first.
    assert (
        "Of 5 decisions on the same treatment (this one included), 1 was overturned: "
        "too few decisions to give a rate." in therapy
    )
    assert 'href="/?treatment=physical_therapy">List all 5</a>' in therapy
    other = Determination.objects.get(pk=sample_letters[3].determination_id)
    first = re.search(r'<ol class="similar-list">\s*<li>.*?<a href="([^"]+)">', therapy, re.S)
    assert first[1] == f"{other.get_absolute_url()}#item-1"
    assert "cites MTUS Chronic Pain Medical Treatment Guidelines p. 98 too" in therapy
    assert count(client, "treatment=physical_therapy") == 5
    # The trigger point injection is alone in its treatment.
    assert "No decision in another letter is on the same treatment." in injection


def test_unknown_letter_is_a_404(client):
    assert client.get(reverse("decisions:letter", args=[999999])).status_code == 404


def assert_site_page(response, status, heading):
    content = response.content.decode()
    assert response.status_code == status
    assert '<a class="brand" href="/">IMR decisions</a>' in content  # the site's own page
    assert f"<h1>{heading}</h1>" in content
    assert f'href="{HOME}">Search the decisions</a>' in content  # and a way on


@override_settings(DEBUG=False)
@pytest.mark.parametrize("url", ["/no/such/page/", reverse("decisions:letter", args=[999999])])
def test_a_page_not_found_is_the_sites_own_with_a_way_back(client, url):
    response = client.get(url)
    assert_site_page(response, 404, "Page not found")
    assert url in response.content.decode()  # says which address


@override_settings(DEBUG=False)
def test_a_server_error_is_the_sites_own_page(client, monkeypatch):
    def fail(pk):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(views.selectors, "letter_with_items", fail)
    client.raise_request_exception = False
    response = client.get(reverse("decisions:letter", args=[1]))
    assert_site_page(response, 500, "Something went wrong")
    assert "the database went away" not in response.content.decode()


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite keeps its search index by triggers"
)
def test_search_index_is_repaired_after_a_migration_rebuilds_the_letters_table(
    client, sample_letters
):
    from decisions import search

    with connection.cursor() as cursor:  # what a table rebuild does to the triggers
        for table in ("determination", "decisionitem"):
            for name in ("insert", "delete", "update"):
                cursor.execute(f"DROP TRIGGER decisions_{table}_fts_{name}")
    search.index_repair()
    text = (search_letter := Determination.objects.first()).full_text
    Determination.objects.filter(pk=search_letter.pk).update(full_text=text + " zygomatic")
    assert count(client, "q=zygomatic&within=letter") == len(search_letter.items.all())
    item = search_letter.items.first()
    DecisionItem.objects.filter(pk=item.pk).update(rationale=item.rationale + " zygomatic")
    assert count(client, "q=zygomatic") == 1


def test_a_cache_keeps_the_htmx_fragment_and_the_whole_page_apart(client, sample_letters):
    # One URL answers a fragment or a whole page by the HX-Request header: a shared cache that
    # ignored the header would serve the fragment to someone opening the permalink.
    page = client.get(HOME, {"outcome": "overturned"})
    fragment = client.get(HOME, {"outcome": "overturned"}, headers={"HX-Request": "true"})
    for response in (page, fragment):
        assert "HX-Request" in [v.strip() for v in response.headers["Vary"].split(",")]
    assert b"<html" in page.content and b"<html" not in fragment.content


def test_a_letter_page_takes_the_same_few_queries_for_one_item_or_many(client):
    def queries_for(letter):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(letter.get_absolute_url()).status_code == 200
        return [q["sql"] for q in ctx.captured_queries]

    one = GuidelineCitationFactory(item__position=1).item.determination
    many = GuidelineCitationFactory(item__position=1).item.determination
    for position in range(2, 9):
        GuidelineCitationFactory(item__determination=many, item__position=position)
    for item in DecisionItem.objects.all():  # each item has similar decisions in the other letter
        item.treatments.add(TreatmentFactory())
        item.body_regions.add(BodyRegionFactory())
    with facet_index.current_index():  # built, as a running site has it
        pass
    few_queries, many_queries = queries_for(one), queries_for(many)
    assert len(few_queries) == len(many_queries)
    # The letter, its states, specialties, items, their treatments, regions, citations, pages and
    # chapters: each once. Counting the items again (the page says "8 disputed items") would be
    # a query more. Then the similar decisions of all items: the facet index's version, their
    # text ranks and their rows.
    assert len(many_queries) == 12, "\n".join(many_queries)
    assert b"Similar decisions" in client.get(one.get_absolute_url()).content


# --- the per-process cache of rendered searches --------------------------------------------------


def queries_of(client, url, **headers):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response, len(ctx.captured_queries)


@pytest.mark.parametrize("url", [f"{HOME}?outcome=overturned", f"{API}?outcome=overturned"])
def test_a_search_asked_again_is_answered_from_the_cache_in_one_query(client, sample_letters, url):
    first, _ = queries_of(client, url)
    again, queries = queries_of(client, url)
    assert again.content == first.content
    assert queries == 1  # the facet index's version: the data has not changed since


@override_settings(SEARCH_CACHE_ENTRIES=0)
def test_with_the_cache_off_every_request_runs_its_search(client, sample_letters):
    url = f"{HOME}?outcome=overturned"
    first, _ = queries_of(client, url)
    again, queries = queries_of(client, url)
    assert again.content == first.content
    assert queries > 1


@override_settings(SEARCH_CACHE_ENTRIES=2)
def test_the_cache_keeps_the_searches_used_most_recently(client, sample_letters):
    one, two, three = (f"{HOME}?outcome=overturned", f"{HOME}?sex=male", f"{HOME}?age=40_49")
    for url in (one, two, one, three):  # three pushes out two, used less recently than one
        queries_of(client, url)
    assert queries_of(client, one)[1] == 1
    assert queries_of(client, two)[1] > 1


def test_a_cached_search_shows_a_correction_on_the_next_request(client, sample_letters):
    url = f"{HOME}?outcome=overturned"
    before = client.get(url).content.decode()
    assert "3 decisions" in before and client.get(url).content.decode() == before
    item = DecisionItem.objects.filter(outcome="upheld").first()
    changes = {"outcome": ("upheld", "overturned"), "request": (item.request, "Corrected request")}
    DecisionItem.objects.filter(pk=item.pk).update(
        outcome="overturned", request="Corrected request"
    )
    services.correction_record(obj=item, changes=changes)
    after = client.get(url).content.decode()
    assert "4 decisions" in after
    assert "Corrected request" in after
    _, data = api(client, "outcome=overturned")
    assert data["count"] == 4 and facet(data, "outcome") == {"upheld": 4, "overturned": 4}


def test_a_cached_search_region_is_the_same_for_everyone_the_page_around_it_is_not(
    client, staff_client, sample_letters
):
    url = f"{HOME}?outcome=overturned"
    staff_page = staff_client.get(url).content.decode()
    anonymous_page = Client().get(url).content.decode()
    assert "Staff admin" in staff_page
    assert "Staff admin" not in anonymous_page
    region = re.compile(r'<div id="search".*</div>', re.S)
    assert region.search(staff_page)[0] == region.search(anonymous_page)[0]
    fragment = Client().get(url, headers={"HX-Request": "true"}).content.decode()
    # The fragment is the region, then the head's feed link for htmx to swap out of band.
    oob = re.compile(
        r'\s*<link id="search-feed"[^>]*href="/feed/\?outcome=overturned"[^>]*'
        r'hx-swap-oob="true">\s*$'
    )
    assert oob.search(fragment)
    assert oob.sub("", fragment).strip() == region.search(anonymous_page)[0].strip()


def test_api_links_name_the_host_asked_even_for_a_cached_search(client, sample_letters):
    _, first = api(client, "outcome=overturned")
    again = json.loads(client.get(API, {"outcome": "overturned"}, HTTP_HOST="localhost").content)
    assert first["results"][0]["letter"]["url"].startswith("http://testserver/")
    assert again["results"][0]["letter"]["url"].startswith("http://localhost/")
