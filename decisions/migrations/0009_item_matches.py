"""PostgreSQL: ask the item ids' full-text index (0008) through a function that plans it as such.

The planner charges the indexed expression (the item's vectors, read by primary key, and their
word pairs) for every row a bitmap heap scan returns, as if it rechecked each, though plain-term
GIN matches are exact and nothing is read. So for a word in most items ("pain": all 1.6 M at a
million letters) it preferred a sequential or primary-key scan that does evaluate it per row:
130-260 s. ``decisions_item_matches`` runs the match with only the bitmap path allowed, and no
JIT (the expression's cost made every plan look large enough to compile, 100 ms and more).
"""

from django.db import migrations

FUNCTION = (
    "CREATE FUNCTION decisions_item_matches(terms tsquery, request_only boolean) "
    "RETURNS SETOF bigint LANGUAGE sql STABLE PARALLEL SAFE ROWS 1000 "
    "SET enable_seqscan = off SET enable_indexscan = off SET enable_indexonlyscan = off "
    "SET jit = off AS $$ "
    "SELECT item_id FROM decisions_itemsearch WHERE NOT request_only "
    "AND decisions_phrase_terms(decisions_item_vector(item_id)) @@ terms "
    "UNION ALL "
    "SELECT item_id FROM decisions_itemsearch WHERE request_only "
    "AND decisions_phrase_terms(decisions_item_request_vector(item_id)) @@ terms $$"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS decisions_item_matches(tsquery, boolean)")


class Migration(migrations.Migration):
    dependencies = [("decisions", "0008_item_search_keys")]

    operations = [migrations.RunPython(forwards, backwards)]
