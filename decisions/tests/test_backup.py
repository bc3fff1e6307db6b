"""backup and restore: everything a person or an ingest made comes back, to the microsecond."""

import datetime as dt
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.management import CommandError, call_command

from decisions import services
from decisions.models import (
    Correction,
    DecisionItem,
    Determination,
    GuidelineCitation,
    IndexChange,
    Job,
)
from decisions.services.backup import VOCABULARIES, backup_tables

from .test_commands import LETTERS, PDFS, ROOT, subprocess_env

WHEN = dt.datetime(2024, 3, 5, 6, 7, 8, 123456, tzinfo=dt.UTC)
SEARCHES = ["/", "/?outcome=overturned", "/?q=therapy", "/?treatment=physical_therapy"]


def run(command: str, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def stored():
    """The sample letters from their PDFs, corrected, added to and reviewed by a person."""
    run("ingest_letters", LETTERS, *sorted(PDFS.glob("0*.pdf")), "--workers", "0")
    run("load_demo", "--letters", "20", "--workers", "0")
    editor = User.objects.create_user("editor", "editor@example.com", "pw", first_name="Ed")
    editor.groups.add(Group.objects.get(name="Editors"))
    editor.user_permissions.add(Permission.objects.get(codename="cancel_job"))
    Group.objects.create(name="Auditors").permissions.add(
        Permission.objects.get(codename="view_correction")
    )

    item = DecisionItem.objects.get(request="Two massage therapy sessions")
    services.correction_record(
        obj=item, changes={"outcome": (item.outcome, "upheld"), "quantity": (2, 4)}, user=editor
    )
    DecisionItem.objects.filter(pk=item.pk).update(outcome="upheld", quantity=4)
    letter = item.determination
    services.correction_record(
        obj=letter, changes={"patient_age": (letter.patient_age, 61)}, user=editor
    )
    Determination.objects.filter(pk=letter.pk).update(patient_age=61)
    added = GuidelineCitation.objects.create(item=item, source="maximus", guideline_id="odg")
    services.row_mark_added(obj=added, user=editor)
    services.letter_mark_reviewed(letter=letter, user=editor)
    Correction.objects.filter(field="quantity").update(created_at=WHEN)
    return {"item": item, "letter": letter, "added": added, "editor": editor}


def snapshot() -> dict:
    """Every row backed up, as the database gives it back, with the users' groups by name."""
    rows = {m._meta.label: list(m._base_manager.order_by("pk").values()) for m in backup_tables()}
    rows["groups"] = {
        g.name: sorted(g.permissions.values_list("codename", flat=True))
        for g in Group.objects.all()
    }
    rows["user links"] = {
        u.username: (
            sorted(u.groups.values_list("name", flat=True)),
            sorted(u.user_permissions.values_list("codename", flat=True)),
        )
        for u in User.objects.all()
    }
    return rows


def _without_tokens(page: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page.decode())


def seen(client) -> dict:
    """What a person sees: each letter's page and original file, searches and their counts."""
    shown = {}
    for letter in Determination.objects.order_by("pk"):  # generated letters have no file
        page = client.get(f"/letters/{letter.key}/")
        assert page.status_code == 200, letter.key
        shown[letter.key] = _without_tokens(page.content)
        if letter.original:
            original = client.get(f"/letters/{letter.key}/original")
            assert original.status_code == 200, letter.key
            shown[letter.key + " original"] = b"".join(original.streaming_content)
    for search in SEARCHES:
        shown[search] = _without_tokens(client.get(search).content)
        api = client.get("/api/decisions/" + search.removeprefix("/")).json()
        shown["api " + search] = (api["count"], api["facets"])
    return shown


def wipe() -> None:
    """Empty the database as a new one is (a migrate leaves the Editors group) and the files."""
    Determination.objects.all().delete()
    for vocabulary in VOCABULARIES:
        vocabulary.objects.all().delete()
    User.objects.all().delete()
    Group.objects.exclude(name="Editors").delete()
    Group.objects.get(name="Editors").permissions.clear()
    IndexChange.objects.all().delete()
    Job.objects.all().delete()
    shutil.rmtree(settings.MEDIA_ROOT)
    assert not any(m._base_manager.exists() for m in backup_tables())


def stored_files() -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


@pytest.mark.django_db
def test_a_restore_gives_back_every_row_correction_and_file(client, stored, tmp_path):
    before, shown = snapshot(), seen(client)
    files = {p.relative_to(settings.MEDIA_ROOT): p.read_bytes() for p in stored_files()}
    assert len(files) == 5 and all(n.suffix == ".pdf" for n in files)
    archive = tmp_path / "imr.zip"
    out, err = run("backup", archive)
    assert "25 letters, 40 decisions, 4 corrections, 5 original files" in out
    assert "backed up decisions.determination: 25 of 25 rows" in err

    wipe()
    assert client.get(f"/letters/{stored['letter'].key}/").status_code == 404
    out, err = run("restore", archive)
    assert "decisions.determination: 25" in out and "files: 5" in out
    assert "every count matches its manifest" in out
    assert "restored original files: 5 of 5 files" in err

    after = snapshot()
    for table, rows in before.items():
        assert after[table] == rows, table  # every row, every field, ids included
    assert seen(client) == shown
    assert {p.relative_to(settings.MEDIA_ROOT): p.read_bytes() for p in stored_files()} == files

    # What was corrected, by whom and when, as a person would check it.
    item = DecisionItem.objects.get(pk=stored["item"].pk)
    assert (item.outcome, item.quantity) == ("upheld", 4)
    assert sorted(item.corrected_fields) == ["outcome", "quantity"]
    letter = Determination.objects.get(pk=stored["letter"].pk)
    assert (letter.patient_age, letter.corrected_fields) == (61, ["patient_age"])
    assert letter.reviewed_by.username == "editor"
    assert letter.reviewed_at == stored["letter"].__class__.objects.get(pk=letter.pk).reviewed_at
    assert GuidelineCitation.objects.get(pk=stored["added"].pk).corrected_fields == ["*"]
    log = {
        (c.model, c.object_id, c.field): (c.old_value, c.new_value, c.user.username, c.created_at)
        for c in Correction.objects.select_related("user")
    }
    assert log[("decisionitem", item.pk, "quantity")] == (2, 4, "editor", WHEN)
    assert log[("decisionitem", item.pk, "quantity")][3].microsecond == 123456
    assert log[("decisionitem", item.pk, "outcome")][:3] == ("overturned", "upheld", "editor")
    assert log[("determination", letter.pk, "patient_age")][1:3] == (61, "editor")
    assert log[("guidelinecitation", stored["added"].pk, "*")][2] == "editor"
    editor = User.objects.get(username="editor")
    assert editor.check_password("pw") and editor.has_perm("decisions.cancel_job")
    assert editor.has_perm("decisions.change_decisionitem")  # through the Editors group

    # New rows get new ids after the restored ones (the sequences moved on).
    run("ingest_letters", LETTERS / "000_8d260c05f392578a.txt")  # stored already: nothing new
    new = User.objects.create_user("second")
    assert new.pk > editor.pk


def _backup(tmp_path) -> Path:
    archive = tmp_path / "imr.zip"
    run("backup", archive, "-v", "0")
    return archive


@pytest.mark.django_db
def test_restore_refuses_a_database_that_holds_letters(stored, tmp_path):
    archive = _backup(tmp_path)
    before = snapshot()
    with pytest.raises(CommandError, match=r"already holds 25 letters, 40 decisions, 4 corr"):
        run("restore", archive)
    assert snapshot() == before


@pytest.mark.django_db
def test_backup_never_overwrites_a_file(stored, tmp_path):
    archive = _backup(tmp_path)
    with pytest.raises(CommandError, match="exists: name a new file"):
        run("backup", archive)


def _assert_left_empty() -> None:
    assert not any(m._base_manager.exists() for m in backup_tables())
    assert stored_files() == []


@pytest.mark.django_db
def test_a_truncated_archive_is_refused_and_nothing_is_written(stored, tmp_path):
    archive = _backup(tmp_path)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    wipe()
    with pytest.raises(CommandError, match=r"cut\.zip is not a whole backup archive \(trunc"):
        run("restore", cut)
    _assert_left_empty()


@pytest.mark.django_db
def test_a_damaged_archive_names_the_member_and_leaves_the_database_empty(stored, tmp_path):
    """The vocabularies, the users and most files are written before the damage is read:
    the transaction takes all of it back, and the files written are removed."""
    archive = _backup(tmp_path)
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("data/decisions.correction.jsonl")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF  # one byte of its compressed rows
    archive.write_bytes(bytes(data))
    wipe()
    with pytest.raises(CommandError, match=r"damaged in data/decisions\.correction\.jsonl"):
        run("restore", archive)
    _assert_left_empty()


@pytest.mark.django_db
def test_an_archive_of_another_schema_is_refused(stored, tmp_path):
    archive = _backup(tmp_path)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(archive) as zf, zipfile.ZipFile(other, "w") as out:
        for info in zf.infolist():
            data = zf.read(info)
            if info.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["migrations"]["decisions"].append("0099_future")
                data = json.dumps(manifest).encode()
            out.writestr(info, data)
    wipe()
    with pytest.raises(CommandError, match=r"lacks \(decisions: 0099_future\): run `manage.py"):
        run("restore", other)
    _assert_left_empty()


@pytest.mark.django_db
def test_a_backup_made_by_another_database_restores_here(client, tmp_path):
    """Made in a child process on a SQLite file of its own (the other engine when this suite
    runs on PostgreSQL), restored here: the letters, their files and their searches."""
    env = subprocess_env()
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'other.sqlite3'}", MEDIA_ROOT=str(tmp_path))
    archive = tmp_path / "other.zip"
    for command in (
        ["migrate", "-v", "0"],
        ["ingest_letters", *map(str, sorted(PDFS.glob("0*.pdf"))), "--workers", "0"],
        ["backup", str(archive), "-v", "0"],
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, timeout=300
        )
    out, _ = run("restore", archive)
    assert "decisions.determination: 5" in out and "decisions.decisionitem: 8" in out
    pdfs = {p.read_bytes() for p in PDFS.glob("0*.pdf")}
    for letter in Determination.objects.all():
        original = client.get(f"/letters/{letter.key}/original")
        assert b"".join(original.streaming_content) in pdfs
    assert client.get("/api/decisions/").json()["count"] == 8
    assert client.get("/api/decisions/?q=therapy").json()["count"] >= 1
