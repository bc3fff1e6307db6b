"""ingest_letters: bulk, idempotent, whole letters or nothing, and corrections never lost."""

import io
import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from decisions import services
from decisions.models import (
    CitedPageRange,
    Correction,
    DecisionItem,
    Determination,
    GuidelineCitation,
)
from decisions.parsing import parse_letter

ROOT = Path(__file__).resolve().parents[2]
LETTERS = ROOT / "fixtures" / "letters"
PDFS = ROOT / "fixtures" / "pdf"


def ingest(*args, stdin=None):
    """Run the command; return (exit ok?, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        old, sys.stdin = sys.stdin, stdin
    try:
        call_command("ingest_letters", *map(str, args), stdout=out, stderr=err)
        ok = True
    except CommandError as exc:
        err.write(str(exc))
        ok = False
    finally:
        if stdin is not None:
            sys.stdin = old
    return ok, out.getvalue(), err.getvalue()


def counts():
    return (
        Determination.objects.count(),
        DecisionItem.objects.count(),
        GuidelineCitation.objects.count(),
        CitedPageRange.objects.count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("workers", ["0", "2"], ids=["in-process", "worker-processes"])
def test_sample_letters_land_whole(workers):
    ok, out, _ = ingest(LETTERS, "--workers", workers)
    assert ok
    assert "5 new, 0 unchanged, 0 re-parsed, 0 failed" in out
    assert Determination.objects.count() == 5
    assert DecisionItem.objects.count() == 8
    assert DecisionItem.objects.upheld().count() == 5
    mri = DecisionItem.objects.get(request="MRI of the Lumbar Spine")
    assert mri.outcome == "overturned"
    assert set(mri.treatments.values_list("slug", flat=True)) == {"mri"}
    assert set(mri.body_regions.values_list("slug", flat=True)) == {"lumbar_spine"}
    maximus_acoem = mri.citations.get(source="maximus", guideline="mtus_acoem")
    assert list(maximus_acoem.chapters.values_list("chapter", flat=True)) == [12]
    assert [str(r) for r in maximus_acoem.page_ranges.filter(derived=False)] == ["303-304", "309"]


def load_demo(*args) -> str:
    out = io.StringIO()
    call_command("load_demo", *map(str, args), stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_demo_letters_are_found_and_counted_like_any_letter_and_load_once(client):
    assert "25 new, 0 unchanged, 0 re-parsed, 0 failed" in load_demo("--letters", 25)
    letters = list(Determination.objects.all())
    assert len(letters) == 25
    assert len({letter.case_number for letter in letters}) == 25  # read from each header
    assert all(letter.date_assigned and letter.ur_date for letter in letters)

    found = client.get("/api/decisions/").json()
    assert found["count"] == DecisionItem.objects.count() > 25
    for facet in ("outcome", "sex", "injury_year"):  # every item has one of each
        assert sum(v["count"] for v in found["facets"][facet]) == found["count"], facet
    letter = letters[7]
    by_case = client.get("/api/decisions/", {"q": letter.case_number, "within": "letter"}).json()
    assert by_case["count"] == letter.items.count()
    assert {r["letter"]["case_number"] for r in by_case["results"]} == {letter.case_number}

    assert "0 new, 25 unchanged" in load_demo("--letters", 25)
    assert "5 new, 25 unchanged" in load_demo("--letters", 30)
    assert Determination.objects.count() == 30
    assert client.get("/api/decisions/").json()["count"] == DecisionItem.objects.count()


@pytest.mark.django_db
def test_load_demo_refuses_no_letters():
    with pytest.raises(CommandError, match="at least 1"):
        load_demo("--letters", 0)


@pytest.mark.django_db
def test_the_same_batch_twice_adds_nothing():
    ingest(LETTERS)
    before = counts()
    ok, out, _ = ingest(LETTERS)
    assert ok
    assert "0 new, 5 unchanged" in out
    assert counts() == before


@pytest.mark.django_db
def test_pdf_and_text_of_the_same_letters_are_five_letters(tmp_path):
    for pdf in PDFS.glob("0*.pdf"):
        shutil.copy(pdf, tmp_path / pdf.name)
    ok, out, _ = ingest(LETTERS, tmp_path)
    assert ok
    assert "5 new, 5 unchanged" in out
    assert Determination.objects.count() == 5


@pytest.mark.django_db
def test_bad_files_are_named_and_the_good_letter_lands(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "recipe.txt").write_text("Pancakes\n\nMix flour, eggs and milk. Fry.\n" * 5)
    shutil.copy(LETTERS / "003_0a410e5aa90ad013.txt", tmp_path / "good.txt")
    shutil.copy(PDFS / "scanned_no_text_layer.pdf", tmp_path / "scanned.pdf")
    ok, out, err = ingest(tmp_path)
    assert not ok
    assert "1 new, 0 unchanged, 0 re-parsed, 4 failed" in out
    for bad in ["empty.txt", "binary.txt", "recipe.txt", "scanned.pdf"]:
        assert f"{tmp_path / bad}: " in err
    assert "no text layer" in err
    assert "good.txt" not in err
    assert Determination.objects.get().items.count() == 2


@pytest.mark.django_db
def test_missing_path_is_reported_and_the_rest_lands(tmp_path):
    ok, _, err = ingest(tmp_path / "nowhere.txt", LETTERS / "000_8d260c05f392578a.txt")
    assert not ok
    assert "nowhere.txt: no such file or directory" in err
    assert Determination.objects.count() == 1


@pytest.mark.django_db
def test_zip_archives_glob_patterns_and_standard_input(tmp_path):
    archive = tmp_path / "letters.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ["000_8d260c05f392578a.txt", "001_9b5c584dd3b7d288.txt"]:
            zf.write(LETTERS / name, f"batch/{name}")
    ok, out, _ = ingest(archive)
    assert ok and "2 new" in out
    ok, out, _ = ingest(str(LETTERS / "00[23]_*.txt"))
    assert ok and "2 new" in out
    stdin = io.TextIOWrapper(io.BytesIO((LETTERS / "004_13f01ddf0738f955.txt").read_bytes()))
    ok, out, _ = ingest("-", stdin=stdin)
    assert ok and "1 new" in out
    assert Determination.objects.count() == 5
    assert Determination.objects.filter(source_name="<stdin>").exists()


@pytest.mark.django_db
def test_cp1252_text_is_read_with_a_warning(tmp_path):
    text = (
        (LETTERS / "000_8d260c05f392578a.txt")
        .read_text()
        .replace("Massachusetts", "Massachusetts\u2019")
    )
    (tmp_path / "windows.txt").write_bytes(text.encode("cp1252"))
    ok, _, err = ingest(tmp_path)
    assert ok
    assert "windows.txt" in err and "cp1252" in err
    assert "\u2019" in Determination.objects.get().full_text


@pytest.mark.django_db
def test_a_refused_batch_leaves_no_partial_letter(monkeypatch):
    from django.db import DatabaseError

    from decisions.models import CitedChapter
    from decisions.services import write

    leaf_insert = write.leaf_insert

    def refuse_chapters(model, attnames, rows):
        if model is CitedChapter and rows:
            raise DatabaseError("disk full")
        leaf_insert(model, attnames, rows)

    monkeypatch.setattr(write, "leaf_insert", refuse_chapters)
    ok, _, err = ingest(LETTERS)
    assert not ok
    assert "the database refused the letter" in err
    # Letters with no chapter citation still land; none is stored without its children.
    for letter in Determination.objects.all():
        assert letter.items.count() == len(parse_letter(letter.full_text).items)
    assert Determination.objects.count() < 5


@pytest.mark.django_db
def test_a_letter_stored_meanwhile_by_another_ingest_is_counted_not_crashed_on(monkeypatch):
    # Another process stores letter 003 after this batch looked for it: the database refuses the
    # duplicate (a real unique violation, through whatever insert path the database uses), the
    # batch falls back to one letter per transaction, and nothing is lost or doubled.
    other = Determination.objects
    real_filter = other.filter
    raced = []

    def looked_before_the_other_ingest(*args, **kwargs):
        if "content_hash__in" in kwargs and not raced:
            raced.append(True)
            list(services.letters_ingest(letters=[services.LetterInput("other.txt", THIRD)]))
            kwargs = {"content_hash__in": []}
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(other, "filter", looked_before_the_other_ingest)
    ok, out, err = ingest(LETTERS)
    assert ok, err
    assert "4 new, 1 unchanged, 0 re-parsed, 0 failed" in out
    assert Determination.objects.count() == 5
    assert DecisionItem.objects.count() == 8


THIRD = (LETTERS / "003_0a410e5aa90ad013.txt").read_text(encoding="utf-8")


def corrected_item():
    item = DecisionItem.objects.get(request="Two massage therapy sessions")
    services.correction_record(
        obj=item, changes={"outcome": (item.outcome, "upheld"), "quantity": (2, 4)}
    )
    DecisionItem.objects.filter(pk=item.pk).update(outcome="upheld", quantity=4)
    return item


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args", [["--reparse"], ["--reparse", LETTERS], [LETTERS]], ids=["all", "path", "reingest"]
)
def test_a_correction_survives_reparse_and_reingest(args):
    ingest(LETTERS)
    item = corrected_item()
    # A parsed field nobody corrected is restored by re-parsing.
    DecisionItem.objects.filter(pk=item.pk).update(rationale="garbled")
    ok, out, _ = ingest(*args)
    assert ok
    item.refresh_from_db()
    assert (item.outcome, item.quantity) == ("upheld", 4)
    assert Correction.objects.filter(object_id=item.pk).count() == 2
    if "--reparse" in args:
        assert "5 re-parsed" in out
        assert item.rationale.startswith("This patient presents with flare up")
    assert DecisionItem.objects.count() == 8


@pytest.mark.django_db
def test_a_citation_added_by_a_person_survives_reparse():
    ingest(LETTERS)
    item = DecisionItem.objects.get(request="Two massage therapy sessions")
    added = GuidelineCitation.objects.create(item=item, source="maximus", guideline_id="odg")
    services.row_mark_added(obj=added)
    ingest("--reparse")
    assert GuidelineCitation.objects.filter(pk=added.pk).exists()


@pytest.mark.django_db
def test_a_letter_the_database_refuses_on_reparse_fails_alone(monkeypatch):
    from django.db import DatabaseError

    from decisions.services import reparse

    ingest(LETTERS)
    DecisionItem.objects.update(rationale="garbled")  # every letter has something to re-parse
    refused = Determination.objects.get(source_name__endswith="003_0a410e5aa90ad013.txt")
    changed = reparse.letters_changed

    def refuse_one(*, letters):  # the last write of a letter's re-parse, in its transaction
        if refused.pk in letters:
            raise DatabaseError("disk full")
        changed(letters=letters)

    monkeypatch.setattr(reparse, "letters_changed", refuse_one)
    ok, out, err = ingest("--reparse")
    assert not ok
    assert "003_0a410e5aa90ad013.txt: re-parse failed, stored fields kept: not written" in err
    assert "disk full" in err
    assert "4 re-parsed, 1 failed" in out
    assert set(
        DecisionItem.objects.filter(determination=refused).values_list("rationale", flat=True)
    ) == {"garbled"}
    assert (
        not DecisionItem.objects.exclude(determination=refused).filter(rationale="garbled").exists()
    )


def subprocess_env():
    """Environment pointing a child process at this test's database and its media folder."""
    from django.conf import settings as django_settings

    settings = connection.settings_dict
    env = dict(os.environ, MEDIA_ROOT=str(django_settings.MEDIA_ROOT))
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{settings['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
            f"{settings['PORT'] or 5432}/{settings['NAME']}"
        )
    return env


@pytest.mark.django_db
def test_a_reparse_that_changes_nothing_writes_no_letter():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from decisions.models import IndexChange

    ok, _, _ = ingest(LETTERS)
    assert ok
    stored = Determination.objects.order_by("pk")
    with CaptureQueriesContext(connection) as ctx:
        outcomes = list(services.letters_reparse(letters=stored))
    assert [o.status for o in outcomes] == [services.REPARSED] * 5
    letter_tables = ("determination", "decisionitem", "guidelinecitation", "cited", "indexchange")
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}
        and any(f"decisions_{table}" in q["sql"] for table in letter_tables)
    ]
    assert writes == []
    assert not IndexChange.objects.exists()  # the search index has nothing to reload


@pytest.mark.django_db
def test_a_parser_fault_on_one_letter_fails_it_alone_and_says_so(monkeypatch):
    from decisions.ingest import pool

    real = pool.parse_letter

    def broken_on_003(text, vocabulary=None):
        if text == THIRD:
            raise IndexError("list index out of range")
        return real(text, vocabulary)

    monkeypatch.setattr(pool, "parse_letter", broken_on_003)
    ok, out, err = ingest(LETTERS)
    assert not ok
    assert "4 new, 0 unchanged, 0 re-parsed, 1 failed" in out
    assert "003_0a410e5aa90ad013.txt: the parser broke on this letter" in err
    assert "IndexError: list index out of range" in err
    assert Determination.objects.count() == 4
