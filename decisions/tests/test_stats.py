"""The numbers of the outcome panel, checked against hand-computed values."""

import html
import json
import re

import pytest

from decisions import facet_index, lettergen, services, stats
from decisions.models import DecisionItem

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("overturned", "decisions", "low", "high"),
    [
        (1, 5, 0.0362, 0.6245),  # Wilson's own small-sample case, computed by hand
        (0, 10, 0.0, 0.2775),  # none overturned: the interval still says up to 28%
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
        (17985, 141621, 0.1253, 0.1287),  # 12.7% of a year's letters: a narrow interval
    ],
)
def test_the_wilson_interval(overturned, decisions, low, high):
    got = stats.wilson(overturned, decisions)
    assert got == (pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5))


def test_under_ten_decisions_no_percentage_only_words():
    few, many = stats.Rate(9, 3), stats.Rate(10, 3)
    assert (few.words, few.percent, few.interval_words) == ("3 of 9 overturned", "", "")
    assert (many.percent, many.interval_words) == ("30.0%", "95% interval 10.8-60.3%")


def test_the_rates_of_the_sample_letters_by_treatment(sample_letters):
    with facet_index.current_index() as index:
        everything = stats.rate_of(index, index.items)
        by_treatment = {g.value: g.rate for g in stats.breakdown(index, index.items, "treatment")}
    assert (everything.decisions, everything.overturned) == (8, 3)
    # the sample letters by hand: five physical therapy requests, one overturned (003 lumbar)
    assert by_treatment["physical_therapy"] == stats.Rate(decisions=5, overturned=1)
    assert sum(r.decisions for r in by_treatment.values()) >= 8  # an item may have two


# --- the panel on the search page ------------------------------------------------------------


def panel_rows(content: str) -> dict[str, tuple[int, int, str]]:
    """(decisions, overturned, rate cell) of each row of the panel's breakdown table, by label."""
    table = content.split('class="rate-table"')[1]
    rows = re.findall(
        r'<th scope="row">\s*<a href="([^"]+)">([^<]+)</a>\s*</th>\s*<td class="num">(\d+)</td>'
        r'\s*<td class="num">(\d+)</td>\s*<td class="num">(.*?)</td>',
        table,
        re.S,
    )
    return {label: (int(n), int(k), " ".join(cell.split()), url) for url, label, n, k, cell in rows}


def test_the_panel_says_how_many_were_overturned_in_words_under_ten(client, sample_letters):
    content = client.get("/").content.decode()
    assert "3 of 8 overturned" in content
    assert "Fewer than 10 decisions: too few to give a percentage" in content
    rows = panel_rows(client.get("/", {"by": "treatment"}).content.decode())
    n, k, cell, url = rows["Physical therapy"]
    assert (n, k, cell) == (5, 1, '<span class="hint">too few</span>')
    followed = client.get("/api/decisions/" + html.unescape(url))
    assert json.loads(followed.content)["count"] == 5  # the number links to its decisions


def test_the_panel_gives_rates_and_intervals_computed_from_the_decisions(client, db):
    inputs = [services.LetterInput(n, t) for n, t in lettergen.letters(80, seed=5, header=True)]
    list(services.letters_ingest(letters=inputs))
    items = DecisionItem.objects.all()
    overturned = items.filter(outcome="overturned").count()
    content = client.get("/").content.decode()
    assert (
        f"{overturned} of {items.count()} overturned: {overturned / items.count():.1%}" in content
    )
    rows = panel_rows(client.get("/", {"by": "decision_year", "order": "rate"}).content.decode())
    for year, (n, k, cell, _) in rows.items():
        of_year = items.filter(determination__decision_year=int(year))
        assert (n, k) == (of_year.count(), of_year.filter(outcome="overturned").count())
        if n >= 10:
            low, high = stats.wilson(k, n)
            assert cell == f'{k / n:.1%} <span class="hint">({low:.1%}-{high:.1%})</span>'.replace(
                "%-", "-", 1
            )
    rated = [k / n for n, k, _, _ in rows.values() if n >= 10]
    assert rated == sorted(rated, reverse=True)  # highest rate first


def test_a_bad_breakdown_is_a_400_that_says_what_to_use(client, sample_letters):
    for name, value in (("by", "colour"), ("order", "loud"), ("trend", "weekday")):
        response = client.get("/", {name: value})
        assert response.status_code == 400
        assert "Unknown" in response.content.decode() and value in response.content.decode()


# --- the report page -------------------------------------------------------------------------


def report_rows(content: str, table: str) -> dict[str, tuple[int, int, str]]:
    section = content.split(f'id="report-{table}"')[1].split("</section>")[0]
    return panel_rows(section)


def test_the_report_of_a_year_counts_what_the_database_counts(client, db):
    inputs = [services.LetterInput(n, t) for n, t in lettergen.letters(120, seed=9, header=True)]
    list(services.letters_ingest(letters=inputs))
    year = DecisionItem.objects.values_list("determination__decision_year", flat=True).first()
    items = DecisionItem.objects.filter(determination__decision_year=year)
    response = client.get("/report/", {"decision_year": year})
    assert response.status_code == 200
    content = response.content.decode()
    assert f"IMR decisions report: {year}" in content
    k = items.filter(outcome="overturned").count()
    assert f"{k} of {items.count()} overturned" in content
    for label, (n, overturned, _, url) in report_rows(content, "category").items():
        of = items.filter(treatments__category__in=[_category_of(label)]).distinct()
        assert (n, overturned) == (of.count(), of.filter(outcome="overturned").count()), label
        assert (
            json.loads(client.get("/api/decisions/" + html.unescape(url)[1:]).content)["count"] == n
        )  # each number links to the decisions behind it
    drugs = report_rows(content, "drug_class")
    assert sum(n for n, *_ in drugs.values()) == items.exclude(drug_class="").count()
    assert client.get("/report/", {"decision_year": "soon"}).status_code == 400


def _category_of(label: str) -> str:
    from decisions.models import Category

    return next(value for value, text in Category.choices if text == label)


def test_with_an_outcome_chosen_the_rate_is_of_the_other_filters(client, sample_letters):
    content = client.get("/", {"outcome": "overturned"}).content.decode()
    assert "3 of 8 overturned" in content  # not "3 of 3"
    assert "Counted with every filter but the outcome." in content


def test_the_report_leaves_an_outcome_out_so_each_number_links_to_as_many(client, db):
    inputs = [services.LetterInput(n, t) for n, t in lettergen.letters(80, seed=4, header=True)]
    list(services.letters_ingest(letters=inputs))
    every = client.get("/report/").content.decode()
    content = client.get("/report/", {"outcome": "overturned"}).content.decode()
    assert "the outcome chosen is left out" in content
    total = DecisionItem.objects.count()
    overturned = DecisionItem.objects.filter(outcome="overturned").count()
    for page in (every, content):
        assert f"{overturned} of {total} overturned" in page
        link = re.search(r'<p class="report-total">\s*<a href="([^"]+)">(\d+) decisions', page)
        assert int(link[2]) == total
        api = client.get("/api/decisions/" + html.unescape(link[1])[1:]).json()
        assert api["count"] == total
    assert report_rows(content, "category") == report_rows(every, "category")
    for n, _, _, url in report_rows(content, "category").values():
        assert client.get("/api/decisions/" + html.unescape(url)[1:]).json()["count"] == n
