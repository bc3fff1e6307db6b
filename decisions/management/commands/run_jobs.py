"""python manage.py run_jobs: the worker that runs the jobs queued from the admin."""

import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection

from decisions import services
from decisions.management.loading import batch_arguments_add, batch_arguments_check
from decisions.models import Job

JOB_BATCH_SIZE = 50


class Command(BaseCommand):
    help = (
        "Run the jobs queued from the admin (re-parsing every stored letter), oldest first, one "
        "at a time, then wait for more (--once: exit when none is left). A job a stopped "
        "worker left is resumed after the last batch it committed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="Run the jobs waiting, then exit (for cron)."
        )
        parser.add_argument(
            "--poll",
            type=float,
            default=5.0,
            help="Seconds between looks for a new job while idle (default 5).",
        )
        parser.add_argument(
            "--stale-after",
            type=float,
            default=services.jobs.STALE_AFTER,
            help=(
                "Seconds a running job's worker may stay silent before this one takes it over "
                f"(default {services.jobs.STALE_AFTER:.0f}; a worker that died on this host "
                "is taken over at once)."
            ),
        )
        batch_arguments_add(parser)
        # Smaller than ingest's 200: on SQLite a batch holds the write lock while it is written,
        # and a correction saved in the admin meanwhile waits for it (5 s at most, then fails).
        # 50 letters all rewritten take 1-2 s; one where an alias changed a few, milliseconds.
        parser.set_defaults(batch_size=JOB_BATCH_SIZE)

    def handle(self, *args, once, poll, stale_after, batch_size, workers, verbosity, **options):
        batch_arguments_check(batch_size=batch_size, workers=workers)
        if poll <= 0 or stale_after < 0:
            raise CommandError("--poll must be above 0 and --stale-after 0 or more.")
        worker = services.worker_name()
        failed = 0
        with _StopSignals() as stopping:
            try:
                while not stopping.requested:
                    if not connection.in_atomic_block:  # (a test's transaction: keep it)
                        close_old_connections()  # a long-lived process, as after a request
                    job = services.job_claim(worker=worker, stale_after=stale_after)
                    if job is None:
                        if once:
                            break
                        time.sleep(poll)
                        continue
                    if verbosity >= 1:
                        self.stdout.write(f"{job}: started, {job.done} of {job.total} done")
                    stopping.busy = True
                    job = services.job_run(
                        job=job,
                        worker=worker,
                        batch_size=batch_size,
                        workers=workers,
                        stop=lambda: stopping.requested,
                    )
                    stopping.busy = False
                    failed += job.state == Job.State.FAILED
                    if verbosity >= 1 or job.state == Job.State.FAILED:
                        self._report(job)
            except KeyboardInterrupt:
                self.stderr.write(
                    "Stopped at once; the job under way goes on from its last batch committed "
                    "when run_jobs runs again here (elsewhere, after --stale-after)."
                    if stopping.busy
                    else "Stopped."
                )
            if stopping.requested:
                self.stderr.write(
                    "Stopped after the batch under way; the job goes on from there when "
                    "run_jobs runs again."
                )
        if failed:
            raise CommandError(f"{failed} job(s) failed (see the admin's Jobs).")

    def _report(self, job: Job) -> None:
        rate = f" ({job.rate:.0f}/s)" if job.rate else ""
        line = (
            f"{job}: {job.get_state_display().lower()}, {job.done} of {job.total} letters in "
            f"{job.run_seconds:.1f} s{rate}, {job.failed} failed"
        )
        if job.error:
            line += f": {job.error}"
        (self.stderr if job.state == Job.State.FAILED else self.stdout).write(line)


class _StopSignals:
    """Ctrl-C, SIGTERM (a service manager stopping the worker) and SIGHUP stop the worker.

    While a job is under way the first asks it to stop after the batch it is writing, and
    the job is handed back to the queue; a second one, or one while idle, stops it at once.
    """

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __enter__(self):
        self.requested = self.busy = False
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for number in self.signals:
                if signal.getsignal(number) is not signal.SIG_IGN:  # as nohup, or a shell's &
                    self.previous[number] = signal.signal(number, self._received)
        return self

    def _received(self, number, frame):
        if self.requested or not self.busy:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc_info):
        for number, handler in self.previous.items():
            signal.signal(number, handler)
