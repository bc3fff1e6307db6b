"""Real-browser tests of what the decisions add up to: the outcome panel and the report."""

import re

import pytest

from decisions import lettergen, services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def generated():
    inputs = [services.LetterInput(n, t) for n, t in lettergen.letters(60, seed=3, header=True)]
    list(services.letters_ingest(letters=inputs))


def count_of(page):
    return int(re.match(r"([\d,]+) decision", page.locator("#results-heading").inner_text())[1])


def test_the_panel_breaks_the_rate_down_and_a_row_leads_to_its_decisions(
    live_server, page, generated, expect
):
    page.goto(live_server.url + "/")
    expect(page.locator(".panel-rate")).to_contain_text("overturned")
    page.get_by_text("Overturn rate by treatment category", exact=True).click()
    page.get_by_label("By", exact=True).select_option("treatment")
    expect(page).to_have_url(re.compile(r"by=treatment"))
    row = page.locator(".panel .rate-table tbody tr").first
    label, decisions = row.locator("th a").inner_text(), int(row.locator("td").first.inner_text())
    row.locator("th a").click()
    expect(page.get_by_role("list", name="Filters in force")).to_contain_text(label)
    assert count_of(page) == decisions
    page.get_by_text("Trend by year of decision", exact=True).click()
    expect(page.locator("svg.trend-chart title")).to_contain_text("Overturn rate by year")


def test_the_report_of_a_year_from_the_menu_and_a_number_to_its_decisions(
    live_server, page, generated, expect
):
    page.goto(live_server.url + "/")
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Report").click()
    page.get_by_role("navigation", name="Report of a year").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"report: \d{4}"))
    row = page.locator("#report-category ~ .table-scroll tbody tr").first
    decisions = int(row.locator("td").first.inner_text())
    row.locator("th a").click()
    assert count_of(page) == decisions
