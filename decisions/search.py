"""Full-text search, in the database's own engine: each disputed item, or whole letters.

One query language for users, web-search syntax: words, "quoted phrases", ``or`` between
alternatives, ``-word`` to exclude. PostgreSQL reads it natively (``websearch_to_tsquery`` over
generated, GIN-indexed tsvectors); SQLite gets it translated to an FTS5 query. Both stem English
words ("injections" finds "injection").

By default a search matches each item's own text (its request, the reviewer's rationale and its
citations: migration 0007), so "lumbar physical therapy" finds therapy decisions rather than
every decision of a letter that mentions therapy; items whose request itself matches come first.
On PostgreSQL an item match is asked of the narrow table of item ids of migration 0008, whose
index also holds adjacent word pairs (see ``_pg_matching_items``). "Anywhere in the letter"
matches whole letters (migration 0002). A query of common words only
("the", "of") matches nothing useful and is answered at once, as no text search. Nothing here
writes.
"""

from __future__ import annotations

import functools
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
# Between two passages of a snippet, and at either end where the text goes on.
_ELLIPSIS = " … "
_HEADLINE = (
    f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxFragments=2, MaxWords=28, MinWords=10, "
    f'FragmentDelimiter="{_ELLIPSIS}"'
)
# How much of each end of the text tells whether a passage reached it (a passage is 28 words).
_EDGE = 1000


@dataclass(frozen=True)
class Query:
    """A user's search, ready for the current database (empty when nothing is searchable)."""

    text: str
    engine_query: str
    common_words_only: bool = False

    def __bool__(self) -> bool:
        return bool(self.engine_query)


# A search that is a case number ("CM15-0247716", "cm15 0247716", "IMR 13-000004") or a letter's
# short key (16 hexadecimal digits) asks for that letter, not for text.
_CASE_QUERY = re.compile(
    r"\s*((?:CM|IMR)\s*-?\s*\d{2})\s*[-\s]\s*(\d{3,8})\s*|\s*([0-9a-f]{16})\s*", re.I
)


def letter_key_of(text: str) -> str | None:
    """The case number or letter key ``text`` is, as keys are written; None if it is not one."""
    m = _CASE_QUERY.fullmatch(text or "")
    if not m:
        return None
    if m[3]:
        return m[3].lower()
    prefix = re.sub(r"[\s-]", "", m[1]).upper()
    return f"{prefix}-{m[2]}"


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
        return _pg_matching_items(query, request_only=request_only)
    match = f"request : ({query.engine_query})" if request_only else query.engine_query
    return (
        "SELECT rowid AS id FROM decisions_decisionitem_fts "
        "WHERE decisions_decisionitem_fts MATCH %s",
        [match],
    )


def _pg_matching_items(query: Query, *, request_only: bool) -> tuple[str, list]:
    """The match on PostgreSQL, from the narrow id table of migration 0008.

    Its GIN index holds each item's words and each pair of adjacent words, so the query is asked
    with every two-word phrase as one pair term ("epidural injection": ``'epidur inject'``): a
    query of words and such phrases is exact from the index, and no item's text is read. For
    longer phrases (and words apart, "knee <3> therapy") the index narrows to the items having
    their pairs and words, then the item's stored vector checks the positions.
    """
    terms, exact = index_terms(tsquery_text(query.engine_query))
    column = "request_vector" if request_only else "search_vector"
    if terms == "":
        return "SELECT id FROM decisions_decisionitem WHERE false", []
    if terms is None:  # nothing the index narrows by (a long phrase negated): read every item
        return (
            f"SELECT id FROM decisions_decisionitem "
            f"WHERE {column} @@ websearch_to_tsquery('english', %s)",
            [query.engine_query],
        )
    # The function plans the index as exact (migration 0009); a check reads each candidate's
    # stored vector by primary key.
    matches = "decisions_item_matches(%s::tsquery, %s) AS m(id)"
    if exact:
        return f"SELECT id FROM {matches}", [terms, request_only]
    return (
        f"SELECT i.id FROM {matches} JOIN decisions_decisionitem i ON i.id = m.id "
        f"WHERE i.{column} @@ websearch_to_tsquery('english', %s)",
        [terms, request_only, query.engine_query],
    )


@functools.lru_cache(maxsize=1024)
def tsquery_text(text: str) -> str:
    """PostgreSQL's reading of ``text`` (``websearch_to_tsquery``), as tsquery text."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT websearch_to_tsquery('english', %s)::text", [text])
        return cursor.fetchone()[0]


# --- tsquery text: read, and asked of the index of words and adjacent pairs ----------------

_TSQUERY_TOKEN = re.compile(r"\s*(?:'((?:[^'\\]|''|\\.)*)'(:[*A-Da-d]+)?|(<->|<\d+>|[!&|()]))")


def _parse_tsquery(text: str) -> tuple | None:
    """tsquery text as a tree: ("lex", lexeme, suffix), ("not", x), ("and" | "or", a, b), or
    ("phrase", a, b, distance). None for an empty query. Precedence as PostgreSQL's: ! <-> & |.
    """
    tokens: list[tuple[str, str, str]] = []
    pos, text = 0, text.rstrip()
    while pos < len(text):
        m = _TSQUERY_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"unreadable tsquery at {pos}: {text!r}")
        if m[3] is None:
            lexeme = re.sub(r"''|\\(.)", lambda e: "'" if e[1] is None else e[1], m[1])
            tokens.append(("lex", lexeme, m[2] or ""))
        else:
            tokens.append(("op", m[3], ""))
        pos = m.end()
    if not tokens:
        return None
    at = 0

    def peek() -> str | None:
        return tokens[at][1] if at < len(tokens) and tokens[at][0] == "op" else None

    def unary() -> tuple:
        nonlocal at
        kind, value, suffix = tokens[at]
        at += 1
        if kind == "lex":
            return ("lex", value, suffix)
        if value == "!":
            return ("not", unary())
        if value == "(":
            node = alternatives()
            at += 1  # ")"
            return node
        raise ValueError(f"unexpected {value!r} in tsquery {text!r}")

    def phrase() -> tuple:
        nonlocal at
        node = unary()
        while (op := peek()) is not None and op.startswith("<"):
            at += 1
            distance = 1 if op == "<->" else int(op[1:-1])
            node = ("phrase", node, unary(), distance)
        return node

    def joined(operand, symbol: str, kind: str):
        def parse() -> tuple:
            nonlocal at
            node = operand()
            while peek() == symbol:
                at += 1
                node = (kind, node, operand())
            return node

        return parse

    conjunction = joined(phrase, "&", "and")
    alternatives = joined(conjunction, "|", "or")
    return alternatives()


def _quoted(lexeme: str, suffix: str = "") -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" + suffix


def index_terms(tsquery: str) -> tuple[str | None, bool]:
    """``tsquery`` asked of the index of words and adjacent pairs: (query, exact).

    Exact: the query matches the same items as ``tsquery`` (words and two-word phrases only).
    Otherwise it matches a superset, to be checked against the item's vector; None when the
    index cannot narrow at all (a negated long phrase alone), "" for an empty query.
    """
    tree = _parse_tsquery(tsquery)
    if tree is None:
        return "", True
    return _terms(tree)


def _terms(node: tuple) -> tuple[str | None, bool]:
    kind = node[0]
    if kind == "lex":
        return _quoted(node[1], node[2]), True
    if kind == "not":
        inner, exact = _terms(node[1])
        # Not a superset of something is no superset of not-it: the index cannot narrow then.
        return (f"!( {inner} )", True) if exact and inner is not None else (None, False)
    if kind in ("and", "or"):
        parts = [_terms(node[1]), _terms(node[2])]
        exact = all(e for _, e in parts)
        texts = [t for t, _ in parts if t is not None]
        if (kind == "or" and len(texts) < 2) or not texts:
            return None, False  # anything or X is anything
        op = " & " if kind == "and" else " | "
        return (f"( {op.join(texts)} )" if len(texts) > 1 else texts[0]), exact
    chain = _chain(node)
    if chain is None:
        return None, False
    if len(chain) == 2 and chain[1][1] == 1 and not chain[0][0][2] and not chain[1][0][2]:
        return _quoted(f"{chain[0][0][1]} {chain[1][0][1]}"), True
    terms: list[str] = []
    paired: set[int] = set()
    for i in range(1, len(chain)):
        (left, _), (right, distance) = chain[i - 1], chain[i]
        if distance == 1 and not left[2] and not right[2]:
            terms.append(_quoted(f"{left[1]} {right[1]}"))
            paired |= {i - 1, i}
    terms += [_quoted(lex[1], lex[2]) for i, (lex, _) in enumerate(chain) if i not in paired]
    return "( " + " & ".join(terms) + " )", False


def _chain(node: tuple) -> list[tuple[tuple, int]] | None:
    """A phrase of words, left to right, each with its distance from the one before; or None."""
    if node[0] == "lex":
        return [(node, 0)]
    if node[0] != "phrase" or node[2][0] != "lex":
        return None
    left = _chain(node[1])
    return None if left is None else [*left, (node[2], node[3])]


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
                f" %s), left({text}, %s), right({text}, %s) FROM {table} WHERE id = ANY(%s)",
                [query.engine_query, _HEADLINE, _EDGE, _EDGE, ids],
            )
            rows = [(pk, _cut_marked(*row)) for pk, *row in cursor.fetchall()]
        else:
            # FTS5 puts the ellipsis at an end itself, only where it cut the text.
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"SELECT rowid, snippet({table}_fts, {column}, %s, %s, %s, 28) "
                f"FROM {table}_fts WHERE {table}_fts MATCH %s AND rowid IN ({marks})",
                [_OPEN, _CLOSE, _ELLIPSIS, query.engine_query, *ids],
            )
            rows = cursor.fetchall()
    return {pk: _marked(text) for pk, text in rows if text and _OPEN in text}


def _cut_marked(headline: str, head: str, tail: str) -> str:
    """``headline`` (ts_headline's passages) with an ellipsis at an end where the text goes on
    beyond it, as FTS5's snippet() gives them; ``head`` and ``tail`` are the text's two ends."""
    # An item's text joins its rationale and citations with the ellipsis: a passage may end on it.
    headline = headline.strip(_ELLIPSIS)
    passages = [words for p in headline.split(_ELLIPSIS.strip()) if (words := _words(p))]
    if not passages:
        return headline
    first, last = passages[0], passages[-1]
    lead = "" if _words(head)[: len(first)] == first else _ELLIPSIS
    trail = "" if _words(tail)[-len(last) :] == last else _ELLIPSIS
    return lead + headline + trail


def _words(text: str) -> list[str]:
    """The words of ``text`` as ts_headline keeps them (it drops HTML tags)."""
    return re.findall(r"\w+", re.sub(r"<[^>]*>", " ", text))


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
