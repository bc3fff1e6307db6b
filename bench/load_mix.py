"""The load benchmark's realistic mix: what a day of readers asks, drawn at random, reproducibly.

Readers do not all ask the same 30 URLs. Of every 100 requests this mix makes:

- 50 search pages and 15 JSON API calls. Each is one of 5,000 searches drawn once from the
  database's own values (the 30 treatments, 15 body regions and 20 drugs most asked for, every
  guideline, the 10 most frequent reviewer specialties, years of injury, the outcomes, age bands
  and sexes, with a realistic phrase as text in one in five), 0 to 3 filters each, sometimes a
  sort or page 2-5. Which search is asked follows Zipf's law (s = 1): a few searches are asked
  often, most rarely, as with any search log, so a worker's cache answers the popular ones and
  the long tail is computed.
- 21 letter pages, each a letter drawn uniformly from 20,000 sampled from the whole database:
  nearly every one is a miss.
- 7 report pages (every decision, a year of injury, or a treatment) and 6 guideline pages (the
  list, or one guideline, sometimes within a treatment).
- 1 export (CSV or JSON Lines) of a narrow search: a treatment, a body region, a year of injury
  and an outcome that some decision has (200 such scopes sampled from the items, so common ones
  come up as often as they are common: at a million generated letters, hundreds to over ten
  thousand rows), the file a reader downloads for a brief. Downloads are rarer than page views
  on any site; one in a hundred is generous.

Every URL is one the site answers 200; the bench counts anything else as an error.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator
from typing import Any

from bench.search_bench import Request

PHRASES = [
    "physical therapy",
    '"epidural steroid injection"',
    "lumbar mri",
    "norco",
    "gabapentin",
    "acupuncture",
    "chiropractic",
    "tramadol",
    "knee arthroscopy",
    "functional restoration",
    "opioid",
    "radiofrequency ablation",
    "home exercise",
    '"trigger point"',
    "cervical",
]
SEARCHES = 5_000
LETTERS = 20_000
KINDS = [  # (kind, weight of 100)
    ("search", 50),
    ("api", 15),
    ("letter", 21),
    ("report", 7),
    ("guidelines", 6),
    ("export", 1),
]


def _top(conn: Any, sql: str) -> list[str]:
    return [str(row[0]) for row in conn.execute(sql).fetchall() if row[0] not in (None, "")]


def vocabulary(conn: Any) -> dict[str, list[str]]:
    """The values the mix draws from, most asked first, read from the database."""
    return {
        "treatment": _top(
            conn,
            "SELECT treatment_id FROM decisions_decisionitem_treatments "
            "GROUP BY treatment_id ORDER BY count(*) DESC LIMIT 30",
        ),
        "body_region": _top(
            conn,
            "SELECT bodyregion_id FROM decisions_decisionitem_body_regions "
            "GROUP BY bodyregion_id ORDER BY count(*) DESC LIMIT 15",
        ),
        "drug": _top(
            conn,
            "SELECT drug_id FROM decisions_decisionitem WHERE drug_id IS NOT NULL "
            "GROUP BY drug_id ORDER BY count(*) DESC LIMIT 20",
        ),
        "guideline": _top(conn, "SELECT slug FROM decisions_guideline ORDER BY slug"),
        "specialty": _top(
            conn,
            "SELECT specialty_id FROM decisions_determination_reviewer_specialties "
            "GROUP BY specialty_id ORDER BY count(*) DESC LIMIT 10",
        ),
        "injury_year": _top(
            conn,
            "SELECT injury_year FROM decisions_determination WHERE injury_year IS NOT NULL "
            "GROUP BY injury_year ORDER BY count(*) DESC LIMIT 12",
        ),
        "outcome": ["upheld", "overturned"],
        "age": ["under_30", "30_39", "40_49", "50_59", "60_plus"],
        "sex": ["female", "male"],
    }


def export_scopes(conn: Any, n: int = 200) -> list[tuple[str, str, str, str]]:
    """``n`` (treatment, body region, year of injury, outcome) that decisions have, sampled from
    the items in id order (every k-th), so a common scope is drawn as often as it is common."""
    (count,) = conn.execute("SELECT count(*) FROM decisions_decisionitem").fetchone()
    step = max(1, count // (4 * n))
    sql = (
        "SELECT t.treatment_id, b.bodyregion_id, d.injury_year, i.outcome "
        "FROM decisions_decisionitem i "
        "JOIN decisions_decisionitem_treatments t ON t.decisionitem_id = i.id "
        "JOIN decisions_decisionitem_body_regions b ON b.decisionitem_id = i.id "
        "JOIN decisions_determination d ON d.id = i.determination_id "
        f"WHERE i.id % {step} = 0 AND d.injury_year IS NOT NULL LIMIT {n}"
    )
    return [tuple(map(str, row)) for row in conn.execute(sql).fetchall()]


def letter_keys(conn: Any, n: int = LETTERS) -> list[str]:
    """``n`` letters' keys, sampled from the whole table (in id order, every k-th)."""
    (count,) = conn.execute("SELECT count(*) FROM decisions_determination").fetchone()
    step = max(1, count // n)
    sql = f"SELECT key FROM decisions_determination WHERE id % {step} = 0 LIMIT {n}"
    return [row[0] for row in conn.execute(sql).fetchall()]


class Mix:
    """An endless, reproducible stream of requests per client (``stream(number)``)."""

    def __init__(self, conn: Any, seed: int = 2026) -> None:
        self.values = vocabulary(conn)
        self.keys = letter_keys(conn)
        self.scopes = export_scopes(conn)
        rng = random.Random(seed)
        self.searches = [self._search(rng) for _ in range(SEARCHES)]
        # Zipf (s = 1): the r-th most popular search is asked in proportion to 1/r.
        self.popularity = list(itertools.accumulate(1 / r for r in range(1, SEARCHES + 1)))
        self.kinds = list(itertools.accumulate(w for _, w in KINDS))
        self.seed = seed

    def _search(self, rng: random.Random) -> list[tuple[str, str]]:
        names = [
            n
            for n in (
                "treatment",
                "body_region",
                "drug",
                "guideline",
                "specialty",
                "injury_year",
                "outcome",
                "age",
                "sex",
            )
            if self.values[n]
        ]
        params = [(n, rng.choice(self.values[n])) for n in rng.sample(names, rng.randint(0, 3))]
        if rng.random() < 0.2:
            params.append(("q", rng.choice(PHRASES)))
        if rng.random() < 0.15:
            params.append(("sort", rng.choice(["oldest", "injury", "age"])))
        if rng.random() < 0.15:
            params.append(("page", str(rng.randint(2, 5))))
        return params

    def _popular(self, rng: random.Random) -> list[tuple[str, str]]:
        at = bisect.bisect(self.popularity, rng.random() * self.popularity[-1])
        return self.searches[min(at, SEARCHES - 1)]

    def stream(self, number: int) -> Iterator[Request]:
        rng = random.Random(f"{self.seed}:{number}")
        v = self.values
        while True:
            at = bisect.bisect(self.kinds, rng.random() * self.kinds[-1])
            kind = KINDS[min(at, len(KINDS) - 1)][0]
            if kind == "search":
                yield Request("search page", "/", self._popular(rng))
            elif kind == "api":
                yield Request("API search", "/api/decisions/", self._popular(rng))
            elif kind == "letter":
                key = rng.choice(self.keys)
                yield Request("letter page", f"/letters/{key}/")
            elif kind == "report":
                scope = rng.choice(
                    [
                        [],
                        [("injury_year", rng.choice(v["injury_year"]))],
                        [("treatment", rng.choice(v["treatment"]))],
                    ]
                )
                yield Request("report", "/report/", scope)
            elif kind == "guidelines":
                if rng.random() < 0.5:
                    yield Request("guidelines", "/guidelines/")
                else:
                    scope = (
                        [("treatment", rng.choice(v["treatment"]))] if rng.random() < 0.3 else []
                    )
                    yield Request(
                        "guideline page", f"/guidelines/{rng.choice(v['guideline'])}/", scope
                    )
            else:
                treatment, region, year, outcome = rng.choice(self.scopes)
                params = [
                    ("treatment", treatment),
                    ("body_region", region),
                    ("injury_year", year),
                    ("outcome", outcome),
                    ("format", rng.choice(["csv", "jsonl"])),
                ]
                yield Request("export (narrow)", "/api/decisions/", params)
