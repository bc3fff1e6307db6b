"""python manage.py load_demo [--letters N] [--seed S]: generated letters, to see it at scale."""

from django.core.management.base import BaseCommand, CommandError

from decisions import services
from decisions.management.loading import (
    batch_arguments_add,
    batch_arguments_check,
    outcomes_report,
)


class Command(BaseCommand):
    help = (
        "Generate letters in the sample letters' wording, with their own headers, requests, "
        "dates and outcomes (demo data, not real IMR decisions), and ingest them as "
        "ingest_letters does. Running it again with the same seed adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--letters",
            type=int,
            default=services.DEMO_LETTERS,
            metavar="N",
            help=f"How many letters (default {services.DEMO_LETTERS}).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=services.DEMO_SEED,
            help=(
                "Another seed generates other letters, added beside those already loaded "
                f"(default {services.DEMO_SEED})."
            ),
        )
        batch_arguments_add(parser)

    def handle(self, *args, letters, seed, batch_size, workers, verbosity, **options):
        if letters < 1:
            raise CommandError("--letters must be at least 1.")
        batch_arguments_check(batch_size=batch_size, workers=workers)
        outcomes = services.demo_letters_ingest(
            count=letters, seed=seed, batch_size=batch_size, workers=workers
        )
        outcomes_report(self, outcomes, verbosity=verbosity, total=letters)
