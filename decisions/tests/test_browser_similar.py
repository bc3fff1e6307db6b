"""Real-browser test of a letter page's similar decisions: read them, follow one, list them all."""

import re

import pytest

from decisions.models import Determination

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_letter_page_lists_similar_decisions_and_one_leads_to_its_letter(
    live_server, page, sample_letters, expect
):
    letter = Determination.objects.get(pk=sample_letters[2].determination_id)
    other = Determination.objects.get(pk=sample_letters[3].determination_id)
    page.goto(live_server.url + letter.get_absolute_url())

    similar = page.locator("#item-1").get_by_role("region", name="Similar decisions")
    expect(similar).to_contain_text("Of 5 decisions on the same treatment (this one included)")
    decisions = similar.get_by_role("listitem")
    expect(decisions).to_have_count(4)  # the other letters' physical therapy decisions
    first = decisions.first
    expect(first).to_contain_text("Overturned")
    expect(first).to_contain_text("cites MTUS Chronic Pain Medical Treatment Guidelines p. 98 too")

    first.get_by_role("link").click()

    expect(page).to_have_url(re.compile(re.escape(other.get_absolute_url()) + "#item-1$"))
    expect(page.locator("article:target h3")).to_contain_text("Physical Therapy 2 x 4 week")

    page.go_back()
    similar.get_by_role("link", name="List all 5").click()
    expect(page.locator("#results-heading")).to_have_text("5 decisions")
