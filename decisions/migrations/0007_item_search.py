"""Full-text search of each disputed item: its request, rationale and citations.

A search for "lumbar physical therapy" should find the therapy decisions, not every decision of a
letter that mentions therapy somewhere. Each item gets its own index, in each database's engine:

PostgreSQL: two stored, generated tsvectors with GIN indexes: one of the request alone (the
best matches, ranked first) and one of request, rationale and citations. SQLite: an FTS5 table
over the same three columns (external content, porter stemming), kept in step by triggers that
``decisions.search.index_repair`` remakes after table rebuilds.
"""

from django.db import migrations, models

ITEM_VECTOR = (
    "to_tsvector('english', request || ' ' || rationale || ' ' || citations_text)"
)

POSTGRES = [
    (
        "ALTER TABLE decisions_decisionitem ADD COLUMN request_vector tsvector "
        "GENERATED ALWAYS AS (to_tsvector('english', request)) STORED",
        "ALTER TABLE decisions_decisionitem DROP COLUMN request_vector",
    ),
    (
        "ALTER TABLE decisions_decisionitem ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({ITEM_VECTOR}) STORED",
        "ALTER TABLE decisions_decisionitem DROP COLUMN search_vector",
    ),
    (
        "CREATE INDEX item_request_gin ON decisions_decisionitem USING gin (request_vector)",
        "DROP INDEX IF EXISTS item_request_gin",
    ),
    (
        "CREATE INDEX item_search_gin ON decisions_decisionitem USING gin (search_vector)",
        "DROP INDEX IF EXISTS item_search_gin",
    ),
]

SQLITE = [
    (
        "CREATE VIRTUAL TABLE decisions_decisionitem_fts USING fts5(request, rationale, "
        "citations_text, content='decisions_decisionitem', content_rowid='id', "
        "tokenize='porter unicode61')",
        "DROP TABLE IF EXISTS decisions_decisionitem_fts",
    ),
    ("INSERT INTO decisions_decisionitem_fts(decisions_decisionitem_fts) VALUES ('rebuild')", None),
]


def _statements(vendor):
    return {"postgresql": POSTGRES, "sqlite": SQLITE}.get(vendor, [])


def backfill_citations_text(apps, schema_editor):
    """Items stored before this migration: their citations' text, as ingest now writes it."""
    schema_editor.execute(
        "UPDATE decisions_decisionitem SET citations_text = COALESCE(("
        "SELECT " + ("string_agg(c.text, ' ' ORDER BY c.id)" if schema_editor.connection.vendor == "postgresql" else "group_concat(c.text, ' ')")
        + " FROM decisions_guidelinecitation c WHERE c.item_id = decisions_decisionitem.id"
        " AND c.text <> ''), '')"
    )


def forwards(apps, schema_editor):
    backfill_citations_text(apps, schema_editor)
    for create, _ in _statements(schema_editor.connection.vendor):
        schema_editor.execute(create)
    if schema_editor.connection.vendor == "sqlite":
        from decisions import search

        search.index_repair(using=schema_editor.connection.alias)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for trigger in ("insert", "delete", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS decisions_decisionitem_fts_{trigger}")
    for _, drop in reversed(_statements(schema_editor.connection.vendor)):
        if drop:
            schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("decisions", "0006_index_change")]

    operations = [
        migrations.AddField(
            model_name="decisionitem",
            name="citations_text",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="The item's guideline citations as written, searched with its text.",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
