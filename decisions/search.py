"""Full-text search of letter text, in the database's own engine.

One query language for users, web-search syntax: words, "quoted phrases", ``or`` between
alternatives, ``-word`` to exclude. PostgreSQL reads it natively (``websearch_to_tsquery`` over
the generated, GIN-indexed ``search_vector`` column); SQLite gets it translated to an FTS5 query
over ``decisions_determination_fts``. Both stem English words ("injections" finds "injection").
The index itself is made by migration 0002; nothing here writes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from django.db import connection, connections
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString, mark_safe

MAX_QUERY_LENGTH = 200
_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use marks around a match, made <mark> after escaping
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Query:
    """A user's search, ready for the current database (empty when nothing is searchable)."""

    text: str
    engine_query: str

    def __bool__(self) -> bool:
        return bool(self.engine_query)


def parse(text: str) -> Query:
    """``text`` as typed, cut to a sane length, translated for the database in use."""
    text = " ".join((text or "").split())[:MAX_QUERY_LENGTH]
    if connection.vendor == "sqlite":
        return Query(text, to_fts5(text))
    return Query(text, text)


def to_fts5(text: str) -> str:
    """Web-search syntax as an FTS5 query: every word and phrase quoted (so "L5-S1" or "10/325"
    never read as operators), ``or`` kept as OR, ``-word`` as NOT."""
    positive: list[str] = []
    negative: list[str] = []
    pending_or = False
    for m in _TOKEN.finditer(text):
        minus, phrase, word = m[1], m[2], m[3]
        if word is not None and word.lower() == "or":
            pending_or = bool(positive)
            continue
        if word is not None and word.startswith("-") and len(word) > 1:
            minus, word = "-", word[1:]
        term = (phrase if phrase is not None else word).replace('"', " ").strip()
        if not re.search(r"\w", term):
            continue
        quoted = f'"{term}"'
        if minus:
            negative.append(quoted)
        elif pending_or and positive:
            positive[-1] = f"({positive[-1]} OR {quoted})"
        else:
            positive.append(quoted)
        pending_or = False
    if not positive:
        return ""  # FTS5 cannot say "everything but": a query of exclusions alone finds nothing
    query = " AND ".join(positive)
    return f"{query} NOT ({' OR '.join(negative)})" if negative else query


def matching_letters(query: Query) -> RawSQL:
    """Primary keys of letters matching ``query``, for ``filter(determination_id__in=...)``."""
    if connection.vendor == "postgresql":
        return RawSQL(
            "SELECT id FROM decisions_determination "
            "WHERE search_vector @@ websearch_to_tsquery('english', %s)",
            [query.engine_query],
        )
    return RawSQL(
        "SELECT rowid FROM decisions_determination_fts WHERE decisions_determination_fts MATCH %s",
        [query.engine_query],
    )


def rank(query: Query) -> RawSQL:
    """How well an item's letter matches, higher first (annotate items with it, then order)."""
    if connection.vendor == "postgresql":
        return RawSQL(
            "SELECT ts_rank(d.search_vector, websearch_to_tsquery('english', %s)) "
            "FROM decisions_determination d WHERE d.id = decisions_decisionitem.determination_id",
            [query.engine_query],
        )
    return RawSQL(
        "SELECT -bm25(decisions_determination_fts) FROM decisions_determination_fts "
        "WHERE decisions_determination_fts MATCH %s "
        "AND rowid = decisions_decisionitem.determination_id",
        [query.engine_query],
    )


def snippets(query: Query, letter_ids: list[int]) -> dict[int, SafeString]:
    """For each letter, the passages that match, HTML-escaped, with the matches in <mark>."""
    if not query or not letter_ids:
        return {}
    ids = sorted(set(letter_ids))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT id, ts_headline('english', full_text, websearch_to_tsquery('english', %s),"
                " %s) FROM decisions_determination WHERE id = ANY(%s)",
                [
                    query.engine_query,
                    f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxFragments=2, MaxWords=28, "
                    'MinWords=10, FragmentDelimiter=" … "',
                    ids,
                ],
            )
        else:
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(
                "SELECT rowid, snippet(decisions_determination_fts, 0, %s, %s, ' … ', 28) "
                "FROM decisions_determination_fts WHERE decisions_determination_fts MATCH %s "
                f"AND rowid IN ({marks})",
                [_OPEN, _CLOSE, query.engine_query, *ids],
            )
        rows = cursor.fetchall()
    return {pk: _marked(text) for pk, text in rows if text and _OPEN in text}


# SQLite keeps the FTS5 table in step with letters through triggers (made first by migration
# 0002). SQLite cannot alter a table in place for most schema changes, so Django rebuilds it, and
# the triggers go with the old table: after every migrate they are made again if missing.
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS decisions_determination_fts_insert AFTER INSERT ON "
    "decisions_determination BEGIN INSERT INTO decisions_determination_fts(rowid, full_text) "
    "VALUES (new.id, new.full_text); END",
    "CREATE TRIGGER IF NOT EXISTS decisions_determination_fts_delete AFTER DELETE ON "
    "decisions_determination BEGIN INSERT INTO decisions_determination_fts("
    "decisions_determination_fts, rowid, full_text) VALUES ('delete', old.id, old.full_text); END",
    "CREATE TRIGGER IF NOT EXISTS decisions_determination_fts_update AFTER UPDATE OF full_text ON "
    "decisions_determination BEGIN INSERT INTO decisions_determination_fts("
    "decisions_determination_fts, rowid, full_text) VALUES ('delete', old.id, old.full_text); "
    "INSERT INTO decisions_determination_fts(rowid, full_text) VALUES (new.id, new.full_text); END",
)


def index_repair(*, using: str = "default") -> None:
    """Make the SQLite search triggers again where a table rebuild dropped them (idempotent)."""
    db = connections[using]
    if db.vendor != "sqlite" or "decisions_determination_fts" not in db.introspection.table_names():
        return
    with db.cursor() as cursor:
        for statement in _SQLITE_TRIGGERS:
            cursor.execute(statement)


def _marked(text: str) -> SafeString:
    escaped = html.escape(" ".join(text.split()))
    return mark_safe(escaped.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>"))  # escaped above
