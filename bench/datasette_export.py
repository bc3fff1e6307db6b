"""Export the decisions as one flat SQLite table for Datasette: one row per decision item.

    .venv/bin/python bench/datasette_export.py --engine postgres --database imr_bench100k OUT.db

Table ``items``, one row per disputed item (``id`` is the item's id), with its facet columns:

- single-valued, plain indexed columns: ``outcome``, ``sex`` (NULL when the letter does not
  say), ``age_band`` (the site's bands: under_30, 30_39, 40_49, 50_59, 60_plus),
  ``injury_year``, plus ``patient_age`` and ``date_of_injury`` for the sorts and
  ``determination_id``, ``position`` for reference;
- multi-valued, JSON arrays of slugs, sorted (Datasette's ``_facet_array=`` counts each
  element once per row, ``COLUMN__arraycontains=VALUE`` filters; SQLite cannot index inside
  them): ``treatments``, ``body_regions``, ``guidelines`` and ``sources`` (of the item's
  citations), ``specialties`` and ``states`` (of the letter's reviewer), ``cited_pages``
  (every page of every range the letter cites, as strings: "98-99" gives "98" and "99"), and
  ``guideline_pages`` ("mtus_chronic_pain:99"), so "guideline G cites page P" stays one
  condition on one citation, as on the site.

Pages derived from the MTUS page table (not written in the letter) are left out, as the site's
page filter leaves them out.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchdb import (  # noqa: E402
    BenchDatabase,
    add_database_arguments,
    database_from_arguments,
    human_bytes,
)

COLUMNS = {
    "id": "INTEGER PRIMARY KEY",
    "determination_id": "INTEGER NOT NULL",
    "position": "INTEGER NOT NULL",
    "outcome": "TEXT NOT NULL",
    "treatments": "TEXT NOT NULL",
    "body_regions": "TEXT NOT NULL",
    "guidelines": "TEXT NOT NULL",
    "sources": "TEXT NOT NULL",
    "cited_pages": "TEXT NOT NULL",
    "guideline_pages": "TEXT NOT NULL",
    "specialties": "TEXT NOT NULL",
    "states": "TEXT NOT NULL",
    "sex": "TEXT",
    "age_band": "TEXT",
    "patient_age": "INTEGER",
    "injury_year": "INTEGER",
    "date_of_injury": "TEXT",
}
INDEXED = ["determination_id", "outcome", "sex", "age_band", "patient_age", "injury_year"]
INDEXED += ["date_of_injury"]
MAX_RANGE = 200  # pages expanded from one range at most (a guard against a misread range)
CHUNK = 50_000  # items read per round trip


def age_band(age: int | None) -> str | None:
    if age is None:
        return None
    if age < 30:
        return "under_30"
    if age >= 60:
        return "60_plus"
    decade = age // 10 * 10
    return f"{decade}_{decade + 9}"


def _grouped(rows: Any) -> defaultdict[int, set[str]]:
    out: defaultdict[int, set[str]] = defaultdict(set)
    for key, value in rows:
        out[key].add(str(value))
    return out


def _array(values: set[str] | None) -> str:
    return json.dumps(sorted(values or ()))


def _rows(conn: Any, p: str, lo: int, hi: int) -> list[tuple]:
    """The flat rows of items ``lo <= id < hi``."""
    within = f"BETWEEN {p} AND {p}"
    items = conn.execute(
        "SELECT id, determination_id, position, outcome FROM decisions_decisionitem "
        f"WHERE id {within} ORDER BY id",
        [lo, hi - 1],
    ).fetchall()
    if not items:
        return []
    first, last = min(i[1] for i in items), max(i[1] for i in items)
    item_range, letter_range = [lo, hi - 1], [first, last]
    treatments = _grouped(
        conn.execute(
            "SELECT decisionitem_id, treatment_id FROM decisions_decisionitem_treatments "
            f"WHERE decisionitem_id {within}",
            item_range,
        )
    )
    regions = _grouped(
        conn.execute(
            "SELECT decisionitem_id, bodyregion_id FROM decisions_decisionitem_body_regions "
            f"WHERE decisionitem_id {within}",
            item_range,
        )
    )
    citations = conn.execute(
        f"SELECT item_id, guideline_id, source FROM decisions_guidelinecitation "
        f"WHERE item_id {within}",
        item_range,
    ).fetchall()
    guidelines = _grouped((item, guideline) for item, guideline, _ in citations)
    sources = _grouped((item, source) for item, _, source in citations)
    pages: defaultdict[int, set[str]] = defaultdict(set)
    guideline_pages: defaultdict[int, set[str]] = defaultdict(set)
    for item, guideline, first_page, last_page in conn.execute(
        "SELECT c.item_id, c.guideline_id, r.first_page, r.last_page "
        "FROM decisions_citedpagerange r "
        "JOIN decisions_guidelinecitation c ON c.id = r.citation_id "
        f"WHERE NOT r.derived AND c.item_id {within}",
        item_range,
    ):
        for page in range(first_page, min(last_page, first_page + MAX_RANGE) + 1):
            pages[item].add(str(page))
            guideline_pages[item].add(f"{guideline}:{page}")
    specialties = _grouped(
        conn.execute(
            "SELECT determination_id, specialty_id FROM "
            f"decisions_determination_reviewer_specialties WHERE determination_id {within}",
            letter_range,
        )
    )
    states = _grouped(
        conn.execute(
            "SELECT determination_id, state_id FROM decisions_determination_reviewer_states "
            f"WHERE determination_id {within}",
            letter_range,
        )
    )
    letters = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT id, patient_sex, patient_age, injury_year, date_of_injury "
            f"FROM decisions_determination WHERE id {within}",
            letter_range,
        )
    }
    out = []
    for item, letter, position, outcome in items:
        sex, age, year, injured = letters[letter]
        out.append(
            (
                item,
                letter,
                position,
                outcome,
                _array(treatments.get(item)),
                _array(regions.get(item)),
                _array(guidelines.get(item)),
                _array(sources.get(item)),
                _array(pages.get(item)),
                _array(guideline_pages.get(item)),
                _array(specialties.get(letter)),
                _array(states.get(letter)),
                sex or None,
                age_band(age),
                age,
                year,
                str(injured) if injured else None,
            )
        )
    return out


def export(db: BenchDatabase, path: Path) -> int:
    """Write the flat ``items`` table of ``db`` to a new SQLite file at ``path``; rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    out = sqlite3.connect(path)
    out.execute("PRAGMA journal_mode = OFF")
    out.execute("PRAGMA synchronous = OFF")
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    out.execute(f"CREATE TABLE items ({columns})")
    insert = f"INSERT INTO items VALUES ({', '.join('?' * len(COLUMNS))})"
    source = db.connect()
    top = source.execute("SELECT coalesce(max(id), 0) FROM decisions_decisionitem").fetchone()[0]
    written = 0
    for lo in range(1, top + 1, CHUNK):
        rows = _rows(source, db.placeholder, lo, lo + CHUNK)
        out.executemany(insert, rows)
        written += len(rows)
    source.close()
    for column in INDEXED:
        out.execute(f"CREATE INDEX items_{column} ON items ({column})")
    out.commit()
    out.execute("ANALYZE")
    out.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_arguments(parser, path_flag="--db")
    parser.add_argument("out", type=Path, help="the SQLite file to write (replaced)")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = export(database_from_arguments(args), args.out)
    size = human_bytes(args.out.stat().st_size)
    print(f"{rows:,} items to {args.out} ({size}) in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
