"""Shared by the commands that load letters (ingest_letters, load_demo): the options for how
they are written, and what is printed while they are (progress, each failure, the counts)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import reset_queries

from decisions import services


def batch_arguments_add(parser) -> None:
    """``--batch-size`` and ``--workers``, as ``services.letters_ingest`` takes them."""
    parser.add_argument(
        "--batch-size", type=int, default=200, help="Letters written per transaction."
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1 if (os.cpu_count() or 1) > 1 else 0,
        help=(
            "Processes that parse the next batch while this one is written "
            "(default: 1 on a machine with more than one core; 0 parses in this process)."
        ),
    )


def batch_arguments_check(*, batch_size: int, workers: int) -> None:
    if batch_size < 1:
        raise CommandError("--batch-size must be at least 1.")
    if workers < 0:
        raise CommandError("--workers must be 0 or more.")


class Progress:
    """A bar on a terminal, a plain line every few seconds otherwise, nothing at -v 0."""

    def __init__(self, stream, verbosity: int, total: int | None = None) -> None:
        self.stream, self.count, self.started = stream, 0, time.monotonic()
        self.last_line = self.started
        self.bar = None
        self.enabled = verbosity >= 1
        if self.enabled and stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="letter", file=stream, dynamic_ncols=True)

    def step(self) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.update()
        elif self.enabled and time.monotonic() - self.last_line >= 5:
            self.last_line = time.monotonic()
            rate = self.count / (self.last_line - self.started)
            self.stream.write(f"... {self.count} letters ({rate:.0f}/s)\n")
            self.stream.flush()

    def close(self) -> float:
        if self.bar is not None:
            self.bar.close()
        return time.monotonic() - self.started


def outcomes_report(
    command: BaseCommand,
    outcomes: Iterable[services.IngestOutcome],
    *,
    verbosity: int,
    total: int | None = None,
) -> None:
    """Consume ``outcomes`` with progress on stderr, naming each failure there with its reason
    (and each note at -v 1), then one line of counts on stdout; a CommandError if any failed,
    or if the ingest stopped (the counts then are of the inputs before)."""
    progress = Progress(command.stderr._out, verbosity, total)
    counts = dict.fromkeys(
        [services.NEW, services.UNCHANGED, services.REPARSED, services.FAILED], 0
    )
    stopped = None
    try:
        for outcome in outcomes:
            if settings.DEBUG:
                reset_queries()  # DEBUG keeps every SQL statement: memory must not grow
            counts[outcome.status] += 1
            progress.step()
            if outcome.status == services.FAILED:
                command.stderr.write(f"{outcome.source_name}: {outcome.reason}")
            elif verbosity >= 1:
                for note in outcome.notes:
                    command.stderr.write(f"{outcome.source_name}: {note}")
    except services.IngestStopped as exc:  # the counts so far, then why it stopped
        stopped = exc
    seconds = progress.close()

    done = sum(counts.values())
    if verbosity >= 1:
        command.stdout.write(
            f"{done} letters in {seconds:.1f} s ({done / seconds if seconds else 0:.0f}/s): "
            f"{counts['new']} new, {counts['unchanged']} unchanged, "
            f"{counts['reparsed']} re-parsed, {counts['failed']} failed."
        )
    if stopped is not None:
        raise CommandError(f"Ingest stopped after {done} inputs: {stopped}")
    if counts[services.FAILED]:
        raise CommandError(f"{counts[services.FAILED]} of {done} inputs failed (listed above).")
