"""The Atom feed of a search (``/feed/?...``): what a feed reader following a search shows.

Its entries are checked against the API's answer for the same search, and against letters
ingested while the reader follows it.
"""

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from decisions import lettergen, selectors, services

pytestmark = pytest.mark.django_db
FEED = reverse("decisions:feed")
API = reverse("decisions:api_decisions")
HOME = reverse("decisions:home")
ATOM = "{http://www.w3.org/2005/Atom}"


def feed(client, query: str = "") -> ET.Element:
    response = client.get(f"{FEED}?{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root


def entries(root: ET.Element) -> list[dict[str, str]]:
    return [
        {
            "title": e.findtext(f"{ATOM}title"),
            "link": e.find(f"{ATOM}link").get("href"),
            "id": e.findtext(f"{ATOM}id"),
            "updated": e.findtext(f"{ATOM}updated"),
            "summary": e.findtext(f"{ATOM}summary"),
        }
        for e in root.findall(f"{ATOM}entry")
    ]


def api_results(client, query: str) -> list[dict]:
    """Every result the API gives for ``query``, page after page."""
    results, page = [], 1
    while True:
        response = client.get(f"{API}?{query}&page={page}")
        assert response.status_code == 200, response.content
        data = json.loads(response.content)
        results += data["results"]
        if not data["next"]:
            assert len(results) == data["count"]
            return results
        page += 1


def newest_added(client, query: str) -> list[str]:
    """The links of the search's decisions newest to the site first, as the API has them."""
    found = sorted(api_results(client, query), key=lambda r: r["id"], reverse=True)
    return [r["letter"]["url"] for r in found[: selectors.FEED_SIZE]]


def ingest_generated(count: int, seed: int) -> None:
    letters = [services.LetterInput(n, t) for n, t in lettergen.letters(count, seed)]
    outcomes = list(services.letters_ingest(letters=letters))
    assert {o.status for o in outcomes} == {"new"}


@pytest.fixture
def many_letters(sample_letters):
    """The sample letters and generated ones after them: more decisions than a feed holds."""
    ingest_generated(40, seed=7)


def test_the_feed_is_atom_with_the_newest_added_decisions_first_and_at_most_50(
    client, many_letters
):
    root = feed(client)
    assert root.findtext(f"{ATOM}title") == "IMR decisions: every decision"
    shown = entries(root)
    every = api_results(client, "")
    assert len(every) > selectors.FEED_SIZE  # so the limit is what stops it
    assert len(shown) == selectors.FEED_SIZE
    assert [e["link"] for e in shown] == newest_added(client, "")
    assert all(e["id"] == e["link"] for e in shown)
    newest = max(every, key=lambda r: r["id"])
    assert shown[0]["title"] == f"{newest['outcome'].capitalize()}: {newest['request']}"
    # Each summary says the case, the treatment and region, and the rationale's opening.
    assert newest["letter"]["case_number"] in shown[0]["summary"]
    assert "Treatment: " in shown[0]["summary"] and "Body region: " in shown[0]["summary"]
    # When its letter was added, newest first (letters of one ingest may share the second).
    times = [e["updated"] for e in shown]
    assert all(times) and times == sorted(times, reverse=True)


def test_every_entry_links_to_its_decision_on_its_letters_page(client, sample_letters):
    shown = entries(feed(client))
    assert len(shown) == 8
    for entry in shown:
        link = urlsplit(entry["link"])
        assert link.scheme == "http" and link.netloc == "testserver"
        page = client.get(link.path)
        assert page.status_code == 200, entry["link"]
        assert f'id="{link.fragment}"' in page.content.decode()
        assert entry["title"].split(": ", 1)[1] in page.content.decode()


def test_a_letter_ingested_after_a_fetch_is_at_the_top_of_the_next(client, sample_letters):
    before = entries(feed(client))
    ingest_generated(1, seed=99)
    after = entries(feed(client))
    new = [e for e in after if e["link"] not in {b["link"] for b in before}]
    assert new and after[: len(new)] == new  # the new letter's decisions first
    assert after[len(new) :] == before
    assert [e["link"] for e in after] == newest_added(client, "")


@pytest.mark.parametrize(
    "query",
    ["outcome=overturned", "outcome=upheld&category=pharmaceuticals", "q=therapy", "sex=female"],
)
def test_a_filter_narrows_the_feed_as_it_narrows_the_api(client, many_letters, query):
    shown = [e["link"] for e in entries(feed(client, query))]
    assert shown == newest_added(client, query)
    assert shown  # the search finds something, so the comparison says something


def test_the_feed_says_its_search_in_words_and_keeps_one_id_for_it(client, sample_letters):
    root = feed(client, "outcome=overturned&category=pharmaceuticals&sort=oldest&page=2")
    title = root.findtext(f"{ATOM}title")
    assert title == "IMR decisions: Outcome: Overturned · Treatment category: Pharmaceuticals"
    # The same search asked another way (order, presentation) is the same feed.
    again = feed(client, "view=table&category=pharmaceuticals&outcome=overturned&format=csv")
    assert again.findtext(f"{ATOM}id") == root.findtext(f"{ATOM}id")
    link = root.find(f"{ATOM}link[@rel='alternate']").get("href")
    assert root.findtext(f"{ATOM}id") == link
    assert client.get(urlsplit(link).path + "?" + urlsplit(link).query).status_code == 200
    assert urlsplit(link).query == "category=pharmaceuticals&outcome=overturned"


@pytest.mark.parametrize(
    ("query", "name"),
    [("outcome=maybe", "outcome"), ("cited_page=abc", "cited_page"), ("age=old", "age")],
)
def test_a_bad_parameter_is_a_400_naming_it(client, sample_letters, query, name):
    response = client.get(f"{FEED}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert name in json.loads(response.content)["fields"]


def test_how_a_search_is_shown_is_ignored(client, sample_letters):
    query = "sort=nonsense&page=x&view=zz&by=zz&order=zz&trend=zz&format=zz"
    assert [e["link"] for e in entries(feed(client, query))] == newest_added(client, "")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.alternate, self.anchors, self.in_head = [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "alternate":
            self.alternate.append(attrs)
        if tag == "a":
            self.anchors.append(attrs)


def test_the_search_page_offers_its_feed_in_the_head_and_beside_the_downloads(
    client, sample_letters
):
    response = client.get(f"{HOME}?outcome=overturned&sort=oldest&q=therapy")
    assert response.status_code == 200
    html = response.content.decode()
    links = _Links()
    links.feed(html)
    [alternate] = links.alternate
    assert alternate["type"] == "application/atom+xml" and alternate["title"]
    head = html[: html.index("</head>")]
    assert alternate["href"] in head.replace("&amp;", "&")
    visible = [a for a in links.anchors if a.get("type") == "application/atom+xml"]
    assert [a["href"] for a in visible] == [alternate["href"]]
    assert alternate["href"] == f"{FEED}?outcome=overturned&q=therapy"
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert "Follow this search: Atom feed" in text
    assert "new decisions appear in your feed reader" in text
    # What the page offers is the feed of its own search.
    followed = [e["link"] for e in entries(feed(client, alternate["href"].split("?", 1)[1]))]
    assert followed == newest_added(client, "outcome=overturned&q=therapy")


def test_a_search_that_cannot_be_run_offers_no_feed(client, sample_letters):
    response = client.get(f"{HOME}?outcome=maybe")
    assert response.status_code == 400
    assert 'type="application/atom+xml"' not in response.content.decode()


def test_an_empty_search_is_still_a_feed_to_follow(client, sample_letters):
    root = feed(client, "q=zzzyqx")
    assert entries(root) == []
    assert root.findtext(f"{ATOM}title") == "IMR decisions: Text: “zzzyqx”"


def test_the_api_description_and_page_tell_of_the_feed(client, sample_letters):
    description = json.loads(client.get(reverse("decisions:api_openapi")).content)
    operation = description["paths"][FEED]["get"]
    described = {p["name"] for p in operation["parameters"]}
    searched = {p["name"] for p in description["paths"][API]["get"]["parameters"]}
    # Every filter of the search, none of what the feed ignores.
    assert described == searched - set(selectors.PRESENTATION)
    assert "application/atom+xml" in operation["responses"]["200"]["content"]
    page = client.get(reverse("decisions:api")).content.decode()
    assert f'href="{FEED}?outcome=overturned"' in page
    assert entries(feed(client, "outcome=overturned"))  # the example is a feed, not empty
