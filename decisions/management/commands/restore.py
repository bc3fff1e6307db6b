"""python manage.py restore PATH: an archive of `manage.py backup` into an empty database."""

from django.core.management.base import BaseCommand, CommandError

from decisions import services


class Command(BaseCommand):
    help = (
        "Restore an archive written by `manage.py backup` into an empty database (SQLite or "
        "PostgreSQL, whichever it was made on), and its original files into storage: in one "
        "transaction, checked against the archive's manifest before it commits. Refuses a "
        "database that holds letters or users, and an archive that is damaged or made for "
        "another schema, leaving the database as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH", help="The archive `manage.py backup` wrote.")
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Rows written to the database at a time."
        )

    def handle(self, *args, path, batch_size, verbosity, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        progress = self.stderr.write if verbosity >= 1 else None
        try:
            counts = services.backup_restore(path=path, batch_size=batch_size, progress=progress)
        except services.BackupError as exc:
            raise CommandError(f"Nothing restored: {exc}") from exc
        if verbosity >= 1:
            for label, n in counts.items():
                self.stdout.write(f"{label}: {n:,}")
            self.stdout.write(f"Restored {path}; every count matches its manifest.")
