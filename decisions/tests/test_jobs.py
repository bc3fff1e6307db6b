"""Jobs: a re-parse queued from the admin runs in ``manage.py run_jobs``, shows its progress,
and resumes after a kill from the last batch it committed, each letter re-parsed once."""

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from decisions import services
from decisions.models import BodyRegion, Determination, IndexChange, Job
from decisions.services import jobs, reparse

from .test_commands import ROOT, subprocess_env

pytestmark = pytest.mark.django_db


def run_jobs(*args):
    """``run_jobs --once`` in this process; returns (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command("run_jobs", "--once", "--workers", "0", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def stale_letters(count: int = 20) -> list[int]:
    """The sample letters and ``count`` generated ones, each with a stale field a re-parse
    restores, so every letter re-parsed is written (and logs one IndexChange); their ids."""
    list(services.demo_letters_ingest(count=count))
    Determination.objects.update(case_summary="stale")
    return list(Determination.objects.order_by("pk").values_list("pk", flat=True))


@pytest.fixture
def letters(sample_letters):
    return stale_letters()


def writes() -> Counter:
    """How many times each letter's re-parse was committed."""
    return Counter(IndexChange.objects.values_list("determination_id", flat=True))


def assert_reparsed_once(letters: list[int]) -> None:
    assert writes() == Counter(letters)
    assert not Determination.objects.filter(pk__in=letters, case_summary="stale").exists()


class Killed(BaseException):
    """The worker dying where it stands: no handler of the worker's catches it."""


def dies_at_write(monkeypatch, number: int, happens) -> None:
    """Make ``happens()`` (raise, say) as the ``number``-th letter is written, mid-batch."""
    write, calls = reparse.determination_reparse, []

    def written(**kwargs):
        calls.append(kwargs["determination"].pk)
        if len(calls) == number:
            happens()
        write(**kwargs)

    monkeypatch.setattr(reparse, "determination_reparse", written)


def watch_batches(monkeypatch, after_batch=None) -> list[tuple[int, int]]:
    """The job's (done, cursor) as committed after each batch; ``after_batch(n)`` runs then."""
    run, seen = jobs.letters_reparse, []

    def watched(**kwargs):
        done, job = 0, Job.objects.filter(pk=kwargs["batch_done"].job.pk)
        for outcome in run(**kwargs):
            state = job.values_list("done", "cursor").get()
            if state[0] != done:  # the first outcome of a batch: it has committed
                done = state[0]
                seen.append(state)
                if after_batch:
                    after_batch(len(seen))
            yield outcome

    monkeypatch.setattr(jobs, "letters_reparse", watched)
    return seen


def test_a_queued_job_waits_for_the_worker_then_reparses_every_letter(letters):
    job, created = services.job_queue()
    assert created and job.state == Job.State.QUEUED
    assert writes() == Counter()  # queuing re-parses nothing

    out, _ = run_jobs()

    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert (job.done, job.total, job.failed, job.errors) == (len(letters), len(letters), 0, [])
    assert job.cursor == letters[-1]
    assert job.started_at <= job.heartbeat_at <= job.finished_at
    assert job.run_seconds > 0 and job.rate > 0 and job.percent == 100
    assert f"done, {len(letters)} of {len(letters)} letters" in out
    assert_reparsed_once(letters)
    assert run_jobs() == ("", "")  # nothing left to do
    assert_reparsed_once(letters)


def test_progress_moves_with_each_batch_committed(letters, monkeypatch):
    seen = watch_batches(monkeypatch)
    services.job_queue()
    run_jobs("--batch-size", "10")
    assert seen == [(10, letters[9]), (20, letters[19]), (25, letters[24])]


def test_a_worker_killed_mid_batch_is_taken_over_and_resumes_from_its_cursor(letters, monkeypatch):
    def killed():
        raise Killed

    dies_at_write(monkeypatch, 6, killed)  # the second letter of the second batch of 4
    job, _ = services.job_queue()
    with pytest.raises(Killed):
        run_jobs("--batch-size", "4")
    monkeypatch.undo()

    job.refresh_from_db()
    assert job.state == Job.State.RUNNING
    assert (job.done, job.cursor) == (4, letters[3])
    assert writes() == Counter(letters[:4])  # the second batch is as it was, all of it
    assert Determination.objects.filter(case_summary="stale").count() == len(letters) - 4

    run_jobs()  # its worker (this process) is alive and was heard from just now: left alone
    job.refresh_from_db()
    assert (job.state, job.done) == (Job.State.RUNNING, 4)

    Job.objects.update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))  # silent since
    run_jobs("--batch-size", "4")
    job.refresh_from_db()
    assert (job.state, job.done, job.total) == (Job.State.DONE, len(letters), len(letters))
    assert_reparsed_once(letters)


def test_a_worker_asked_to_stop_hands_its_job_back_after_the_batch(letters, monkeypatch):
    def sigterm():  # as a service manager stopping the worker
        os.kill(os.getpid(), signal.SIGTERM)

    dies_at_write(monkeypatch, 6, sigterm)  # in the second batch of 4
    job, _ = services.job_queue()
    _, err = run_jobs("--batch-size", "4")
    monkeypatch.undo()
    assert "Stopped after the batch under way" in err
    job.refresh_from_db()
    assert (job.state, job.worker, job.done, job.cursor) == (Job.State.QUEUED, "", 8, letters[7])
    assert writes() == Counter(letters[:8])

    run_jobs("--batch-size", "4")  # at once: no heartbeat to wait out
    job.refresh_from_db()
    assert job.state == Job.State.DONE
    assert_reparsed_once(letters)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("stop", "left"),
    [(signal.SIGKILL, Job.State.RUNNING), (signal.SIGTERM, Job.State.QUEUED)],
    ids=["sigkill", "sigterm"],
)
def test_a_stopped_worker_leaves_whole_batches_and_the_next_one_finishes(
    sample_letters, tmp_path, stop, left
):
    letters = stale_letters(200)
    job, _ = services.job_queue()
    command = [sys.executable, "manage.py", "run_jobs", "--once", "--batch-size", "5"]
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        child = subprocess.Popen(
            command, cwd=ROOT, env=subprocess_env(), stdout=output, stderr=output
        )
        deadline = time.monotonic() + 120
        while Job.objects.get(pk=job.pk).done < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        child.send_signal(stop)
        child.wait(timeout=60)

    job.refresh_from_db()
    assert job.state == left, log.read_text()  # SIGTERM: handed back; SIGKILL: left running
    assert 0 < job.done < job.total == len(letters), "the stop must fall in the middle"
    committed = [pk for pk in letters if pk <= job.cursor]
    assert len(committed) == job.done
    assert writes() == Counter(committed)  # nothing of the batch it was writing
    assert Determination.objects.filter(case_summary="stale").count() == len(letters) - job.done

    run_jobs()  # at once: handed back, or its worker died on this host
    job.refresh_from_db()
    assert (job.state, job.done) == (Job.State.DONE, len(letters))
    assert_reparsed_once(letters)


def test_a_letter_that_fails_is_listed_and_the_job_goes_on(letters):
    bad = Determination.objects.get(pk=letters[2])
    Determination.objects.filter(pk=bad.pk).update(full_text="Nothing an IMR letter says.")
    job, _ = services.job_queue()
    run_jobs()
    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == (Job.State.DONE, len(letters), 1)
    [error] = job.errors
    assert (error["letter"], error["name"]) == (bad.pk, bad.source_name)
    assert error["reason"].startswith("re-parse failed, stored fields kept: no disputed item")
    assert_reparsed_once([pk for pk in letters if pk != bad.pk])
    assert Determination.objects.get(pk=bad.pk).case_summary == "stale"


def test_a_job_that_cannot_go_on_is_marked_failed_with_the_reason(letters, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the parser pool died")

    monkeypatch.setattr(jobs, "letters_reparse", broken)
    job, _ = services.job_queue()
    with pytest.raises(CommandError, match="1 job"):
        run_jobs()
    job.refresh_from_db()
    assert (job.state, job.error) == (Job.State.FAILED, "RuntimeError: the parser pool died")
    assert job.finished_at is not None


def test_queuing_again_returns_the_job_that_already_does_the_work(letters):
    job, created = services.job_queue()
    assert created
    assert services.job_queue() == (job, False)  # waiting: it reads the aliases when it starts
    assert services.job_claim(worker="elsewhere:1") == job
    assert services.job_queue() == (job, False)  # running with the aliases as they are

    # An alias added since it started: it will not reach the letters it has passed.
    BodyRegion.objects.filter(slug="shoulder").update(extra_aliases="clavicle")
    behind, created = services.job_queue()
    assert created and behind != job
    assert services.job_queue() == (behind, False)
    with pytest.raises(IntegrityError), transaction.atomic():  # nor can a race queue two
        Job.objects.create(kind=Job.Kind.REPARSE)


def test_jobs_run_one_at_a_time(letters):
    first, _ = services.job_queue()
    assert services.job_claim(worker="elsewhere:1") == first
    BodyRegion.objects.filter(slug="shoulder").update(extra_aliases="clavicle")
    second, _ = services.job_queue()
    assert services.job_claim(worker="here:2") is None  # another worker is under way
    Job.objects.filter(pk=first.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    assert services.job_claim(worker="here:2") == first  # the oldest first, taken over
    second.refresh_from_db()
    assert second.state == Job.State.QUEUED


def test_a_cancelled_job_stops_before_its_next_batch(letters, monkeypatch):
    waiting, _ = services.job_queue()
    assert services.job_cancel(job=waiting)
    assert run_jobs() == ("", "")
    assert writes() == Counter()

    running, _ = services.job_queue()
    watch_batches(monkeypatch, after_batch=lambda n: services.job_cancel(job=running))
    run_jobs("--batch-size", "10")
    running.refresh_from_db()
    assert (running.state, running.done, running.error) == (Job.State.CANCELLED, 10, "Cancelled.")
    assert writes() == Counter(letters[:10])  # the batch under way when it was cancelled: undone
    assert not services.job_cancel(job=running)  # over already
