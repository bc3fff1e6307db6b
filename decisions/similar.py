"""Similar decisions: for each disputed item of a letter, the decisions of other letters most
like it, and the overturn rate among all the decisions like it.

Two steps, the first cheap at any size, the second bounded whatever the number of letters:

1. *Which decisions are like it* comes from the facet engine's bitmaps (``facet_index``): those
   on the same treatment and body region whose MAXIMUS reviewer cited the same guideline page,
   else the same treatment and body region, else the same treatment. The narrowest of these
   with ``stats.MIN_DECISIONS`` decisions in other letters is the item's *similar set*; its
   rate is counted over the whole set (this letter's decisions in it included: it is what the
   search link lists, and the sentence says so).
2. *Which of them are shown*: those citing the same page first, then by how like this item's
   rationale theirs is. Only the newest ``RANKED`` of each group are ranked by text: the
   rationale's most distinctive words (``TERMS`` of them, weighed by how few of those
   candidates have them), then on PostgreSQL ``ts_rank`` of each candidate's stored vector
   against them, on SQLite BM25 over the candidates' rationales (see ``_sqlite_ranks`` for why
   not FTS5's own). All of a page's items are ranked in one query.

Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db import connection
from django.urls import reverse
from pyroaring import BitMap

from . import stats
from .facet_index import FacetIndex
from .models import CitingSide, DecisionItem
from .search import COMMON_WORDS

SHOWN = 5  # similar decisions listed per item
RANKED = 200  # at most this many candidates of a group are ranked by text
TERMS = 16  # distinctive words of the rationale the candidates are ranked by
SAMPLED = 60  # PostgreSQL: the words' frequency is counted among this many candidates
PAGES = 40  # at most this many cited pages of an item are tried for the page group
MAXIMUS = CitingSide.MAXIMUS


@dataclass(frozen=True)
class Subject:
    """An item as its similar decisions are found: what it is about (slugs with labels)."""

    pk: int
    treatments: tuple[tuple[str, str], ...]
    drug: str | None = None  # a medication's, by its generic name
    regions: tuple[tuple[str, str], ...] = ()
    pages: tuple[tuple[str, str, int], ...] = ()  # (guideline, its label, page) MAXIMUS cited


@dataclass(frozen=True)
class Basis:
    """What the decisions of a similar set share with the item."""

    treatments: tuple[tuple[str, str], ...]
    drug: tuple[str, str] | None = None  # none: any drug (or not a medication)
    regions: tuple[tuple[str, str], ...] = ()  # none: any region
    page: tuple[str, str, int] | None = None  # (guideline, label, page) MAXIMUS cited

    @property
    def words(self) -> str:
        """ "on the same treatment and body region" ("drug" for a medication's; with the page,
        "..., citing the same guideline page")"""
        text = "on the same drug" if self.drug else "on the same treatment"
        text += " and body region" if self.regions else ""
        return text + (", citing the same guideline page" if self.page else "")

    @property
    def values(self) -> str:
        """ "Facet injection; Lumbar spine; MTUS Chronic Pain Medical Treatment Guidelines p. 46"
        (a medication: "Medication (Omeprazole); ...")"""
        parts = [", ".join(label for _, label in self.treatments)]
        if self.drug:
            parts[0] += f" ({self.drug[1]})"
        if self.regions:
            parts.append(", ".join(label for _, label in self.regions))
        if self.page:
            parts.append(f"{self.page[1]} p. {self.page[2]}")
        return "; ".join(parts)

    @property
    def search_url(self) -> str:
        """The search that lists the whole set."""
        params = [("treatment", slug) for slug, _ in self.treatments]
        params += [("drug", self.drug[0])] if self.drug else []
        params += [("body_region", slug) for slug, _ in self.regions]
        if self.page:
            params += [
                ("guideline", self.page[0]),
                ("source", MAXIMUS),
                ("cited_page", self.page[2]),
            ]
        return reverse("decisions:home") + "?" + urlencode(params)


@dataclass(frozen=True)
class SimilarDecision:
    """A decision of another letter, as the similar list shows it."""

    pk: int
    request: str
    outcome: str
    url: str
    letter: str  # "Case CM15-0247716", or "IMR letter <key>"
    decision_date: dt.date | None
    same_page: bool  # it cites the item's guideline page (when the set is broader than that)


@dataclass
class Similar:
    """An item's similar decisions: the set's basis and rate, and the few most like it."""

    basis: Basis
    rate: stats.Rate  # over the whole set, this letter's decisions in it included
    own: int  # how many decisions of the set are this letter's
    decisions: list[SimilarDecision] = field(default_factory=list)
    # The guideline page (guideline, label, page) those listed first cite with the item, when
    # the set is broader than the decisions citing it.
    page: tuple[str, str, int] | None = None

    @property
    def page_label(self) -> str:
        return f"{self.page[1]} p. {self.page[2]}" if self.page else ""

    @property
    def summary(self) -> str:
        """ "Of 214 decisions on the same treatment and body region (this one included), 31 were
        overturned (14.5%, 95% interval 10.4-19.8%)." Under ``stats.MIN_DECISIONS`` decisions,
        no percentage: "... 1 was overturned: too few decisions to give a rate." """
        rate = self.rate
        included = "this one included" if self.own == 1 else f"{self.own} of this letter's included"
        verb = "was" if rate.overturned == 1 else "were"
        noun = "decision" if rate.decisions == 1 else "decisions"
        text = (
            f"Of {rate.decisions:,} {noun} {self.basis.words} ({included}), "
            f"{rate.overturned:,} {verb} overturned"
        )
        if rate.enough:
            return f"{text} ({rate.percent}, {rate.interval_words})."
        return f"{text}: too few decisions to give a rate."


@dataclass
class _Plan:
    """An item's similar set, and its candidates for the list, group by group."""

    subject: Subject
    basis: Basis
    found: BitMap
    groups: list[list[int]]  # candidate ids, newest first, those citing the page first
    page: tuple[str, str, int] | None  # the page groups[0] cites, in a broader set


def for_subjects(
    index: FacetIndex, subjects: Iterable[Subject], letter_id: int
) -> dict[int, Similar]:
    """Each subject's similar decisions (by item id; none for an item without a treatment).

    Two queries whatever the number of items (the text ranks, the rows shown), none when no
    item has a similar decision in another letter.
    """
    own = index.items_of_letters([letter_id])
    plans = [p for s in subjects if (p := _plan(index, s, own)) is not None]
    pairs = [(p.subject.pk, c) for p in plans for group in p.groups for c in group]
    scores = text_ranks(pairs) if pairs else {}
    chosen: dict[int, list[tuple[int, bool]]] = {}
    for plan in plans:
        picked: list[tuple[int, bool]] = []
        for n, group in enumerate(plan.groups):
            order = {c: i for i, c in enumerate(group)}
            ranked = sorted(group, key=lambda c: (-scores.get((plan.subject.pk, c), 0.0), order[c]))
            same_page = plan.page is not None and n == 0
            picked += [(c, same_page) for c in ranked[: SHOWN - len(picked)]]
        chosen[plan.subject.pk] = picked
    rows = _rows([c for picked in chosen.values() for c, _ in picked])
    return {
        plan.subject.pk: Similar(
            basis=plan.basis,
            rate=stats.rate_of(index, plan.found),
            own=plan.found.intersection_cardinality(own),
            decisions=[
                _decision(rows[c], same_page)
                for c, same_page in chosen[plan.subject.pk]
                if c in rows
            ],
            page=plan.page,
        )
        for plan in plans
    }


def _plan(index: FacetIndex, subject: Subject, own: BitMap) -> _Plan | None:
    if not subject.treatments:
        return None
    treatments, regions = subject.treatments, subject.regions
    treated = index.matching({"treatment": [slug for slug, _ in treatments]})
    # A medication's decisions on the same drug, then on any.
    drug = (
        (subject.drug, index.labels["drug"].get(subject.drug, subject.drug))
        if subject.drug
        else None
    )
    kind = treated & index.matching({"drug": [subject.drug]}) if drug else treated
    base = (
        kind & index.matching({"body_region": [slug for slug, _ in regions]}) if regions else kind
    )
    page, in_page = _best_page(index, subject, base, own)
    levels: list[tuple[Basis, BitMap]] = []  # narrowest first
    if page is not None:
        levels.append((Basis(treatments, drug, regions, page), in_page))
    if regions:
        levels.append((Basis(treatments, drug, regions), base))
    if drug:
        levels.append((Basis(treatments, drug), kind))
    levels.append((Basis(treatments), treated))
    others = [len(found) - found.intersection_cardinality(own) for _, found in levels]
    # The narrowest set with decisions enough in other letters, or as many as there are.
    # (None in another letter: the broadest, which the page says has no other decision.)
    wanted = min(stats.MIN_DECISIONS, others[-1]) or others[-1] + 1
    chosen = next((n for n, count in enumerate(others) if count >= wanted), len(levels) - 1)
    basis, found = levels[chosen]
    groups, seen, total = [], BitMap(), 0
    for _, level in levels[: chosen + 1]:
        if total >= SHOWN:
            break
        group = (level - seen) - own
        seen |= level
        if group:
            groups.append(index.page(group, "newest", 0, RANKED))
            total += len(group)
    return _Plan(subject, basis, found, groups, page=page if chosen > 0 else None)


def _best_page(
    index: FacetIndex, subject: Subject, base: BitMap, own: BitMap
) -> tuple[tuple[str, str, int] | None, BitMap]:
    """Of the pages the item's MAXIMUS citations name, the one most other decisions of ``base``
    cite too (the first of equals), and those decisions; None if no other decision does."""
    best, best_found, best_count = None, BitMap(), 0
    for guideline, label, page in subject.pages[:PAGES]:
        found = base & index.citing([guideline], [MAXIMUS], page)
        count = len(found) - found.intersection_cardinality(own)
        if count > best_count:
            best, best_found, best_count = (guideline, label, page), found, count
    return best, best_found


def _rows(ids: Sequence[int]) -> dict[int, tuple]:
    if not ids:
        return {}
    rows = DecisionItem.objects.filter(pk__in=ids).values_list(
        "pk",
        "position",
        "request",
        "outcome",
        "determination__key",
        "determination__case_number",
        "determination__decision_date",
    )
    return {row[0]: row for row in rows}


def _decision(row: tuple, same_page: bool) -> SimilarDecision:
    pk, position, request, outcome, key, case_number, decided = row
    url = reverse("decisions:letter", kwargs={"key": key}) + f"#item-{position}"
    letter = f"Case {case_number}" if case_number else f"IMR letter {key}"
    return SimilarDecision(pk, request, outcome, url, letter, decided, same_page)


# --- ranking candidates by their text ------------------------------------------------------


def text_ranks(pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """For each (item, candidate), how like the item's rationale the candidate's text is
    (higher is more alike; pairs sharing no distinctive word are left out). One query."""
    if connection.vendor == "postgresql":
        return _postgres_ranks(pairs)
    return _sqlite_ranks(pairs)


# Per item: the lexemes of its rationale, how many of a sample of its candidates have each (the
# @@ of a one-lexeme query against each stored vector: lexemes times sampled candidates, the
# query's main cost), the TERMS with the highest tf * idf among them OR'ed into one query, and
# ts_rank of every candidate's vector against it.
_POSTGRES_RANKS = r"""
WITH pair AS MATERIALIZED (
    SELECT p.item, p.candidate, p.sampled, c.search_vector || ''::tsvector AS v  -- detoasted once
    FROM unnest(%s::bigint[], %s::bigint[], %s::boolean[]) AS p(item, candidate, sampled)
    JOIN decisions_decisionitem c ON c.id = p.candidate
),
own AS MATERIALIZED (
    SELECT i.id AS item, t.lexeme, coalesce(cardinality(t.positions), 1) AS tf,
        quoted.text AS quoted, quoted.text::tsquery AS q
    FROM decisions_decisionitem i
    CROSS JOIN LATERAL unnest(to_tsvector('english', i.rationale)) AS t
    CROSS JOIN LATERAL (
        SELECT '''' || replace(replace(t.lexeme, '\', '\\'), '''', '''''') || '''' AS text
    ) AS quoted
    WHERE i.id = ANY(%s)
),
sample AS (SELECT item, count(*) AS n FROM pair WHERE sampled GROUP BY item),
frequency AS (
    SELECT o.item, o.quoted, o.tf, count(*) AS df
    FROM own o JOIN pair p ON p.item = o.item AND p.sampled AND p.v @@ o.q
    GROUP BY o.item, o.quoted, o.tf
),
term AS (
    SELECT f.item, f.quoted, row_number() OVER (
        PARTITION BY f.item ORDER BY f.tf * ln((s.n + 1.0) / f.df) DESC, f.quoted
    ) AS place
    FROM frequency f JOIN sample s USING (item)
),
query AS (
    SELECT item, string_agg(quoted, ' | ')::tsquery AS q FROM term WHERE place <= %s GROUP BY item
)
SELECT p.item, p.candidate, ts_rank(p.v, q.q, 1) FROM pair p JOIN query q USING (item)
"""


def _postgres_ranks(pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
    items = sorted({item for item, _ in pairs})
    seen: Counter = Counter()
    sampled = []
    for item, _ in pairs:  # the first SAMPLED of each item's candidates (its newest)
        seen[item] += 1
        sampled.append(seen[item] <= SAMPLED)
    with connection.cursor() as cursor:
        cursor.execute(
            _POSTGRES_RANKS,
            [[i for i, _ in pairs], [c for _, c in pairs], sampled, items, TERMS],
        )
        return {(item, c): score for item, c, score in cursor.fetchall() if score > 0}


_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in COMMON_WORDS]


def _sqlite_ranks(pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """The same ranking on SQLite, as BM25 over the candidates' rationales, in Python.

    FTS5's own bm25() cannot rank a given set of rows: each row looked up by rowid starts a new
    cursor, and each cursor counts every row of the table each word matches (2.3 ms a candidate
    for "pain" at 4,800 items, 36 ms for 40 words); asked of the whole table at once it pays
    for every row any word matches. Reading a few hundred rationales costs what their words do.
    """
    ids = sorted({i for pair in pairs for i in pair})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, rationale FROM decisions_decisionitem "
            "WHERE id IN (SELECT value FROM json_each(%s))",
            [json.dumps(ids)],
        )
        words = {pk: Counter(_words(text)) for pk, text in cursor.fetchall()}
    by_item: dict[int, list[int]] = {}
    for item, candidate in pairs:
        by_item.setdefault(item, []).append(candidate)
    ranks = {}
    for item, candidates in by_item.items():
        counts = {c: words.get(c, Counter()) for c in candidates}
        for c, score in _bm25(words.get(item, Counter()), counts).items():
            ranks[(item, c)] = score
    return ranks


def _bm25(own: Counter, counts: dict[int, Counter], k1: float = 1.2, b: float = 0.75) -> dict:
    """BM25 of each candidate for the ``TERMS`` most distinctive words of ``own`` among them."""
    n = len(counts)
    df = Counter(w for words in counts.values() for w in words.keys() & own.keys())
    terms = sorted(df, key=lambda w: (-own[w] * math.log((n + 1) / df[w]), w))[:TERMS]
    if not terms:
        return {}
    average = sum(sum(words.values()) for words in counts.values()) / n or 1
    scores = {}
    for c, words in counts.items():
        norm = k1 * (1 - b + b * sum(words.values()) / average)
        score = sum(
            math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
            * words[w]
            * (k1 + 1)
            / (words[w] + norm)
            for w in terms
            if words[w]
        )
        if score > 0:
            scores[c] = score
    return scores
