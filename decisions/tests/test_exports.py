"""The export of a search (``/api/decisions/?format=csv`` or ``jsonl``): every decision it finds,
in its order, as a file a spreadsheet or a program reads back as it was.

Counts and orders are checked against the API's own pages of the same search.
"""

import contextlib
import csv
import datetime as dt
import html
import io
import json
import re
import time
import tracemalloc
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from decisions import exports, selectors
from decisions.models import CitedPageRange, Specialty, State

from .factories import DecisionItemFactory, DeterminationFactory, GuidelineCitationFactory

pytestmark = pytest.mark.django_db
API = reverse("decisions:api_decisions")
HOME = reverse("decisions:home")
CASE = "CM15-0012345"


def api_page(client, query: str) -> dict:
    response = client.get(f"{API}?{query}")
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def searched_ids(client, query: str) -> list[int]:
    """The ids the API gives for ``query``, page after page: the search's own order."""
    ids, page = [], 1
    while True:
        data = api_page(client, f"{query}&page={page}")
        ids += [r["id"] for r in data["results"]]
        if not data["next"]:
            assert len(ids) == data["count"]
            return ids
        page += 1


def exported(client, query: str, format: str):
    response = client.get(f"{API}?{query}&format={format}")
    assert response.status_code == 200, response.content
    assert response.streaming
    return response, b"".join(response.streaming_content)


def csv_table(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())  # the BOM, for Excel
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def jsonl_records(body: bytes) -> list[dict]:
    text = body.decode()
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def uncell(cell: str) -> str:
    """A CSV cell's value: the apostrophe the export puts before a formula taken off."""
    return cell[1:] if cell.startswith("'") else cell


def as_csv(value) -> str:
    """What a JSON Lines value is in the CSV (before formulas are made inert)."""
    if value is None:
        return ""
    return "; ".join(value) if isinstance(value, list) else str(value)


@pytest.fixture
def letter_with_case_number(sample_letters):
    letter = DeterminationFactory(case_number=CASE, key=CASE, decision_date=dt.date(2015, 6, 2))
    for position in (1, 2):
        DecisionItemFactory(determination=letter, position=position, outcome="overturned")
    return letter


SEARCHES = [
    "",
    "outcome=overturned",
    "treatment=physical_therapy&treatment=mri&outcome=upheld",
    "guideline=mtus_chronic_pain&source=maximus&cited_page=99",
    "q=therapy",  # best match: decisions whose request matches first
    "q=therapy&sort=oldest",
    'q="physical therapy"&body_region=lumbar_spine',
    "q=trochanteric&within=letter",
    f"q={CASE}",
    "sort=age",
    "sort=injury&page=2",  # the page is not the export's: every decision is
    "treatment=acupuncture",  # none
]


@pytest.mark.parametrize("query", SEARCHES)
def test_an_export_has_every_decision_the_search_finds_in_its_order(
    client, letter_with_case_number, monkeypatch, query
):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 3)  # the search's order over several pages
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 2)  # and the export's over several chunks
    expected = searched_ids(client, query.replace("page=2", ""))
    _, body = exported(client, query, "csv")
    header, *rows = csv_table(body)
    assert header == list(exports.COLUMNS)
    assert [int(r[0]) for r in rows] == expected
    _, body = exported(client, query, "jsonl")
    assert [r["id"] for r in jsonl_records(body)] == expected


def test_a_case_number_exports_that_letters_decisions(client, letter_with_case_number):
    _, body = exported(client, f"q={CASE.lower()}", "jsonl")
    records = jsonl_records(body)
    assert [(r["case_number"], r["letter_key"]) for r in records] == [(CASE, CASE)] * 2
    assert records[0]["letter_url"] == f"http://testserver/letters/{CASE}/#item-1"


@pytest.fixture
def awkward(sample_letters):
    """Decisions whose text a careless CSV would break or a spreadsheet would run."""
    letter = DeterminationFactory(case_number="", patient_age=None, patient_sex="")
    texts = [
        ('Norco 10/325, #60 "as needed"\nfor the right knee', 'One, two.\r\nA "quote"\n\nEnd'),
        ('=HYPERLINK("http://example.com","click")', "=1+1"),
        ("+1 visit", "-2 visits"),
        ("@SUM(A1:A2)", "\tTabbed"),
        ("'quoted already", "\rCarriage"),
        ("Line\u2028separator", "and \x85 next line"),
    ]
    items = [
        DecisionItemFactory(determination=letter, position=n, request=r, rationale=why)
        for n, (r, why) in enumerate(texts, start=1)
    ]
    citation = GuidelineCitationFactory(item=items[0], section="-Opioids; criteria, for use")
    CitedPageRange.objects.create(citation=citation, first_page=74, last_page=96)
    CitedPageRange.objects.create(citation=citation, first_page=98, last_page=98)
    GuidelineCitationFactory(item=items[0], guideline__slug="odg", section="")
    return items


def test_the_csv_reads_back_as_the_json_lines_say_every_field(client, awkward):
    _, csv_body = exported(client, "", "csv")
    _, jsonl_body = exported(client, "", "jsonl")
    header, *rows = csv_table(csv_body)
    records = jsonl_records(jsonl_body)
    assert len(rows) == len(records) == 8 + len(awkward)
    for row, record in zip(rows, records, strict=True):
        assert header == list(record)
        for name, cell in zip(header, row, strict=True):
            separator = " | " if name in exports.CITATION_COLUMNS else "; "
            value = record[name]
            expected = separator.join(value) if isinstance(value, list) else as_csv(value)
            assert uncell(cell) == expected, (record["id"], name)
    by_id = {r["id"]: r for r in records}
    for item in awkward:  # and the JSON Lines hold the text as the database does
        assert (by_id[item.pk]["request"], by_id[item.pk]["rationale"]) == (
            item.request,
            item.rationale,
        )


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_inert(client, awkward):
    _, body = exported(client, "", "csv")
    header, *rows = csv_table(body)
    cells = {
        (int(row[0]), name): cell for row in rows for name, cell in zip(header, row, strict=True)
    }
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    first, formula = awkward[0].pk, awkward[1].pk
    assert cells[formula, "request"] == "'" + awkward[1].request
    assert cells[formula, "rationale"] == "'=1+1"
    assert cells[awkward[4].pk, "request"] == "''quoted already"  # so one ' comes off, always
    assert cells[first, "maximus_sections"] == "'-Opioids; criteria, for use | "
    assert cells[first, "maximus_guidelines"] == "mtus_chronic_pain | odg"
    assert cells[first, "maximus_pages"] == "74-96, 98 | "
    assert b"\r\n" in body and body.count(b"\r\n") >= len(rows) + 1  # RFC 4180's line ends


def test_json_lines_are_one_object_a_line_even_with_unicode_line_breaks(client, awkward):
    _, body = exported(client, "", "jsonl")
    lines = body.decode().splitlines()  # splits at U+2028 and U+0085 too, had they been left
    assert len(lines) == 8 + len(awkward)
    requests = {json.loads(line)["request"] for line in lines}
    assert "Line\u2028separator" in requests


def test_an_export_is_a_download_named_for_its_search(client, sample_letters):
    today = timezone.localdate().isoformat()
    response, _ = exported(client, "outcome=overturned&treatment=mri&page=3", "csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="imr-decisions-overturned-mri-{today}.csv"'
    )
    response, _ = exported(client, "", "jsonl")
    assert response["Content-Type"] == "application/jsonl"
    assert response["Content-Disposition"] == (
        f'attachment; filename="imr-decisions-{today}.jsonl"'
    )


def test_a_file_name_says_what_was_searched_briefly(rf):
    today = dt.date(2026, 12, 1)
    params = rf.get("/", {"q": '"Physical Therapy" L5-S1', "sort": "oldest"}).GET
    assert exports.filename(params, "csv", today) == (
        "imr-decisions-physical-therapy-l5-s1-2026-12-01.csv"
    )
    long = rf.get("/", {"q": "lumbar " * 20}).GET
    name = exports.filename(long, "jsonl", today)
    assert name.startswith("imr-decisions-lumbar-lumbar") and len(name) < 90
    assert name.endswith("-2026-12-01.jsonl") and "--" not in name


def test_an_empty_export_is_its_header_alone(client, sample_letters):
    _, body = exported(client, "treatment=acupuncture", "csv")
    assert csv_table(body) == [list(exports.COLUMNS)]
    _, body = exported(client, "treatment=acupuncture", "jsonl")
    assert body == b""


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("format=xml", {"format"}),
        ("format=CSV", {"format"}),
        ("format=xml&outcome=maybe", {"format", "outcome"}),
        ("format=csv&outcome=maybe", {"outcome"}),
        ("format=jsonl&sort=relevance", {"sort"}),  # best match needs words
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, sample_letters, query, fields):
    response = client.get(f"{API}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert set(data["fields"]) == fields
    if "format" in fields:
        assert "csv" in data["fields"]["format"][0] and "jsonl" in data["fields"]["format"][0]


def test_format_json_is_the_page_of_results(client, sample_letters):
    assert api_page(client, "format=json") == api_page(client, "")


def test_an_export_reads_a_chunk_at_a_time_in_the_same_few_queries(client, monkeypatch):
    specialty = Specialty.objects.create(slug="pain_management", label="Pain management")
    state = State.objects.create(slug="CA", label="California")
    made = 0
    for size in (1, 3, 1, 1, 2, 3, 1, 4, 2, 1, 3, 3):  # 25: chunks of 4 hold 1 to 4 letters
        letter = DeterminationFactory()
        letter.reviewer_specialties.add(specialty)
        letter.reviewer_states.add(state)
        for position in range(1, size + 1):
            item = DecisionItemFactory(determination=letter, position=position)
            for n in range(made % 3):  # 0, 1 or 2 citations: no fixed number a chunk
                citation = GuidelineCitationFactory(item=item, guideline__slug=f"g{n}")
                CitedPageRange.objects.create(citation=citation, first_page=1, last_page=n + 1)
            made += 1
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 4)
    client.get(API)  # the facet index is built
    selectors._sql.cache_clear()
    with CaptureQueriesContext(connection) as ctx:
        _, body = exported(client, "", "jsonl")
    records = jsonl_records(body)
    assert len(records) == 25 and records[0]["reviewer_states"] == ["CA"]
    chunks = 7  # 6 of 4 and one of 1
    # The index's version, then items, treatments, regions, specialties, states, citations and
    # their pages, a query each a chunk, each taking as many ids as the chunk has items: one
    # compiled query for every full chunk and one for the last, however many citations.
    assert len(ctx.captured_queries) <= 1 + 7 * chunks
    assert selectors._sql.cache_info().currsize <= 2 * 7


def test_an_export_is_not_kept_in_the_cache_of_rendered_searches(client, sample_letters):
    client.get(API)  # a page of results is kept
    kept = dict(selectors._shown.entries)
    exported(client, "outcome=upheld", "csv")
    exported(client, "outcome=upheld", "jsonl")
    assert dict(selectors._shown.entries) == kept


# --- the search page's link ------------------------------------------------------------------


def download_links(content: str) -> dict[str, str]:
    """The search page's download links: their text and where they go."""
    found = re.findall(r'<a href="([^"]+)"\s+hx-boost="false"\s+download>([^<]+)</a>', content)
    return {text: html.unescape(url) for url, text in found}


def test_the_search_page_links_its_export_keeping_every_parameter_but_the_page(
    client, sample_letters, monkeypatch
):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    query = "outcome=upheld&treatment=physical_therapy&treatment=chiropractic&view=table"
    found = api_page(client, query)["count"]
    assert found > selectors.PAGE_SIZE
    content = client.get(f"{HOME}?{query}&page=2").content.decode()
    assert f"Download these {found} decisions:" in content
    assert download_links(content) == {
        "CSV": f"{API}?{query}&format=csv",
        "JSON Lines": f"{API}?{query}&format=jsonl",
    }
    _, body = exported(client, query, "csv")  # what the link gives: all of them, not the page
    assert len(csv_table(body)) == 1 + found


def test_one_decision_is_this_decision(client, sample_letters):
    content = client.get(HOME, {"q": '"massage therapy"'}).content.decode()
    assert "Download this decision:" in content and len(download_links(content)) == 2


@pytest.mark.parametrize(
    "query",
    [
        "treatment=mri&outcome=upheld",  # nothing found
        "outcome=maybe",  # an error
    ],
)
def test_no_download_where_there_is_nothing_to_download(client, sample_letters, query):
    content = client.get(f"{HOME}?{query}").content.decode()
    assert "Download" not in content and download_links(content) == {}


def test_no_download_before_any_letter_is_loaded(client):
    content = client.get(HOME).content.decode()
    assert "No letters yet" in content and download_links(content) == {}


# --- at scale --------------------------------------------------------------------------------

RATIONALE = (
    "The MTUS Chronic Pain Medical Treatment Guidelines recommend physical medicine, allowing "
    "for fading of treatment frequency, 9-10 visits over 8 weeks; the records do not show the "
    "functional improvement from the visits already given. "
) * 3


def insert_select(model, exprs: dict[str, str], rest: str, with_=("", []), **constants) -> None:
    """``[WITH ...] INSERT INTO`` model's table ``SELECT ... rest``: the fields of ``exprs``
    (attname -> SQL), those of ``constants`` a value each, and every other its default, so a
    field added to the model needs nothing here."""
    blank, columns, values, params = model(), [], [], list(with_[1])
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(connection.ops.quote_name(f.column))
        if f.attname in exprs:
            values.append(exprs[f.attname])
        else:
            value = constants[f.attname] if f.attname in constants else f.pre_save(blank, True)
            values.append("%s")
            params.append(f.get_db_prep_save(value, connection))
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"{with_[0]} INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} {rest}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def many_decisions(letters: int, per_letter: int = 4) -> None:
    """``letters * per_letter`` decisions, a fifth of the letters with two overturned, each
    with what an export shows (a treatment, a region, a citation of each side with pages, the
    reviewer's specialty and state), generated by the database: a few statements, not a
    Python object a row. Full text follows by the tables' own triggers, but for PostgreSQL's
    table of item ids under its index of words and word pairs (migration 0008): filling it
    a row at a time took 1.5 ms an item, most of a minute here, and these tests search no
    text, so its trigger is off for the insert (DDL in the test's transaction, rolled back
    with it).

    Only new items: the facet index takes in items past its newest (no ``IndexChange``).
    """
    from decisions.models import DecisionItem, Determination, GuidelineCitation
    from decisions.services import vocabulary_sync

    vocabulary_sync()
    numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s)"
    year = "(2014 + n.i %% 7)"
    if connection.vendor == "postgresql":
        decided = f"make_date({year}, 1, 1) + n.i %% 300"
    else:
        decided = f"date({year} || '-01-01', '+' || (n.i %% 300) || ' days')"
    insert_select(
        Determination,
        {
            "content_hash": "'h' || n.i",
            "key": "'CM15-' || n.i",
            "case_number": "'CM15-' || n.i",
            "source_name": "'letter_' || n.i || '.txt'",
            "full_text": "'Letter ' || n.i",
            "decision_date": decided,
            "decision_year": year,
            "patient_age": "20 + n.i %% 50",
            "patient_sex": "CASE WHEN n.i %% 2 = 1 THEN 'female' ELSE 'male' END",
        },
        "FROM n",
        (numbers, [letters]),
    )
    letter, item = "FROM decisions_determination d", "FROM decisions_decisionitem i"
    itemsearch = "ALTER TABLE decisions_decisionitem {} TRIGGER decisions_itemsearch_insert"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(itemsearch.format("DISABLE"))
    insert_select(
        DecisionItem,
        {
            "determination_id": "d.id",
            "position": "n.i",
            "request": "'Physical therapy 2x' || n.i || ', lumbar spine'",
            "outcome": "CASE WHEN n.i <= 2 AND d.id %% 5 = 0 THEN 'overturned' ELSE 'upheld' END",
            "quantity": "2 * n.i",
        },
        f"{letter} CROSS JOIN n",
        (numbers, [per_letter]),
        rationale=RATIONALE,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the deferred foreign-key checks first, so the
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # table has no pending events
            cursor.execute(itemsearch.format("ENABLE"))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    links = [
        (
            DecisionItem.treatments.through,
            item,
            "decisionitem_id",
            {"treatment_id": "physical_therapy"},
        ),
        (
            DecisionItem.body_regions.through,
            item,
            "decisionitem_id",
            {"bodyregion_id": "lumbar_spine"},
        ),
        (Determination.reviewer_states.through, letter, "determination_id", {"state_id": "CA"}),
        (
            Determination.reviewer_specialties.through,
            letter,
            "determination_id",
            {"specialty_id": "pain_management"},
        ),
    ]
    for through, rows, owner, term in links:
        insert_select(through, {owner: rows.split()[-1] + ".id"}, rows, **term)
    for side, guideline in (("maximus", "mtus_chronic_pain"), ("claims_administrator", "odg")):
        insert_select(
            GuidelineCitation,
            {"item_id": "i.id"},
            item,
            source=side,
            guideline_id=guideline,
            section="Physical Medicine",
        )
    insert_select(
        CitedPageRange,
        {"citation_id": "c.id"},
        "FROM decisions_guidelinecitation c WHERE c.source = 'maximus'",
        first_page=98,
        last_page=99,
    )


def _status(name: str) -> int:
    """A line of Linux's /proc/self/status, in bytes (``VmRSS``: resident now; ``VmHWM``: the
    peak since the last reset)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(name)


@contextlib.contextmanager
def memory_rise() -> Iterator[dict]:
    """How far this process's memory rises above where it was, during the block.

    Linux's peak resident set, reset by writing 5 to /proc/self/clear_refs: it costs nothing
    and sees the database driver's buffers too. Where that cannot be reset, tracemalloc's peak
    of what Python allocates (the driver's buffers unseen, and the block several times slower).
    """
    rise: dict = {}
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        before = _status("VmRSS")
    except OSError:
        tracemalloc.start()
        try:
            yield rise
            rise.update(peak=tracemalloc.get_traced_memory()[1], how="tracemalloc")
        finally:
            tracemalloc.stop()
        return
    yield rise
    rise.update(peak=_status("VmHWM") - before, how="peak resident set")


def streamed(client, query: str) -> dict:
    """An export streamed and let go of a piece at a time, as a client saving it would: its
    lines and bytes, the seconds it took (and of CPU), and how far memory rose meanwhile."""
    with memory_rise() as rise:
        wall, cpu = time.perf_counter(), time.process_time()
        lines = size = 0
        for piece in client.get(f"{API}?{query}").streaming_content:
            lines, size = lines + piece.count(b"\n"), size + len(piece)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"lines": lines, "size": size, "wall": wall, "cpu": cpu, **rise}


def said(what: str, export: dict) -> str:
    mib = 2**20
    return (
        f"{what} {export['size'] / mib:.0f} MiB in {export['wall']:.1f} s"
        f" ({export['cpu']:.1f} s CPU), memory up {export['peak'] / mib:.1f} MiB"
    )


@pytest.mark.slow
def test_100000_decisions_export_whole_with_memory_flat(client):
    wall, cpu = time.perf_counter(), time.process_time()
    many_decisions(25_000)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    every, some = api_page(client, "")["count"], api_page(client, "outcome=overturned")["count"]
    assert (every, some) == (100_000, 10_000)  # and the index is built, before measuring

    tenth = streamed(client, "outcome=overturned&format=csv")
    assert tenth["lines"] == 1 + some  # a header and a row each (no line breaks in the text)
    whole = streamed(client, "format=csv")
    assert whole["lines"] == 1 + every
    jsonl = streamed(client, "outcome=overturned&format=jsonl")  # the same chunks, encoded so
    assert jsonl["lines"] == some

    # What is held at once is a chunk of rows, whatever the export's size: ten times the
    # decisions and no more memory (the rows of one export were 250 MiB and more), a small
    # part of the file.
    assert whole["peak"] < 1.5 * tenth["peak"] + 4 * 2**20, (tenth, whole)
    assert whole["peak"] < whole["size"] / 5, whole
    print(
        f"\n{connection.vendor}: 100,000 decisions written in {wall:.1f} s ({cpu:.1f} s CPU);"
        f" {said('CSV', whole)}; {said('10,000 as CSV', tenth)};"
        f" {said('10,000 as JSON Lines', jsonl)} ({whole['how']})"
    )
