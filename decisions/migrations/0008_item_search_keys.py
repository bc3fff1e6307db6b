"""PostgreSQL: each item's full-text index moves to a narrow table of item ids (SQLite unchanged).

Why. Migration 0007 put GIN indexes on tsvectors stored in ``decisions_decisionitem``, a wide
heap (the rationale and spans inline: 2.6 GiB at a million letters). A GIN index yields row
addresses, not ids, so every match costs a visit to its heap row to read the id: a common word
("injection", 24 % of items) read most of the 2.6 GiB (PostgreSQL chose a 7.8 s sequential
scan), and a phrase read each candidate's tsvector to check word positions (0.9 s for 69,600).
Moving the vectors to a side table does not help: at 1.1 KB a vector is mostly under the 2 KB
at which PostgreSQL moves values out of line (``toast_tuple_target`` does not lower that
threshold), so such a table is 1.9 GiB.

What. ``decisions_itemsearch`` holds one row per item, its id and nothing else (36 bytes a row,
about 60 MiB at a million letters), with GIN indexes on *expressions* that read the item's
stored vectors by primary key: ``decisions_item_vector(item_id)`` and
``decisions_item_request_vector(item_id)``. A plain-word match is answered from the index
and this small heap alone (GIN matches of plain words are exact, so no vector is read). The
indexed terms also hold each pair of adjacent words as one term ("epidur inject", made by
``decisions_phrase_terms``), so a two-word phrase is one exact term too; longer phrases use
their pairs to narrow the candidates, then check positions (``decisions.search``).

The one rule this bends: an index expression must be IMMUTABLE, and the two lookup functions
read a table. They are safe because an item's index entries are only ever made from its
current vectors: triggers on ``decisions_decisionitem`` insert the item's row, replace it
(delete and insert, never an in-place update, which PostgreSQL could do without re-indexing)
when its vectors change, delete it with the item and empty the table on TRUNCATE. Writes made
with triggers disabled (``session_replication_role = replica``, as ``bench/build_db.py`` copies)
must refill it: ``INSERT INTO decisions_itemsearch SELECT id FROM decisions_decisionitem`` for
the new items, or ``REINDEX TABLE decisions_itemsearch`` after changed text.

The item table's own GIN indexes (0007) are dropped: nothing reads them now. Its stored
vectors stay: they are what the lookup functions read.
"""

from django.db import migrations

SIDE = "decisions_itemsearch"
ITEM = "decisions_decisionitem"


def _statements(schema: str) -> list[tuple[str, str | None]]:
    item = f'"{schema}".{ITEM}'  # qualified: a restore builds indexes with an empty search_path
    lookup = (
        "CREATE FUNCTION {name}(item bigint) RETURNS tsvector LANGUAGE sql IMMUTABLE "
        "PARALLEL SAFE COST 1000 AS $$ SELECT {column} FROM " + item + " WHERE id = item $$"
    )
    return [
        # Every pair of adjacent lexemes (positions p and p + 1) as one more term, "a b": the
        # parser never makes a lexeme with a space, so no pair equals a word. Immutable indeed.
        (
            "CREATE FUNCTION decisions_phrase_terms(v tsvector) RETURNS tsvector LANGUAGE sql "
            "IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT v || array_to_tsvector(ARRAY("
            "SELECT a.lexeme || ' ' || b.lexeme FROM (SELECT lexeme, unnest(positions) AS pos "
            "FROM unnest(v)) a JOIN (SELECT lexeme, unnest(positions) AS pos FROM unnest(v)) b "
            "ON b.pos = a.pos + 1)) $$",
            "DROP FUNCTION IF EXISTS decisions_phrase_terms(tsvector)",
        ),
        (
            lookup.format(name="decisions_item_vector", column="search_vector"),
            "DROP FUNCTION IF EXISTS decisions_item_vector(bigint)",
        ),
        (
            lookup.format(name="decisions_item_request_vector", column="request_vector"),
            "DROP FUNCTION IF EXISTS decisions_item_request_vector(bigint)",
        ),
        (
            f"CREATE TABLE {SIDE} (item_id bigint PRIMARY KEY)",
            f"DROP TABLE IF EXISTS {SIDE}",
        ),
        (f"INSERT INTO {SIDE} (item_id) SELECT id FROM {ITEM}", None),
        ("SET LOCAL maintenance_work_mem = '512MB'", None),
        (
            f"CREATE INDEX itemsearch_terms_gin ON {SIDE} USING gin "
            "(decisions_phrase_terms(decisions_item_vector(item_id)))",
            None,
        ),
        (
            f"CREATE INDEX itemsearch_request_gin ON {SIDE} USING gin "
            "(decisions_phrase_terms(decisions_item_request_vector(item_id)))",
            None,
        ),
        (
            "CREATE FUNCTION decisions_itemsearch_keep() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            "IF TG_OP = 'TRUNCATE' THEN TRUNCATE " + SIDE + "; RETURN NULL; END IF; "
            "IF TG_OP IN ('UPDATE', 'DELETE') THEN "
            "DELETE FROM " + SIDE + " WHERE item_id = OLD.id; END IF; "
            "IF TG_OP IN ('UPDATE', 'INSERT') THEN "
            "INSERT INTO " + SIDE + " (item_id) VALUES (NEW.id); END IF; "
            "RETURN NULL; END $$",
            "DROP FUNCTION IF EXISTS decisions_itemsearch_keep()",
        ),
        (
            f"CREATE TRIGGER decisions_itemsearch_insert AFTER INSERT ON {ITEM} "
            "FOR EACH ROW EXECUTE FUNCTION decisions_itemsearch_keep()",
            f"DROP TRIGGER IF EXISTS decisions_itemsearch_insert ON {ITEM}",
        ),
        (
            f"CREATE TRIGGER decisions_itemsearch_update AFTER UPDATE ON {ITEM} FOR EACH ROW "
            "WHEN (OLD.id IS DISTINCT FROM NEW.id "
            "OR OLD.search_vector IS DISTINCT FROM NEW.search_vector "
            "OR OLD.request_vector IS DISTINCT FROM NEW.request_vector) "
            "EXECUTE FUNCTION decisions_itemsearch_keep()",
            f"DROP TRIGGER IF EXISTS decisions_itemsearch_update ON {ITEM}",
        ),
        (
            f"CREATE TRIGGER decisions_itemsearch_delete AFTER DELETE ON {ITEM} "
            "FOR EACH ROW EXECUTE FUNCTION decisions_itemsearch_keep()",
            f"DROP TRIGGER IF EXISTS decisions_itemsearch_delete ON {ITEM}",
        ),
        (
            f"CREATE TRIGGER decisions_itemsearch_truncate AFTER TRUNCATE ON {ITEM} "
            "FOR EACH STATEMENT EXECUTE FUNCTION decisions_itemsearch_keep()",
            f"DROP TRIGGER IF EXISTS decisions_itemsearch_truncate ON {ITEM}",
        ),
        (
            "DROP INDEX IF EXISTS item_request_gin",
            f"CREATE INDEX item_request_gin ON {ITEM} USING gin (request_vector)",
        ),
        (
            "DROP INDEX IF EXISTS item_search_gin",
            f"CREATE INDEX item_search_gin ON {ITEM} USING gin (search_vector)",
        ),
        (f"ANALYZE {SIDE}", None),
    ]


def _schema(schema_editor) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for create, _ in _statements(_schema(schema_editor)):
            schema_editor.execute(create)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for _, drop in reversed(_statements(_schema(schema_editor))):
            if drop:
                schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("decisions", "0007_item_search")]

    operations = [migrations.RunPython(forwards, backwards)]
