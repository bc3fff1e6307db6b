"""Real-browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

What a person does: click a facet, search a phrase, follow a field to where the letter says it,
use the site on a phone, use it with JavaScript turned off, and try the API from its page.
"""

import csv
import re

import pytest

from .conftest import DESKTOP_VIEWPORT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def results_heading(page):
    return page.locator("#results-heading")


def facet_link(page, facet: str, label: str):
    return page.locator(f"section[aria-labelledby='facet-{facet}'] a", has_text=label)


def test_clicking_a_facet_updates_results_and_counts_in_place(
    live_server, page, sample_letters, expect
):
    page.goto(live_server.url + "/")
    expect(results_heading(page)).to_have_text("8 decisions")
    page.evaluate("window.sameDocument = true")  # survives only if the page is not reloaded

    facet_link(page, "outcome", "Overturned").click()

    expect(results_heading(page)).to_have_text("3 decisions")
    expect(page).to_have_url(re.compile(r"\?outcome=overturned$"))  # a permalink, in the bar
    expect(facet_link(page, "treatment", "Physical therapy").locator(".count")).to_have_text("1")
    expect(facet_link(page, "outcome", "Overturned")).to_have_attribute("aria-current", "true")
    assert page.evaluate("window.sameDocument") is True  # htmx swapped the results only

    facet_link(page, "outcome", "Overturned").click()  # and off again
    expect(results_heading(page)).to_have_text("8 decisions")


def test_searching_a_phrase_shows_the_matches_marked(live_server, page, sample_letters, expect):
    page.goto(live_server.url + "/")
    page.get_by_label("Search the decisions").fill('"massage therapy"')
    page.get_by_role("button", name="Search").click()

    expect(results_heading(page)).to_have_text("1 decision")
    marked = page.locator(".snippet mark", has_text=re.compile("^massage$", re.I))
    expect(marked.first).to_be_visible()
    expect(page.get_by_role("link", name="Two massage therapy sessions")).to_be_visible()


def test_a_letter_field_leads_to_where_the_letter_says_it(
    live_server, page, sample_letters, expect
):
    page.goto(live_server.url + "/?q=trochanteric")  # in the summary of letter 002 alone
    expect(results_heading(page)).to_have_text("0 decisions")
    page.get_by_label("Search within").select_option("Anywhere in the letter")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=re.compile("^TPI 20553")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("IMR letter"))

    page.locator(".parsed dd a", has_text="45").click()

    target = page.locator("mark:target")
    expect(target).to_have_text("45")
    expect(target).to_have_attribute("data-field", "patient.age")
    expect(target).to_be_in_viewport()


def test_on_a_phone_the_results_come_first_and_nothing_overflows(
    live_server, phone_page, sample_letters, expect
):
    phone_page.goto(live_server.url + "/?guideline=mtus_chronic_pain")
    filters = phone_page.locator(".facets > details")
    expect(filters).not_to_have_attribute("open", "")  # folded so the results come first
    expect(results_heading(phone_page)).to_have_text("7 decisions")
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0

    phone_page.get_by_text("Filters").click()  # unfold, choose, and the choice applies
    facet_link(phone_page, "outcome", "Upheld").click()
    expect(results_heading(phone_page)).to_have_text("5 decisions")  # as its facet count said


def test_without_javascript_links_and_forms_still_search(
    live_server, browser, sample_letters, expect
):
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP_VIEWPORT)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        facet_link(page, "body_region", "Cervical spine").click()
        expect(results_heading(page)).to_have_text("1 decision")
        page.get_by_label("Cited page").fill("98")
        page.get_by_role("button", name="Apply").click()
        expect(page).to_have_url(
            re.compile(r"\?(?=.*body_region=cervical_spine)(?=.*cited_page=98)")
        )
        expect(results_heading(page)).to_have_text("1 decision")
    finally:
        context.close()


def test_a_staff_correction_shows_on_the_public_page_at_once(
    live_server, page, sample_letters, django_user_model, expect
):
    from decisions.models import DecisionItem

    django_user_model.objects.create_superuser("editor", "editor@example.com", "a-long-passphrase")
    page.goto(live_server.url + "/")
    expect(facet_link(page, "outcome", "Overturned").locator(".count")).to_have_text("3")

    item = DecisionItem.objects.get(request="MRI of the Lumbar Spine")
    page.goto(f"{live_server.url}/admin/decisions/decisionitem/{item.pk}/change/")
    page.get_by_label("Username").fill("editor")  # the login page, as a person meets it
    page.get_by_label("Password").fill("a-long-passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Outcome").select_option("upheld")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.goto(live_server.url + "/")
    expect(facet_link(page, "outcome", "Overturned").locator(".count")).to_have_text("2")
    expect(facet_link(page, "outcome", "Upheld").locator(".count")).to_have_text("6")
    page.goto(live_server.url + "/?treatment=mri")
    expect(page.locator(".result .badge")).to_have_text("Upheld")


def test_renormalising_shows_the_job_page_until_the_worker_is_done(
    live_server, page, sample_letters, django_user_model, expect
):
    import io

    from django.core.management import call_command

    from decisions.models import BodyRegion

    django_user_model.objects.create_superuser("editor", "editor@example.com", "a-long-passphrase")
    BodyRegion.objects.filter(slug="shoulder").update(extra_aliases="clavicle")
    page.goto(f"{live_server.url}/admin/decisions/bodyregion/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("a-long-passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("checkbox", name="Select this object for an action - Shoulder").check()
    page.get_by_role("combobox", name=re.compile("^Action:")).select_option("renormalise_letters")
    page.get_by_role("button", name="Go").click()

    expect(page.locator(".messagelist")).to_contain_text("Queued a re-parse of every stored")
    expect(page.locator("#job-progress-heading")).to_have_text("Queued")
    expect(page.get_by_text("Waiting for a worker")).to_be_visible()

    call_command("run_jobs", "--once", "--workers", "0", stdout=io.StringIO())

    # The page reloads itself every 2 s while the job is queued or running.
    expect(page.locator("#job-progress-heading")).to_have_text("Done", timeout=15_000)
    expect(page.locator("#job-letters")).to_have_text("5 of 5 (100%)")
    expect(page.locator("meta[http-equiv=refresh]")).to_have_count(0)


def test_the_api_page_from_the_menu_and_a_live_example_answers_json(
    live_server, page, sample_letters, expect
):
    page.goto(live_server.url + "/")
    page.get_by_role("navigation", name="Site").get_by_role("link", name="JSON API").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The JSON API")
    example = page.locator(".example").first
    said = example.get_by_text(re.compile(r"\d+ decisions?")).inner_text()

    with page.expect_navigation() as navigation:
        example.get_by_role("link").click()

    response = navigation.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert said.startswith(f"{data['count']} decision")  # the page said what it answers now
    assert data["results"]


def test_downloading_the_decisions_found_gives_every_one_as_a_file(
    live_server, page, sample_letters, expect
):
    page.goto(live_server.url + "/?outcome=upheld")
    expect(results_heading(page)).to_have_text("5 decisions")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()

    assert download.value.suggested_filename.startswith("imr-decisions-upheld-")
    with open(download.value.path(), encoding="utf-8-sig", newline="") as saved:
        header, *rows = csv.reader(saved)
    assert header[:2] == ["id", "letter_key"] and len(rows) == 5
    assert {row[header.index("outcome")] for row in rows} == {"upheld"}
    expect(results_heading(page)).to_have_text("5 decisions")  # the page is as it was


def test_the_guideline_browser_from_the_menu_to_a_pages_decisions(
    live_server, page, sample_letters, expect
):
    page.goto(live_server.url + "/")
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Guidelines").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Guidelines")
    page.get_by_role(
        "link", name="MTUS Chronic Pain Medical Treatment Guidelines", exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "MTUS Chronic Pain Medical Treatment Guidelines"
    )
    row = page.locator("#page-99")
    expect(row.get_by_role("rowheader")).to_contain_text("Page 99")
    expect(row.locator(".notes")).to_have_text("Physical Medicine")
    link = row.get_by_role("link", name=re.compile("citing Page 99 by MAXIMUS$"))
    shown = link.inner_text().split()[0]
    assert shown == "3"
    link.click()
    expect(page).to_have_url(
        re.compile(r"/\?guideline=mtus_chronic_pain&cited_page=99&source=maximus$")
    )
    expect(results_heading(page)).to_have_text(f"{shown} decisions")


def test_the_guideline_pages_fit_a_phone_and_sort_by_rate(
    live_server, phone_page, sample_letters, expect
):
    phone_page.goto(live_server.url + "/guidelines/mtus_chronic_pain/")
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    wide = phone_page.evaluate(
        "[...document.querySelectorAll('.table-wrap')].filter(w => w.scrollWidth > w.clientWidth)"
        ".length"
    )
    assert wide == 0  # every table fits, none scrolls sideways
    phone_page.locator("#pages-heading ~ .table-wrap").get_by_role(
        "link", name=re.compile("^Overturned")
    ).click()
    expect(phone_page).to_have_url(re.compile(r"\?order=rate$"))
    expect(phone_page.locator("th[aria-sort=descending]").first).to_contain_text("Overturned")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/",
        "/guidelines/",
        "/guidelines/mtus_chronic_pain/",
        "/guidelines/mtus_acoem/?order=rate",
        "/guidelines/mtus_chronic_pain/?treatment=physical_therapy",  # scoped by a search
        "/guidelines/?order=colour",  # the error page
        "/?q=massage&outcome=overturned&sort=relevance",
        "/?treatment=mri&outcome=upheld",  # the empty state
        "/?outcome=maybe",  # the error page
        "/?view=table&outcome=upheld",  # the table, and what the outcomes mean
        "/?by=treatment&trend=injury_year",  # the outcome panel, open
        "/report/",
        "/letters/{letter}/",
        "/letters/999999/",  # the site's page not found
    ],
)
def test_pages_pass_an_accessibility_audit(live_server, page, phone_page, sample_letters, path):
    from axe_playwright_python.sync_playwright import Axe

    url = live_server.url + path.format(letter=sample_letters[2].determination_id)
    for viewer in (page, phone_page):
        viewer.goto(url)
        violations = Axe().run(viewer).response["violations"]
        assert violations == [], [
            (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"][:3]])
            for v in violations
        ]


def _rgb(css: str) -> tuple[float, float, float]:
    r, g, b = (int(n) / 255 for n in re.findall(r"\d+", css)[:3])
    return r, g, b


def _luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def test_outcome_colours_take_no_side(live_server, page, sample_letters):
    import colorsys

    page.goto(live_server.url + "/")
    shown = {}
    for outcome in ("upheld", "overturned"):
        badge = page.locator(f".result .badge-{outcome}").first
        background, text = badge.evaluate(
            "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]"
        )
        hue = colorsys.rgb_to_hsv(*_rgb(background))[0] * 360
        # Neither red (a loss, a warning) nor green (a win, all clear).
        assert 20 < hue < 80 or 160 < hue < 340, (outcome, background, hue)
        shown[outcome] = _luminance(_rgb(background))
        assert _contrast(shown[outcome], _luminance(_rgb(text))) >= 4.5  # WCAG AA
    # Of equal weight: neither stands out from the other.
    assert _contrast(shown["upheld"], shown["overturned"]) < 1.1


# --- the staff admin ---------------------------------------------------------------------------

# Whether a person sees the element: scrolled to as a reader scrolls the page (never sideways
# inside a box that clips it), then hit-tested at its centre.
IN_SIGHT = """el => {
    const box = el.getBoundingClientRect();
    window.scrollBy(0, box.top + box.height / 2 - window.innerHeight / 2);
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (r.width === 0 || x < 0 || x > document.documentElement.clientWidth) return false;
    const hit = document.elementFromPoint(x, y);
    return hit !== null && (el.contains(hit) || hit === el.closest("select"));
}"""


@pytest.fixture
def staff_page(live_server, browser, django_user_model):
    """A 1280x800 page (a laptop) logged in to the admin as a superuser."""
    django_user_model.objects.create_superuser("editor", "editor@example.com", "a-long-passphrase")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("a-long-passphrase")
    page.get_by_role("button", name="Log in").click()
    yield page
    context.close()


def test_a_letters_chosen_reviewer_states_and_specialties_are_in_sight(
    live_server, staff_page, sample_letters, expect
):
    from decisions.models import Determination

    letter = Determination.objects.get(pk=sample_letters[0].determination_id)
    staff_page.goto(f"{live_server.url}/admin/decisions/determination/{letter.pk}/change/")
    for field, chosen in [
        ("reviewer_states", letter.reviewer_states.all()),
        ("reviewer_specialties", letter.reviewer_specialties.all()),
    ]:
        options = staff_page.locator(f"#id_{field}_to option")
        expect(options).to_have_text([term.label for term in chosen])
        for option in options.all():
            assert option.evaluate(IN_SIGHT), (field, option.text_content())


@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("determination/", "#result_list"),
        ("lettertoreview/", "#result_list"),
        ("decisionitem/", "#result_list"),
        ("guidelinecitation/", "#result_list"),  # long item names and sections
        ("correction/", "#result_list"),
        ("decisionitem/{item}/change/", ".inline-related.tabular table"),  # its citations
        ("determination/{letter}/change/", ".inline-related.tabular table"),  # its corrections
    ],
)
def test_every_column_of_an_admin_table_is_in_sight_at_1280_px(
    live_server, staff_page, sample_letters, path, table
):
    from decisions import services
    from decisions.models import DecisionItem

    item = DecisionItem.objects.get(request="MRI of the Lumbar Spine")
    services.correction_record(obj=item, changes={"outcome": ("overturned", "upheld")})
    url = f"{live_server.url}/admin/decisions/" + path.format(
        item=item.pk, letter=item.determination_id
    )
    staff_page.goto(url)
    last_column = staff_page.locator(f"{table} thead th:last-child")
    assert last_column.evaluate(IN_SIGHT), last_column.text_content()
    assert staff_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_heads_feed_link_follows_a_search_swapped_in_place(
    live_server, page, sample_letters, expect
):
    page.goto(live_server.url + "/")
    feed = page.locator("head link#search-feed")
    expect(feed).to_have_attribute("href", "/feed/")
    facet_link(page, "outcome", "Overturned").click()
    expect(results_heading(page)).to_have_text("3 decisions")
    expect(feed).to_have_attribute("href", "/feed/?outcome=overturned")  # not the first search's
    assert page.locator("link#search-feed").count() == 1  # moved, not added to the results
    assert page.locator("#search link").count() == 0
