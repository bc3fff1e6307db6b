"""Jobs: long work (re-parsing every stored letter) queued from the admin, run by a worker.

The admin only queues (``job_queue``); ``manage.py run_jobs`` claims the oldest job
(``job_claim``) and works through it (``job_run``). Jobs run one at a time: two re-parses at
once would do the same work twice, and the older one's aliases could overwrite the newer's.

A job goes through letters in id order, a batch per transaction, and records its progress
(letters done, the last letter's id as its cursor, the time) in that same transaction, so what
it says it has done is exactly what is committed. A worker killed mid-batch leaves the batch
as it was and the job ``running``; the next worker to look takes it over, at once when the
dead worker ran on its own host, otherwise once its heartbeat is older than ``stale_after``,
and resumes after the cursor. A worker asked to stop hands its job back after the batch it is
writing. Every progress write names the worker, so a worker whose job was taken over or
cancelled meanwhile cannot commit another batch of it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable
from contextlib import closing

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ..ingest import FAILED, IngestOutcome
from ..models import Determination, Job
from .reparse import letters_reparse, stored_letters
from .vocabulary import vocabulary_fingerprint

logger = logging.getLogger(__name__)

STALE_AFTER = 120.0  # seconds without progress before another host's worker takes a job over
MAX_ERRORS = 100  # failed letters listed on a job (all are counted)


class JobLost(Exception):
    """This worker no longer holds the job (cancelled, or taken over): stop working on it."""


def worker_name() -> str:
    """This process, as a job records who runs it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def job_queue(*, kind: str = Job.Kind.REPARSE, user=None) -> tuple[Job, bool]:
    """Queue a job of ``kind``, or return the one that already does that work (and False).

    A job waiting to start does it (it reads the aliases when it starts), and so does one under
    way that started with the parser and aliases as they are now. One that started before an
    alias was added does not reach the letters it has passed, so another is queued behind it.
    """
    fingerprint = vocabulary_fingerprint()
    for job in Job.objects.filter(kind=kind, state__in=Job.ACTIVE).order_by("created_at", "pk"):
        if job.started_at is None or job.vocabulary == fingerprint:
            return job, False
    job = Job(kind=kind, requested_by=user)
    job.full_clean(validate_constraints=False)  # the database's, just below, settles a race
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError:  # another request queued the same work a moment ago
        return Job.objects.get(kind=kind, state=Job.State.QUEUED, started_at__isnull=True), False
    return job, True


def job_cancel(*, job: Job, user=None) -> bool:
    """Stop a queued or running job; a running one stops before its next batch commits."""
    cancelled = Job.objects.filter(pk=job.pk, state__in=Job.ACTIVE).update(
        state=Job.State.CANCELLED,
        finished_at=timezone.now(),
        error=f"Cancelled by {user}." if user else "Cancelled.",
    )
    job.refresh_from_db()
    return bool(cancelled)


def _abandoned(job: Job, *, stale_before: dt.datetime) -> bool:
    """Whether a running job's worker has stopped: silent too long, or dead on this host."""
    if job.heartbeat_at is None or job.heartbeat_at < stale_before:
        return True
    host, _, pid = job.worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdecimal():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: is that process alive?
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _next_job(jobs: list[Job], *, stale_before: dt.datetime) -> Job | None:
    """The oldest job to take up, unless a live worker is running one."""
    running = [j for j in jobs if j.state == Job.State.RUNNING]
    if any(not _abandoned(j, stale_before=stale_before) for j in running):
        return None
    return min(jobs, key=lambda j: (j.created_at, j.pk), default=None)


def job_claim(*, worker: str, stale_after: float = STALE_AFTER) -> Job | None:
    """Take the oldest queued job, or a running one whose worker stopped; None when there is
    none to take (or another worker is running one)."""
    stale_before = timezone.now() - dt.timedelta(seconds=stale_after)
    active = Job.objects.filter(state__in=Job.ACTIVE)
    if _next_job(list(active), stale_before=stale_before) is None:
        return None  # a look without a lock first: an idle worker polls this
    with transaction.atomic():
        # Claims wait for one another on these rows (SQLite: on the write lock this
        # transaction took), so two workers never both find no job running and start two.
        job = _next_job(list(active.select_for_update()), stale_before=stale_before)
        if job is None:
            return None
        now = timezone.now()
        if job.state == Job.State.RUNNING:
            logger.warning(
                "job %s: worker %s stopped (last heard from %s); resuming after letter %s",
                job.pk,
                job.worker,
                job.heartbeat_at,
                job.cursor,
            )
        if job.started_at is None:
            job.started_at = now
            job.vocabulary = vocabulary_fingerprint()
            job.last_letter_id = Determination.objects.aggregate(last=Max("pk"))["last"] or 0
            job.total = Determination.objects.filter(pk__lte=job.last_letter_id).count()
        job.state, job.worker, job.heartbeat_at = Job.State.RUNNING, worker, now
        job.save()
    return job


class _Progress:
    """Records a job's progress in each batch's transaction (``letters_reparse``'s hook)."""

    def __init__(self, job: Job, worker: str) -> None:
        self.job, self.worker = job, worker
        self.since = time.monotonic()

    def __call__(self, letters: list[Determination], outcomes: list[IngestOutcome]) -> None:
        job = self.job
        failures = [
            {"letter": o.determination_id, "name": o.source_name, "reason": o.reason}
            for o in outcomes
            if o.status == FAILED
        ]
        now = time.monotonic()
        fields = {
            "done": job.done + len(letters),
            "failed": job.failed + len(failures),
            "errors": (job.errors + failures)[:MAX_ERRORS],
            "cursor": letters[-1].pk,
            "run_seconds": job.run_seconds + (now - self.since),
            "heartbeat_at": timezone.now(),
        }
        if not _held(job, self.worker).update(**fields):
            raise JobLost  # rolls this batch back: whoever holds the job now does it
        self.since = now
        for name, value in fields.items():
            setattr(job, name, value)


def job_run(
    *,
    job: Job,
    worker: str,
    batch_size: int = 200,
    workers: int = 0,
    stop: Callable[[], bool] = lambda: False,
) -> Job:
    """Work through a claimed job from its cursor to the end; returns it as it ended.

    A letter that fails is listed in the job's errors and the job goes on; anything else that
    stops it marks it failed with the reason. When ``stop()`` turns true (the worker was asked
    to stop), the job is handed back to the queue after the batch being written, to resume
    from there.
    """
    letters = stored_letters(after=job.cursor, up_to=job.last_letter_id, batch_size=batch_size)
    stopped = False
    try:
        with closing(
            letters_reparse(
                letters=letters,
                batch_size=batch_size,
                workers=workers,
                batch_done=_Progress(job, worker),
            )
        ) as outcomes:
            for _ in outcomes:  # each batch's outcomes come once it has committed
                if stop():
                    stopped = True
                    break
    except JobLost:
        logger.warning("job %s: %s no longer holds it", job.pk, worker)
        return _reloaded(job)
    except Exception as exc:
        logger.exception("job %s failed", job.pk)
        _finish(job, worker, Job.State.FAILED, error=f"{type(exc).__name__}: {exc}")
        return _reloaded(job)
    if stopped:
        _held(job, worker).update(state=Job.State.QUEUED, worker="", heartbeat_at=None)
    else:
        _finish(job, worker, Job.State.DONE)
    return _reloaded(job)


def _held(job: Job, worker: str):
    """The job, while this worker holds it (a fence on every write a worker makes to it)."""
    return Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, worker=worker)


def _reloaded(job: Job) -> Job:
    return Job.objects.filter(pk=job.pk).first() or job


def _finish(job: Job, worker: str, state: str, *, error: str = "") -> None:
    now = timezone.now()
    fields = {"state": state, "finished_at": now, "heartbeat_at": now, "error": error}
    if state == Job.State.DONE:
        fields["total"] = job.done  # letters deleted meanwhile were not gone through
    _held(job, worker).update(**fields)
