"""Writing many rows fast: COPY on PostgreSQL, ``bulk_create`` elsewhere.

Django's bulk insert sends every value through Python quoting and builds a model instance per
link row; for the ten-odd rows a letter has below it, COPY is several times faster. This module
is the one place that reaches below the ORM (the cursor's ``copy``, field preparation).
"""

from __future__ import annotations

from django.db import connection, models


def _copy(table: str, columns: list[str], rows: list[tuple]) -> None:
    """PostgreSQL COPY of rows into ``table``; its errors surface as Django's database errors."""
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def leaf_insert(model: type[models.Model], attnames: list[str], rows: list[tuple]) -> None:
    """Insert rows nothing needs a key back from (links, pages, chapters)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(attnames, row, strict=True))) for row in rows])
        return
    columns = {f.attname: f.column for f in model._meta.concrete_fields}
    _copy(model._meta.db_table, [columns[name] for name in attnames], rows)


def keyed_insert(model: type[models.Model], objs: list[models.Model]) -> None:
    """Insert new rows and give each its primary key (the rows below them need it).

    On PostgreSQL the keys are drawn from the table's sequence and the rows go by COPY;
    elsewhere ``bulk_create``, which reads the keys back.
    """
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    opts = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(objs)],
        )
        keys = [key for (key,) in cursor.fetchall()]
    fields = opts.concrete_fields
    rows = []
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        rows.append(
            tuple(f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields)
        )
    _copy(opts.db_table, [f.column for f in fields], rows)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
