"""Real-browser test: the pages work under their Content-Security-Policy, enforced by Chromium,
with nothing refused (no inline script or style, htmx's included) and htmx still swapping."""

import re

import pytest

from decisions.models import Determination

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every violation the page reports, from before its first script runs.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI || "inline"}`);
});
"""


def test_pages_run_under_their_policy_with_nothing_refused(
    live_server, page, sample_letters, expect
):
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.add_init_script(RECORD_VIOLATIONS)

    response = page.goto(live_server.url + "/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#results-heading")).to_have_text("8 decisions")
    page.evaluate("window.sameDocument = true")
    facet = page.locator("section[aria-labelledby='facet-outcome'] a", has_text="Overturned")
    facet.click()
    expect(page.locator("#results-heading")).to_have_text("3 decisions")
    expect(page).to_have_url(re.compile(r"\?outcome=overturned$"))
    assert page.evaluate("window.sameDocument") is True  # htmx swapped the results in place
    assert page.evaluate("window.cspViolations") == []

    letter = Determination.objects.order_by("pk").first()
    page.goto(live_server.url + letter.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("IMR letter"))
    assert page.evaluate("window.cspViolations") == []
    assert [e for e in console_errors if "Content Security Policy" in e] == []

    # And the policy is enforced: a style put inline into the page is refused and reported.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_function("window.cspViolations.length > 0")
    assert page.evaluate("window.cspViolations")[0].startswith("style-src")
