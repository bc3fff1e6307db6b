"""python manage.py backup PATH: every letter, correction, user and original file in one archive."""

import os

from django.core.management.base import BaseCommand, CommandError

from decisions import services


class Command(BaseCommand):
    help = (
        "Write one zip archive holding every letter with its items, citations and corrections, "
        "the vocabularies, the users, groups and permissions, and the letters' original files, "
        "with a manifest that `manage.py restore` checks. It reads one snapshot of the database "
        "and streams it, whatever its size; progress goes to standard error."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH", help="The archive to write (e.g. imr.zip).")
        parser.add_argument(
            "--chunk-size", type=int, default=2000, help="Rows read from the database at a time."
        )

    def handle(self, *args, path, chunk_size, verbosity, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        if os.path.exists(path):
            raise CommandError(f"{path} exists: name a new file (a backup never overwrites one).")
        progress = self.stderr.write if verbosity >= 1 else None
        try:
            manifest = services.backup_write(path=path, chunk_size=chunk_size, progress=progress)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc}") from exc
        if verbosity >= 1:
            tables = manifest["tables"]
            files = manifest["files"]
            self.stdout.write(
                f"{path}: {tables['decisions.determination']['rows']:,} letters, "
                f"{tables['decisions.decisionitem']['rows']:,} decisions, "
                f"{tables['decisions.correction']['rows']:,} corrections, "
                f"{files['count']:,} original files ({os.path.getsize(path):,} bytes)."
            )
            for name in files["missing"]:
                self.stderr.write(f"{name}: a letter's original file is not in storage; left out.")
