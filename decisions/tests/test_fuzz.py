"""Arbitrary query strings against every page that reads one: a 200 or a 400 that says why,
never a 500, and never more work than a search of the sample letters takes.

Hypothesis builds each query from the names the search reads (and names it does not), with
values that are valid, nearly valid (a year of 2**63, page 0, a full-width digit one), text of any
script, control characters and bytes that are no UTF-8 at all. The test client re-raises a
view's exception, so a 500 fails the test with its traceback. Work is bounded by counting
database queries, not by a clock: a request of any query takes no more queries than a bound
read off ordinary searches, and a search of common words alone, or of a page far past the
last, runs no full-text query and no more queries than page 1.

CI runs the "ci" profile on both databases; a longer run:
``HYPOTHESIS_PROFILE=thorough bin/test decisions/tests/test_fuzz.py``.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisions import api_schema, lettergen, selectors
from decisions.models import Determination

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
EXAMPLES = {"ci": 150, "thorough": 3000}[PROFILE]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,  # no example database in the checkout: every run draws afresh
)

# Pages that read a search's query string (the JSON API's export is its own test below).
SEARCH_PAGES = [
    "/",
    "/api/decisions/",
    "/report/",
    "/guidelines/",
    "/guidelines/mtus_chronic_pain/",
]
# What the search reads besides its filters: how to show it.
SHOWING = {
    "view": ["cards", "table"],
    "by": ["category", "treatment", "body_region", "cited_page", "decision_year"],
    "order": ["count", "rate"],
    "trend": ["decision_year", "injury_year"],
    "within": ["decision", "letter"],
}
ODD_VALUES = [
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "1e9",
    "NaN",
    "inf",
    "\uff11",  # a full-width 1: str.isdigit says yes, the search must say no
    "٣",
    str(2**63),
    str(-(2**63) - 1),
    "9" * 5000,  # past Python's 4,300-digit limit on int()
    "\x00",
    "\ufeff",
    "%",
    "'; DROP TABLE decisions_decisionitem; --",
    '"',
    '"""',
    "the",
    "of|",
    "the of and or",
    "-",
    "*",
    "NEAR(a b)",
    "a:b",
    "<script>alert(1)</script>",
    "a" * 3000,
]


def _valid_values() -> dict[str, list[str]]:
    """Each parameter's values the search knows (choices; a few vocabulary slugs)."""
    values = {p.name: [v for v, _ in p.choices or []] for p in api_schema.parameters()}
    values.update(
        treatment=["mri", "physical_therapy", "massage_therapy"],
        body_region=["lumbar_spine", "knee"],
        guideline=["mtus_chronic_pain", "odg", "mtus_acoem"],
        drug=["hydrocodone_acetaminophen", "lidocaine"],
        specialty=["orthopedic_surgery"],
        state=["ca"],
        injury_year=["2010", "2013"],
        decision_year=["2015", "2016"],
        cited_page=["99", "300"],
        page=["1", "2"],
        q=["physical therapy", '"lumbar spine"', "mri or ct", "-massage therapy"],
        **SHOWING,
    )
    values.pop("format", None)  # an export: its own test
    return values


VALID = _valid_values()
NAMES = sorted(VALID)

any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
value = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    any_text,
)


@st.composite
def pairs(draw) -> list[tuple[str, str]]:
    """A query string's pairs: known names with valid or odd values, and unknown names."""
    out = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.one_of(st.sampled_from(NAMES), any_text))
        known = VALID.get(name)
        out.append(
            (name, draw(st.sampled_from(known)) if known and draw(st.booleans()) else draw(value))
        )
    return out


@st.composite
def query_strings(draw) -> str:
    """Pairs, urlencoded, sometimes followed by a pair whose bytes are no UTF-8."""
    query = urlencode(draw(pairs()))
    if draw(st.booleans()):
        raw = quote_from_bytes(draw(st.binary(max_size=12)))
        query += f"&{draw(st.sampled_from(NAMES))}={raw}"
    return query


def get(client, url: str, **headers):
    response = client.get(url, headers=headers)
    if response.streaming:
        response.content_read = b"".join(response.streaming_content)
    return response


def said_why(response) -> bool:
    """Whether a 400 tells what was wrong (the API as JSON, a page in words)."""
    body = response.content_read if response.streaming else response.content
    text = body.decode()
    if response["Content-Type"].startswith("application/json"):
        return bool(re.search(r'"fields": \{"[^"]+": \["[^"]', text))
    return bool(
        re.search(r'class="errors" role="alert">.*?<li>\s*<strong>[^<]+</strong>: \S', text, re.S)
    )


@pytest.fixture
def bound(client, sample_letters) -> int:
    """The most queries an ordinary search of the sample letters takes, on any page, with room
    for a first request's vocabulary reads: the fuzzed requests may take no more."""
    ordinary = [
        "q=physical+therapy&within=letter&sort=relevance",
        "treatment=mri&treatment=physical_therapy&body_region=lumbar_spine",
        "guideline=mtus_chronic_pain&source=maximus&cited_page=99&by=cited_page",
        "outcome=overturned&view=table&trend=injury_year&order=rate",
    ]
    most = 0
    for path in SEARCH_PAGES:
        for query in ordinary:
            get(client, f"{path}?{query}")  # the facet index and rendered-page caches are warm
            with CaptureQueriesContext(connection) as ran:
                # The guideline pages refuse the citation filters (a 400): they count by them.
                assert get(client, f"{path}?{query}").status_code in (200, 400)
            most = max(most, len(ran))
    return most + 10


@pytest.mark.django_db
@FUZZ
@given(path=st.sampled_from(SEARCH_PAGES), query=query_strings(), htmx=st.booleans())
def test_any_query_string_is_answered_or_refused_with_a_reason(client, bound, path, query, htmx):
    with CaptureQueriesContext(connection) as ran:
        response = get(client, f"{path}?{query}", **({"HX-Request": "true"} if htmx else {}))
    assert response.status_code in (200, 400), (path, query)
    if response.status_code == 400:
        assert said_why(response), (path, query)
    assert len(ran) <= bound, (path, query, len(ran))


@pytest.mark.django_db
@FUZZ
@given(fmt=st.sampled_from(["csv", "jsonl"]), query=query_strings())
def test_any_export_is_a_file_or_a_400_with_a_reason(client, sample_letters, fmt, query):
    response = get(client, f"/api/decisions/?format={fmt}&{query}")
    assert response.status_code in (200, 400), query
    if response.status_code == 400:
        assert said_why(response), query
    else:
        assert response["Content-Disposition"].startswith("attachment")


@pytest.mark.django_db
@FUZZ
@given(key=st.one_of(any_text, st.sampled_from(["CM15-0247716", "cm15 0247716", "1", "0" * 16])))
def test_any_letter_address_is_a_letter_a_redirect_or_not_found(client, sample_letters, key):
    for suffix in ("", "original"):
        response = get(client, f"/letters/{quote(key, safe='')}/{suffix}")
        assert response.status_code in (200, 301, 404), key


@pytest.mark.django_db
@FUZZ
@given(query=query_strings())
def test_a_letter_page_ignores_any_query_string(client, sample_letters, query):
    key = Determination.objects.get(pk=sample_letters[0].determination_id).key
    assert get(client, f"/letters/{key}/?{query}").status_code == 200


# --- bounded: common words alone, a page far past the last ----------------------------------


def _text_queries(ran) -> list[str]:
    """The full-text queries among those a request ran."""
    return [q["sql"] for q in ran if re.search(r"_fts\b|MATCH|tsquery|tsvector|@@", q["sql"])]


@pytest.mark.django_db
@pytest.mark.parametrize("q", ["the", "of|", "the of and", "OR or", "  THE  "])
def test_common_words_alone_search_nothing_and_scan_no_text(client, sample_letters, q):
    with CaptureQueriesContext(connection) as ran:
        response = client.get("/api/decisions/", {"q": q})
    assert response.status_code == 200
    assert response.json()["count"] == 8  # every decision: no text was looked for
    assert _text_queries(ran) == []


@pytest.mark.django_db
def test_a_page_far_past_the_last_costs_what_page_one_does(client, sample_letters):
    client.get("/api/decisions/", {"q": "therapy"})  # warm
    with CaptureQueriesContext(connection) as first:
        one = client.get("/api/decisions/", {"q": "therapy", "page": 1, "sort": "oldest"})
    with CaptureQueriesContext(connection) as far:
        last = client.get(
            "/api/decisions/", {"q": "therapy", "page": selectors.PAGE_LIMIT, "sort": "oldest"}
        )
    assert last.status_code == 200 and last.json()["page"] == one.json()["pages"]
    assert len(far) <= len(first)
    refused = client.get("/api/decisions/", {"q": "therapy", "page": selectors.PAGE_LIMIT + 1})
    assert refused.status_code == 400 and "page" in refused.json()["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("injury_year=9223372036854775808", "injury_year"),  # a 500 on SQLite once
        ("decision_year=-1", "decision_year"),
        ("injury_year=1899", "injury_year"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=%EF%BC%91", "page"),  # a full-width 1
    ],
)
def test_numbers_out_of_their_range_are_a_400_naming_the_range(
    client, sample_letters, query, field
):
    response = client.get(f"/api/decisions/?{query}")
    assert response.status_code == 400
    (message,) = response.json()["fields"][field]
    assert re.search(r"from \d[\d,]* to \d[\d,]*", message), message
    assert client.get(f"/?{query}").status_code == 400


# --- mutated letters through ingest -----------------------------------------------------------

MUTATED = {"ci": 2000, "thorough": 10000}[PROFILE]
LINE_END = re.compile(r"\r\n|\r|\n")


def _mutate(data: bytes, rng) -> bytes:
    """``data`` damaged as files arrive damaged: cut short, spans lost or doubled, bytes flipped,
    NULs and stray control or non-Latin characters, lines swapped, a heading shouted, a line
    repeated thousands of times, another encoding."""
    for _ in range(rng.randint(1, 4)):
        n = len(data)
        at, span = rng.randrange(n + 1), rng.randint(1, max(1, n // 8))
        kind = rng.randrange(10)
        if kind == 0:
            data = data[: rng.randrange(n + 1)]
        elif kind == 1:
            data = data[:at] + data[at + span :]
        elif kind == 2:
            data = data[:at] + data[at : at + span] * rng.randint(2, 5) + data[at:]
        elif kind == 3:
            flips = bytearray(data)
            for _ in range(rng.randint(1, 40)):
                if flips:
                    flips[rng.randrange(len(flips))] = rng.randrange(256)
            data = bytes(flips)
        elif kind == 4:
            junk = rng.choice(
                ["\x00", "\x0c", "\u200b", "\ufffd", "\u202e", "²", "١٢", "\U0001d7d7", "\x1b[0m"]
            )
            data = data[:at] + junk.encode() * rng.randint(1, 30) + data[at:]
        elif kind == 5:
            lines = LINE_END.split(data.decode("utf-8", "replace"))
            if len(lines) > 2:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            data = "\n".join(lines).encode()
        elif kind == 6:
            data = data[:at] + data[at : at + span].upper() + data[at + span :]
        elif kind == 7:
            line = rng.choice(LINE_END.split(data.decode("utf-8", "replace")) or [""])
            data = data[:at] + (line + "\n").encode() * rng.randint(100, 3000) + data[at:]
        elif kind == 8:
            data = data.decode("utf-8", "replace").encode(
                rng.choice(["utf-16", "cp1252"]), "replace"
            )
        else:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300))) + data
    return data


@pytest.mark.django_db
def test_thousands_of_mutated_letters_are_each_stored_whole_or_reported(tmp_path):
    import random
    from collections import Counter

    from decisions import services
    from decisions.ingest import FAILED, NEW, UNCHANGED, read_letters
    from decisions.ingest.pool import PARSER_FAULT
    from decisions.models import DecisionItem
    from decisions.parsing import parse_letter

    from .conftest import LETTERS

    rng = random.Random(17)
    texts = [p.read_bytes() for p in sorted(LETTERS.glob("*.txt"))]
    texts += [t.encode() for _, t in lettergen.letters(20, seed=5)]
    pdfs = [p.read_bytes() for p in sorted((LETTERS.parent / "pdf").glob("*.pdf"))]
    for n in range(MUTATED):
        if n % 20 == 0 and pdfs:  # one in twenty a damaged PDF
            (tmp_path / f"m{n:05d}.pdf").write_bytes(_mutate(rng.choice(pdfs), rng))
        else:
            (tmp_path / f"m{n:05d}.txt").write_bytes(_mutate(rng.choice(texts), rng))

    outcomes = list(services.letters_ingest(letters=read_letters([str(tmp_path)]), batch_size=100))
    assert len(outcomes) == MUTATED
    status = Counter(o.status for o in outcomes)
    assert set(status) <= {NEW, UNCHANGED, FAILED}
    # Each failure names its file and a reason a person can act on.
    for o in outcomes:
        if o.status == FAILED:
            assert re.fullmatch(r".*m\d{5}\.(txt|pdf)", o.source_name) and len(o.reason) > 10, o
            assert PARSER_FAULT not in o.reason, o  # a letter's fault, never the parser's
    assert status[NEW] > MUTATED // 4 and status[FAILED] > 0  # the mutations hurt some, not all
    new = status[NEW]
    # Every stored letter is whole: its items are the parse of its stored text.
    assert Determination.objects.count() == new
    stored = Determination.objects.prefetch_related("items")
    for letter in stored.iterator(chunk_size=200):
        assert letter.items.count() == len(parse_letter(letter.full_text).items), letter.source_name
    assert DecisionItem.objects.filter(determination__isnull=True).count() == 0
