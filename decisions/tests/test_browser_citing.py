"""Real-browser tests of what makes a decision citable: its case number, its date, its file."""

import re

import pytest

from decisions import services
from decisions.ingest import read_letters

from .conftest import LETTERS
from .test_identity import headed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PDF = next((LETTERS.parent / "pdf").glob("002_*.pdf"))


@pytest.fixture
def cited_letters():
    """Two letters under published headers (2015 and 2017), and a sample letter from its PDF."""
    texts = [headed("CM15-0000001", "05/01/2015"), headed("CM17-0000002", "02/01/2017", "001")]
    inputs = [services.LetterInput(f"letter_{n}.txt", t) for n, t in enumerate(texts)]
    outcomes = list(services.letters_ingest(letters=inputs + list(read_letters([str(PDF)]))))
    assert [o.status for o in outcomes] == ["new"] * 3


def test_a_case_number_typed_in_the_search_box_leads_to_its_letter(
    live_server, page, cited_letters, expect
):
    page.goto(live_server.url + "/")
    page.get_by_label("Search the decisions").fill("cm17 0000002")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_contain_text("CM17-0000002")
    expect(page.locator(".result-id").first).to_contain_text(
        "Case CM17-0000002 · decided Feb 1, 2017"
    )
    page.get_by_role("link", name="open the letter").click()
    expect(page).to_have_url(re.compile(r"/letters/CM17-0000002/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Case CM17-0000002")


def test_sorting_by_decision_date_in_the_table_view(live_server, page, cited_letters, expect):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Table").click()
    table = page.locator("table.result-table")
    expect(table).to_be_visible()
    first_case = table.locator("tbody tr").first.locator("td").nth(5)
    expect(first_case).to_have_text("CM17-0000002")  # newest decision first
    table.get_by_role("link", name=re.compile("^Decided")).click()
    expect(page).to_have_url(re.compile(r"sort=oldest"))
    expect(table.locator("tbody tr").first.locator("td").nth(5)).to_have_text("CM15-0000001")
    # the undated letter (from its PDF) comes last either way
    expect(table.locator("tbody tr").last.locator("td").nth(4)).to_have_text("")
    page.get_by_label("Sort").select_option("newest")
    expect(table.locator("tbody tr").first.locator("td").nth(5)).to_have_text("CM17-0000002")


def test_downloading_the_original_pdf_from_the_letter_page(
    live_server, page, cited_letters, expect, tmp_path
):
    page.goto(live_server.url + "/?sort=oldest")
    page.locator(".result h3 a").last.click()  # the undated letter, from its PDF
    expect(page.get_by_role("heading", level=1)).to_contain_text("IMR letter")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the original letter").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == PDF.name
    assert saved.read_bytes() == PDF.read_bytes()
