"""python manage.py parse_letter FILE [FILE ...]: print the parsed JSON, touching no database."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from decisions.ingest.decode import text_from_bytes
from decisions.parsing import ParseError, parse_letter


class Command(BaseCommand):
    help = (
        "Parse IMR letters (.txt or .pdf) and print their fields as JSON: one object for one "
        "file, an array for several. Touches no database."
    )
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")

    def handle(self, *args, files, **options):
        results, failed = [], 0
        for name in files:
            try:
                text, _ = text_from_bytes(Path(name).read_bytes(), name)
                results.append(parse_letter(text).to_dict())
            except (OSError, ParseError) as exc:
                failed += 1
                reason = exc.reason if isinstance(exc, ParseError) else exc.strerror or str(exc)
                self.stderr.write(f"{name}: {reason}")
        if results:
            payload = results[0] if len(files) == 1 else results
            self.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False))
        if failed:
            raise CommandError(
                f"{failed} of {len(files)} files could not be parsed (listed above)."
            )
