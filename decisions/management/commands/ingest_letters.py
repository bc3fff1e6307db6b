"""python manage.py ingest_letters PATH [PATH ...]: parse letters and store them."""

import sys

from django.core.management.base import BaseCommand, CommandError

from decisions import services
from decisions.ingest import read_letters
from decisions.management.loading import (
    batch_arguments_add,
    batch_arguments_check,
    outcomes_report,
)
from decisions.models import Determination


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
        batch_arguments_add(parser)

    def handle(self, *args, paths, reparse, batch_size, workers, verbosity, **options):
        if not paths and not reparse:
            raise CommandError("Name at least one PATH (a file, directory, pattern, .zip or -).")
        batch_arguments_check(batch_size=batch_size, workers=workers)
        if paths:
            outcomes = services.letters_ingest(
                letters=read_letters(paths, sys.stdin.buffer),
                reparse=reparse,
                batch_size=batch_size,
                workers=workers,
            )
            total = None
        else:
            total = Determination.objects.count()
            outcomes = services.letters_reparse(  # as a job queued from the admin does
                letters=services.stored_letters(batch_size=batch_size),
                batch_size=batch_size,
                workers=workers,
            )

        outcomes_report(self, outcomes, verbosity=verbosity, total=total)
