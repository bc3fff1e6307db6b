"""Decisions a lawyer can cite: case numbers in URLs, the letter's dates, the original file."""

import json
import re
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from decisions import services
from decisions.ingest import read_letters
from decisions.models import Determination

from .conftest import LETTERS

pytestmark = pytest.mark.django_db
PDFS = LETTERS.parent / "pdf"
API = reverse("decisions:api_decisions")


def sample(prefix: str) -> str:
    return next(LETTERS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def headed(case_number: str, decided: str, body: str = "003") -> str:
    """A sample letter under a published header with its case number and decision date."""
    return (
        f"Case Number:   {case_number}        Date Assigned:  01/02/2015\n"
        f"Date of Injury:  07/16/2008        Decision Date:  {decided}\n"
        "UR Denial Date:  12/08/2014        Priority:  Standard\n\n" + sample(body)
    )


def ingest(*texts: str) -> list[Determination]:
    inputs = [services.LetterInput(f"letter_{n}.txt", t) for n, t in enumerate(texts)]
    outcomes = list(services.letters_ingest(letters=inputs))
    assert [o.status for o in outcomes] == ["new"] * len(texts), [o.reason for o in outcomes]
    return [Determination.objects.get(pk=o.determination_id) for o in outcomes]


def api(client, **params):
    response = client.get(API, params)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


# --- identity --------------------------------------------------------------------------------


def test_a_letter_lives_at_its_case_number_and_every_older_name_redirects_there(client):
    (letter,) = ingest(headed("CM16-0021734", "03/17/2016"))
    page = client.get("/letters/CM16-0021734/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "<h1>Case CM16-0021734</h1>" in content
    assert "Mar 17, 2016" in content
    for old in (str(letter.pk), "cm16-0021734", letter.content_hash[:16]):
        moved = client.get(f"/letters/{old}/")
        assert (moved.status_code, moved["Location"]) == (301, "/letters/CM16-0021734/")
    assert client.get("/letters/CM99-0000001/").status_code == 404
    assert client.get("/letters/99999999999999999999999/").status_code == 404


def test_a_letter_without_a_case_number_has_a_short_key_from_its_content(client):
    (letter,) = ingest(sample("000"))
    assert letter.key == letter.content_hash[:16]
    assert client.get(f"/letters/{letter.key}/").status_code == 200


def test_two_letters_with_one_case_number_each_keep_a_url_and_the_number_finds_both(client):
    first, second = ingest(
        headed("CM15-0247716", "01/29/2016"), headed("CM15-0247716", "02/03/2016", body="001")
    )
    assert first.key == "CM15-0247716"
    assert second.key == second.content_hash[:16]
    data = api(client, q="CM15-0247716")
    assert {r["letter"]["key"] for r in data["results"]} == {first.key, second.key}


def test_a_case_number_searched_in_any_spelling_lists_that_letters_decisions(client):
    (letter, _) = ingest(headed("CM16-0021734", "03/17/2016"), sample("000"))
    items = letter.items.count()
    for typed in ("CM16-0021734", "cm16 0021734", " CM16-0021734 "):
        data = api(client, q=typed)
        assert data["count"] == items
        assert {r["letter"]["case_number"] for r in data["results"]} == {"CM16-0021734"}
    content = client.get("/", {"q": "cm16-0021734"}).content.decode()
    assert 'href="/letters/CM16-0021734/"' in content
    assert "open the letter" in content
    none = client.get("/", {"q": "CM16-0000000"}).content.decode()
    assert "No letter here has the case number or key" in none


# --- dates -----------------------------------------------------------------------------------


def test_newest_first_is_by_decision_date_with_undated_letters_last(client):
    ingest(
        headed("CM15-0000001", "05/01/2015"),
        sample("000"),  # no header: no date
        headed("CM17-0000002", "02/01/2017", body="001"),
        headed("CM16-0000003", "07/01/2016", body="002"),
    )

    def letters_in(sort):
        keys = [r["letter"]["case_number"] for r in api(client, sort=sort)["results"]]
        return list(dict.fromkeys(keys))

    assert letters_in("newest") == ["CM17-0000002", "CM16-0000003", "CM15-0000001", None]
    assert letters_in("oldest") == ["CM15-0000001", "CM16-0000003", "CM17-0000002", None]
    assert letters_in("") == letters_in("newest")  # the default


def test_the_decision_year_facet_counts_and_filters(client):
    a, b, _ = ingest(
        headed("CM15-0000001", "05/01/2015"),
        headed("CM16-0000003", "07/01/2016", body="002"),
        sample("000"),
    )
    data = api(client)
    years = {v["value"]: v["count"] for v in data["facets"]["decision_year"]}
    assert years == {"2015": a.items.count(), "2016": b.items.count()}
    only = api(client, decision_year=2016)
    assert only["count"] == b.items.count()
    assert {r["letter"]["decision_date"] for r in only["results"]} == {"2016-07-01"}
    assert client.get(API, {"decision_year": "soon"}).status_code == 400


def test_results_and_the_api_show_the_case_number_dates_and_the_rationales_opening(client):
    (letter,) = ingest(headed("CM16-0021734", "03/17/2016"))
    result = api(client)["results"][0]["letter"]
    assert result["key"] == "CM16-0021734"
    assert (result["decision_date"], result["date_assigned"], result["ur_date"]) == (
        "2016-03-17",
        "2015-01-02",
        "2014-12-08",
    )
    content = client.get("/").content.decode()
    assert "Case CM16-0021734 · decided" in content
    opening = " ".join(letter.items.first().rationale.split())[:60]
    assert opening in " ".join(content.split())


def test_a_corrected_decision_date_and_its_year_survive_a_reparse(client):
    (letter,) = ingest(headed("CM16-0021734", "03/17/2016"))
    letter.decision_date = letter.decision_date.replace(year=2017)
    letter.decision_year = 2017
    letter.corrected_fields = ["decision_date"]
    letter.save()
    services.letters_changed(letters=[letter.pk])
    call_command("ingest_letters", "--reparse", verbosity=0)
    letter.refresh_from_db()
    assert (str(letter.decision_date), letter.decision_year) == ("2017-03-17", 2017)
    assert api(client, decision_year=2017)["count"] == letter.items.count()


# --- the original file -----------------------------------------------------------------------


def test_the_original_pdf_is_kept_and_downloaded_under_its_own_name(client):
    pdf = next(PDFS.glob("002_*.pdf"))
    text = next(LETTERS.glob("002_*.txt"))
    outcomes = list(services.letters_ingest(letters=read_letters([str(text), str(pdf)])))
    assert [o.status for o in outcomes] == ["new", "unchanged"]  # one letter
    letter = Determination.objects.get()
    assert letter.original_name == pdf.name
    page = client.get(letter.get_absolute_url()).content.decode()
    link = reverse("decisions:letter_original", args=[letter.key])
    assert f'href="{link}"' in page
    assert str(LETTERS.parent) not in page and "fixtures/" not in page  # no path of this machine
    response = client.get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf.read_bytes()
    assert response["Content-Disposition"] == f'attachment; filename="{pdf.name}"'


def test_a_letter_first_read_from_text_takes_its_pdf_when_that_comes(client):
    text, pdf = next(LETTERS.glob("004_*.txt")), next(PDFS.glob("004_*.pdf"))
    list(services.letters_ingest(letters=read_letters([str(text)])))
    letter = Determination.objects.get()
    assert letter.original_name == text.name
    list(services.letters_ingest(letters=read_letters([str(pdf)])))
    letter.refresh_from_db()
    assert letter.original_name == pdf.name
    assert default_storage.open(letter.original.name).read() == pdf.read_bytes()
    again = list(services.letters_ingest(letters=read_letters([str(text)])))
    assert again[0].status == "unchanged"
    letter.refresh_from_db()
    assert letter.original_name == pdf.name  # the text does not take the PDF's place


def test_a_letter_whose_file_cannot_be_stored_fails_alone_and_says_why(client):
    paths = [str(p) for p in sorted(LETTERS.glob("00[01]_*.txt"))]
    real_save = default_storage.save

    saved = []

    def full_after_one(name, content, **kwargs):  # the disk fills up after the first file
        if saved:
            raise OSError(28, "No space left on device")
        saved.append(name)
        return real_save(name, content, **kwargs)

    with mock.patch.object(default_storage, "save", side_effect=full_after_one):
        outcomes = list(services.letters_ingest(letters=read_letters(paths)))
    assert [o.status for o in outcomes] == ["new", "failed"]
    assert re.match(r"its file could not be stored \(.*No space left", outcomes[1].reason)
    assert Determination.objects.count() == 1
    rerun = list(services.letters_ingest(letters=read_letters(paths)))
    assert [o.status for o in rerun] == ["unchanged", "new"]  # nothing lost: a rerun completes


# --- reading the results ---------------------------------------------------------------------


def table_of(content: str) -> str:
    return content.split('<table class="result-table">')[1].split("</table>")[0]


def test_the_table_view_shows_a_line_a_decision_with_sortable_date_columns(client):
    ingest(headed("CM15-0000001", "05/01/2015"), headed("CM17-0000002", "02/01/2017", body="001"))
    content = client.get("/", {"view": "table"}).content.decode()
    rows = re.findall(r"<tr>.*?</tr>", table_of(content), re.S)[1:]  # after the head
    assert len(rows) == Determination.objects.get(key="CM15-0000001").items.count() + (
        Determination.objects.get(key="CM17-0000002").items.count()
    )
    assert "CM17-0000002" in rows[0] and "2017-02-01" in rows[0]  # newest first
    assert 'aria-sort="descending"' in content
    assert "?view=table&amp;sort=oldest" in content  # the Decided column sorts the other way
    oldest = client.get("/", {"view": "table", "sort": "oldest"}).content.decode()
    assert re.findall(r"<tr>.*?</tr>", table_of(oldest), re.S)[1].count("CM15-0000001")
    assert client.get("/", {"view": "list-ish"}).status_code == 400


def test_choosing_an_outcome_explains_what_it_means(client):
    ingest(sample("000"))
    assert "What the outcomes mean" not in client.get("/").content.decode()
    content = client.get("/", {"outcome": "upheld"}).content.decode()
    assert "What the outcomes mean" in content
    assert "the claims administrator must authorise it" in content
