"""Full-text search, in the database's own engine: each disputed item, or whole letters.

One query language for users, web-search syntax: words, "quoted phrases", ``or`` between
alternatives, ``-word`` to exclude. PostgreSQL reads it natively (``websearch_to_tsquery`` over
generated, GIN-indexed tsvectors); SQLite gets it translated to an FTS5 query. Both stem English
words ("injections" finds "injection").

By default a search matches each item's own text (its request, the reviewer's rationale and its
citations: migration 0007), so "lumbar physical therapy" finds therapy decisions rather than
every decision of a letter that mentions therapy; items whose request itself matches come first.
"Anywhere in the letter" matches whole letters (migration 0002). A query of common words only
("the", "of") matches nothing useful and is answered at once, as no text search. Nothing here
writes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from django.db import connection, connections
from django.utils.safestring import SafeString, mark_safe

MAX_QUERY_LENGTH = 200
# PostgreSQL's English stop words: a query of these alone would match nothing there (and nearly
# everything in SQLite), so both engines treat it as no text search.
COMMON_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "did",
        "do",
        "does",
        "doing",
        "don",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "s",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "t",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)
_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use marks around a match, made <mark> after escaping
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_HEADLINE = (
    f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxFragments=2, MaxWords=28, MinWords=10, "
    'FragmentDelimiter=" … "'
)


@dataclass(frozen=True)
class Query:
    """A user's search, ready for the current database (empty when nothing is searchable)."""

    text: str
    engine_query: str
    common_words_only: bool = False

    def __bool__(self) -> bool:
        return bool(self.engine_query)


def parse(text: str) -> Query:
    """``text`` as typed, cut to a sane length, translated for the database in use."""
    text = " ".join((text or "").split())[:MAX_QUERY_LENGTH]
    words = re.findall(r"\w+", text.lower())
    if words and all(w in COMMON_WORDS or w == "or" for w in words):
        return Query(text, "", common_words_only=True)
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


def matching_items(query: Query, *, request_only: bool = False) -> tuple[str, list]:
    """SQL for the ids of items whose own text (or, ``request_only``, request) matches."""
    if connection.vendor == "postgresql":
        column = "request_vector" if request_only else "search_vector"
        return (
            f"SELECT id FROM decisions_decisionitem "
            f"WHERE {column} @@ websearch_to_tsquery('english', %s)",
            [query.engine_query],
        )
    match = f"request : ({query.engine_query})" if request_only else query.engine_query
    return (
        "SELECT rowid AS id FROM decisions_decisionitem_fts "
        "WHERE decisions_decisionitem_fts MATCH %s",
        [match],
    )


def matching_letters(query: Query) -> tuple[str, list]:
    """SQL for the ids of letters whose whole text matches ``query``."""
    if connection.vendor == "postgresql":
        return (
            "SELECT id FROM decisions_determination "
            "WHERE search_vector @@ websearch_to_tsquery('english', %s)",
            [query.engine_query],
        )
    return (
        "SELECT rowid AS id FROM decisions_determination_fts "
        "WHERE decisions_determination_fts MATCH %s",
        [query.engine_query],
    )


def item_snippets(query: Query, item_ids: list[int]) -> dict[int, SafeString]:
    """For each item, the passage of its rationale (or citations) that matches, marked.

    None for an item whose request alone matches: its request is the result's title already.
    """
    return _snippets(
        query, item_ids, "decisions_decisionitem", "rationale || ' … ' || citations_text", column=1
    )


def snippets(query: Query, letter_ids: list[int]) -> dict[int, SafeString]:
    """For each letter, the passages that match, HTML-escaped, with the matches in <mark>."""
    return _snippets(query, letter_ids, "decisions_determination", "full_text", column=0)


def _snippets(
    query: Query, ids: list[int], table: str, text: str, *, column: int
) -> dict[int, SafeString]:
    """Marked passages of ``text`` (PostgreSQL) or FTS5 ``column`` (-1: any) for rows ``ids``."""
    if not query or not ids:
        return {}
    ids = sorted(set(ids))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT id, ts_headline('english', {text}, websearch_to_tsquery('english', %s),"
                f" %s) FROM {table} WHERE id = ANY(%s)",
                [query.engine_query, _HEADLINE, ids],
            )
        else:
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"SELECT rowid, snippet({table}_fts, {column}, %s, %s, ' … ', 28) "
                f"FROM {table}_fts WHERE {table}_fts MATCH %s AND rowid IN ({marks})",
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


_ITEM_COLUMNS = "request, rationale, citations_text"
_ITEM_OLD = "old.request, old.rationale, old.citations_text"
_ITEM_NEW = "new.request, new.rationale, new.citations_text"
_SQLITE_ITEM_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS decisions_decisionitem_fts_insert AFTER INSERT ON "
    "decisions_decisionitem BEGIN INSERT INTO decisions_decisionitem_fts"
    f"(rowid, {_ITEM_COLUMNS}) VALUES (new.id, {_ITEM_NEW}); END",
    "CREATE TRIGGER IF NOT EXISTS decisions_decisionitem_fts_delete AFTER DELETE ON "
    "decisions_decisionitem BEGIN INSERT INTO decisions_decisionitem_fts"
    f"(decisions_decisionitem_fts, rowid, {_ITEM_COLUMNS}) VALUES ('delete', old.id, {_ITEM_OLD});"
    " END",
    "CREATE TRIGGER IF NOT EXISTS decisions_decisionitem_fts_update AFTER UPDATE OF "
    f"{_ITEM_COLUMNS} ON decisions_decisionitem BEGIN INSERT INTO decisions_decisionitem_fts"
    f"(decisions_decisionitem_fts, rowid, {_ITEM_COLUMNS}) VALUES ('delete', old.id, {_ITEM_OLD});"
    f" INSERT INTO decisions_decisionitem_fts(rowid, {_ITEM_COLUMNS}) VALUES (new.id, {_ITEM_NEW});"
    " END",
)


def index_repair(*, using: str = "default") -> None:
    """Make the SQLite search triggers again where a table rebuild dropped them (idempotent)."""
    db = connections[using]
    if db.vendor != "sqlite":
        return
    tables = db.introspection.table_names()
    with db.cursor() as cursor:
        if "decisions_determination_fts" in tables:
            for statement in _SQLITE_TRIGGERS:
                cursor.execute(statement)
        if "decisions_decisionitem_fts" in tables:
            for statement in _SQLITE_ITEM_TRIGGERS:
                cursor.execute(statement)


def _marked(text: str) -> SafeString:
    escaped = html.escape(" ".join(text.split()))
    return mark_safe(escaped.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>"))  # escaped above
