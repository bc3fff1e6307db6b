"""Faults during an ingest: killed, connection cut, a second run at once, the disk full.

Under each: no partial letter (every stored letter has exactly its parsed items and citations),
no duplicate, a clear message, and a rerun that completes with exact counts. Each test first
proves its fault fell in the middle of the run, so none can pass by missing it.
"""

import io
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection

from decisions import lettergen
from decisions.models import Determination
from decisions.parsing import parse_letter

from .test_commands import ROOT, subprocess_env

BATCH = "50"
SUMMARY = re.compile(r"(\d+) new, (\d+) unchanged, (\d+) re-parsed, (\d+) failed")


def command(*paths) -> list[str]:
    return [sys.executable, "manage.py", "ingest_letters", *map(str, paths), "--batch-size", BATCH]


def summary(stdout: str) -> tuple[int, int, int, int]:
    """The command's line of counts: (new, unchanged, re-parsed, failed)."""
    found = SUMMARY.search(stdout)
    assert found, stdout
    return tuple(int(n) for n in found.groups())


def ingest(*args) -> tuple[bool, str, str]:
    """Run the command in this process: (exit ok?, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ingest_letters", *map(str, args), stdout=out, stderr=err)
    except CommandError as exc:
        err.write(str(exc))
        return False, out.getvalue(), err.getvalue()
    return True, out.getvalue(), err.getvalue()


def assert_whole_and_single() -> None:
    """Every stored letter has exactly its parsed items and citations, and its original file;
    no letter is stored twice (by content or by key)."""
    letters = list(Determination.objects.prefetch_related("items__citations"))
    assert len({letter.content_hash for letter in letters}) == len(letters)
    assert len({letter.key for letter in letters}) == len(letters)
    media = Path(settings.MEDIA_ROOT)
    for letter in letters:
        parsed = parse_letter(letter.full_text)
        items = list(letter.items.all())
        assert len(items) == len(parsed.items), letter.source_name
        for stored, fresh in zip(items, parsed.items, strict=True):
            assert len(stored.citations.all()) == len(
                {(c.source, c.guideline) for c in fresh.citations}
            )
        assert (media / letter.original.name).is_file(), letter.source_name


def assert_rerun_completes(folder: Path, env: dict, *, stored: int) -> None:
    """The same command run again stores the rest: exact counts, every letter whole."""
    total = sum(1 for _ in folder.iterdir())
    rerun = subprocess.run(
        command(folder), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert summary(rerun.stdout) == (total - stored, stored, 0, 0)
    assert Determination.objects.count() == total
    assert_whole_and_single()


def generated(tmp_path, count: int) -> Path:
    folder = tmp_path / "letters"
    lettergen.write(folder, count, header=False)
    return folder


def require_sqlite_file() -> None:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        pytest.fail("the SQLite test database must be a file for this test (see settings)")


def letter_write(sql: str, params) -> bool:
    """Whether a statement is the first write of letters (of a batch, or of one letter): their
    INSERT, or on PostgreSQL the draw of their keys before the COPY (which no wrapper sees)."""
    table = Determination._meta.db_table
    if sql.startswith(f'INSERT INTO "{table}"'):
        return True
    return "nextval(pg_get_serial_sequence" in sql and bool(params) and params[0] == table


# --- killed ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_killed_ingest_leaves_no_partial_letter_and_a_rerun_completes(tmp_path):
    require_sqlite_file()
    folder = generated(tmp_path, 1500)
    env = subprocess_env()
    child = subprocess.Popen(command(folder), cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while Determination.objects.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    landed = Determination.objects.count()
    assert 0 < landed < 1500, "the kill must fall in the middle of the batch"
    assert_whole_and_single()

    assert_rerun_completes(folder, env, stored=landed)


# --- the database connection cut -------------------------------------------------------------


class Cut:
    """Cuts this process's database connection at the first write of letters once ``after``
    letters are stored, ``times`` times running: the client's handle is closed under Django,
    as a server gone away leaves it (an SQLite file handle closed mid-transaction loses that
    transaction as a server's cut does), and the driver's error for it is raised."""

    def __init__(self, *, after: int, times: int) -> None:
        self.after, self.times = after, times
        self.stored_at_cut: list[int] = []

    def __call__(self, execute, sql, params, many, context):
        if len(self.stored_at_cut) < self.times and letter_write(sql, params):
            stored = Determination.objects.count()
            if stored >= self.after:
                self.stored_at_cut.append(stored)
                connection.connection.close()
                raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


@pytest.mark.django_db(transaction=True)
def test_a_connection_cut_mid_batch_is_logged_and_the_batch_written_again(tmp_path, caplog):
    folder = generated(tmp_path, 300)
    cut = Cut(after=100, times=1)
    with caplog.at_level(logging.WARNING), connection.execute_wrapper(cut):
        ok, out, err = ingest(folder, "--batch-size", BATCH, "--workers", "0")
    assert cut.stored_at_cut == [100], "the cut must fall in the middle of the run"
    assert ok, err
    assert summary(out) == (300, 0, 0, 0)
    lost = [r.getMessage() for r in caplog.records if "connection lost" in r.getMessage()]
    assert lost == [
        "database connection lost during a batch of 50 letters (server closed the connection "
        "unexpectedly); reconnecting and retrying the batch"
    ]
    assert Determination.objects.count() == 300
    assert_whole_and_single()


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_again_stops_the_ingest_with_the_letters_stored_whole(tmp_path):
    folder = generated(tmp_path, 300)
    cut = Cut(after=100, times=2)
    with connection.execute_wrapper(cut):
        ok, out, err = ingest(folder, "--batch-size", BATCH, "--workers", "0")
    assert cut.stored_at_cut == [100, 100]
    assert not ok
    assert summary(out) == (100, 0, 0, 0)  # the batches before it
    assert "Ingest stopped after 100 inputs: the database connection was lost again" in err
    assert "run the same command again to store the rest" in err
    assert Determination.objects.count() == 100
    assert_whole_and_single()

    ok, out, err = ingest(folder, "--batch-size", BATCH, "--workers", "0")
    assert ok, err
    assert summary(out) == (200, 100, 0, 0)
    assert_whole_and_single()


@pytest.mark.django_db(transaction=True)
def test_a_real_connection_cut_mid_batch_is_logged_and_a_rerun_completes(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server connection to cut; the simulated cut above runs on both")
    folder = generated(tmp_path, 1500)
    name = f"faults-ingest-{os.getpid()}"  # only this child's backend is cut
    env = dict(subprocess_env(), PGAPPNAME=name)
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    child = subprocess.Popen(command(folder), cwd=ROOT, env=env, **pipes)
    try:
        deadline = time.monotonic() + 120
        while Determination.objects.count() < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = %s",
                [name],
            )
            terminated = [ok for (ok,) in cursor.fetchall()]
        landed = Determination.objects.count()
        out, err = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert terminated == [True], "the child's connection must have been cut"
    assert 100 <= landed < 1500, "the cut must fall in the middle of the run"
    assert re.search(
        r"database connection lost during a batch of 50 letters \(.+\); "
        r"reconnecting and retrying the batch",
        err,
    ), err[-2000:]
    if child.returncode == 0:  # the batch was written again on a new connection
        new, unchanged, _, failed = summary(out)
        assert (new + unchanged, failed) == (1500, 0)  # unchanged: a cut after its commit
    else:
        assert "Ingest stopped after" in err, err[-2000:]
    stored = Determination.objects.count()
    assert_whole_and_single()

    assert_rerun_completes(folder, env, stored=stored)


# --- a second run at once --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_ingests_of_the_same_letters_at_once_store_each_letter_once(tmp_path):
    require_sqlite_file()
    folder = generated(tmp_path, 1500)
    paths = sorted(folder.iterdir())
    env = subprocess_env()
    # One from the first letter, one from the last: each stores some before they meet in the
    # middle, where both try to store the same letters at the same moment.
    runs = [
        subprocess.Popen(
            command(*order),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for order in (paths, paths[::-1])
    ]
    try:
        results = [run.communicate(timeout=300) for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    for run, (_, err) in zip(runs, results, strict=True):
        assert run.returncode == 0, err[-2000:]
    counts = [summary(out) for out, _ in results]
    assert all(new > 0 for new, *_ in counts), f"both must have run at once: {counts}"
    assert sum(c[0] for c in counts) == 1500  # each letter new to one run
    assert sum(c[1] for c in counts) == 1500  # and unchanged to the other
    assert all(c[3] == 0 for c in counts)
    assert Determination.objects.count() == 1500
    assert_whole_and_single()


# --- the disk full ---------------------------------------------------------------------------


class DiskFull:
    """The database's disk fills up once ``after`` letters are stored: every write of letters
    from then on is refused with the engine's own error, until space is freed."""

    MESSAGE = {
        "sqlite": "database or disk is full",
        "postgresql": 'could not extend file "base/16384/16402": No space left on device',
    }

    def __init__(self, *, after: int) -> None:
        self.after, self.refused = after, 0

    def __call__(self, execute, sql, params, many, context):
        if letter_write(sql, params) and Determination.objects.count() >= self.after:
            self.refused += 1
            raise OperationalError(self.MESSAGE[connection.vendor])
        return execute(sql, params, many, context)


@pytest.mark.django_db(transaction=True)
def test_a_full_disk_fails_the_letters_it_refuses_by_name_and_a_rerun_completes(tmp_path):
    folder = generated(tmp_path, 300)
    full = DiskFull(after=100)
    with connection.execute_wrapper(full):
        ok, out, err = ingest(folder, "--batch-size", BATCH, "--workers", "0")
    assert full.refused > 0, "the disk must fill in the middle of the run"
    assert not ok
    assert summary(out) == (100, 0, 0, 200)
    assert "200 of 300 inputs failed (listed above)" in err
    stored = set(Determination.objects.values_list("source_name", flat=True))
    assert len(stored) == 100
    reason = f"the database refused the letter: {DiskFull.MESSAGE[connection.vendor]}"
    refused = {line.split(": ", 1)[0] for line in err.splitlines() if line.endswith(reason)}
    assert refused == {str(path) for path in folder.iterdir()} - stored
    assert_whole_and_single()
    # The files of the letters refused are not left behind.
    files = {p.name for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}
    assert files == {Path(n).name for n in Determination.objects.values_list("original", flat=True)}

    ok, out, err = ingest(folder, "--batch-size", BATCH, "--workers", "0")  # space freed
    assert ok, err
    assert summary(out) == (200, 100, 0, 0)
    assert Determination.objects.count() == 300
    assert_whole_and_single()
