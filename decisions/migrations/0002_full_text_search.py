"""Full-text search of letters, in each database's own engine (see decisions/search.py).

PostgreSQL: a stored, generated tsvector of the letter text with a GIN index, so the index is
always in step with the text and no application code writes it. SQLite: an FTS5 table over the
letter text (external content, porter stemming), kept in step by triggers.
Neither is a model field: the ORM never reads or writes them; decisions/search.py queries them.
"""

from django.db import migrations

POSTGRES = [
    (
        "ALTER TABLE decisions_determination ADD COLUMN search_vector tsvector "
        "GENERATED ALWAYS AS (to_tsvector('english', full_text)) STORED",
        "ALTER TABLE decisions_determination DROP COLUMN search_vector",
    ),
    (
        "CREATE INDEX determination_search_gin ON decisions_determination USING gin (search_vector)",
        "DROP INDEX IF EXISTS determination_search_gin",
    ),
]

SQLITE = [
    (
        "CREATE VIRTUAL TABLE decisions_determination_fts USING fts5(full_text, "
        "content='decisions_determination', content_rowid='id', tokenize='porter unicode61')",
        "DROP TABLE IF EXISTS decisions_determination_fts",
    ),
    (
        "CREATE TRIGGER decisions_determination_fts_insert AFTER INSERT ON decisions_determination "
        "BEGIN INSERT INTO decisions_determination_fts(rowid, full_text) "
        "VALUES (new.id, new.full_text); END",
        "DROP TRIGGER IF EXISTS decisions_determination_fts_insert",
    ),
    (
        "CREATE TRIGGER decisions_determination_fts_delete AFTER DELETE ON decisions_determination "
        "BEGIN INSERT INTO decisions_determination_fts(decisions_determination_fts, rowid, "
        "full_text) VALUES ('delete', old.id, old.full_text); END",
        "DROP TRIGGER IF EXISTS decisions_determination_fts_delete",
    ),
    (
        "CREATE TRIGGER decisions_determination_fts_update AFTER UPDATE OF full_text "
        "ON decisions_determination BEGIN "
        "INSERT INTO decisions_determination_fts(decisions_determination_fts, rowid, full_text) "
        "VALUES ('delete', old.id, old.full_text); "
        "INSERT INTO decisions_determination_fts(rowid, full_text) "
        "VALUES (new.id, new.full_text); END",
        "DROP TRIGGER IF EXISTS decisions_determination_fts_update",
    ),
    (
        "INSERT INTO decisions_determination_fts(decisions_determination_fts) VALUES ('rebuild')",
        None,
    ),
]


def _statements(vendor: str) -> list[tuple[str, str | None]]:
    return {"postgresql": POSTGRES, "sqlite": SQLITE}.get(vendor, [])


def forwards(apps, schema_editor):
    for create, _ in _statements(schema_editor.connection.vendor):
        schema_editor.execute(create)


def backwards(apps, schema_editor):
    for _, drop in reversed(_statements(schema_editor.connection.vendor)):
        if drop:
            schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("decisions", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
