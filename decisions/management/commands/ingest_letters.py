"""python manage.py ingest_letters PATH [PATH ...]: parse letters and store them."""

import os
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import reset_queries

from decisions import services
from decisions.ingest import read_letters
from decisions.models import Determination


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


class Command(BaseCommand):
    help = (
        "Parse IMR letters (.txt or .pdf files, directories, glob patterns, .zip archives, or - "
        "for standard input) and store them. A letter already stored is left as it is, unless "
        "--reparse. Bad files are reported and the rest still land."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", metavar="PATH")
        parser.add_argument(
            "--reparse",
            action="store_true",
            help=(
                "Re-parse letters already stored (all of them when no PATH is given), keeping "
                "every field a person corrected."
            ),
        )
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

    def handle(self, *args, paths, reparse, batch_size, workers, verbosity, **options):
        if not paths and not reparse:
            raise CommandError("Name at least one PATH (a file, directory, pattern, .zip or -).")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if workers < 0:
            raise CommandError("--workers must be 0 or more.")
        if paths:
            outcomes = services.letters_ingest(
                letters=read_letters(paths, sys.stdin.buffer),
                reparse=reparse,
                batch_size=batch_size,
                workers=workers,
            )
            total = None
        else:
            stored = Determination.objects.order_by("pk")
            total = stored.count()
            outcomes = services.letters_reparse(
                letters=stored.iterator(chunk_size=batch_size),
                batch_size=batch_size,
                workers=workers,
            )

        progress = Progress(self.stderr._out, verbosity, total)
        counts = dict.fromkeys(
            [services.NEW, services.UNCHANGED, services.REPARSED, services.FAILED], 0
        )
        for outcome in outcomes:
            if settings.DEBUG:
                reset_queries()  # DEBUG keeps every SQL statement: memory must not grow
            counts[outcome.status] += 1
            progress.step()
            if outcome.status == services.FAILED:
                self.stderr.write(f"{outcome.source_name}: {outcome.reason}")
            elif verbosity >= 1:
                for note in outcome.notes:
                    self.stderr.write(f"{outcome.source_name}: {note}")
        seconds = progress.close()

        done = sum(counts.values())
        if verbosity >= 1:
            self.stdout.write(
                f"{done} letters in {seconds:.1f} s ({done / seconds if seconds else 0:.0f}/s): "
                f"{counts['new']} new, {counts['unchanged']} unchanged, "
                f"{counts['reparsed']} re-parsed, {counts['failed']} failed."
            )
        if counts[services.FAILED]:
            raise CommandError(f"{counts[services.FAILED]} of {done} inputs failed (listed above).")
