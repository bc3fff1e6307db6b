"""Guideline browser benchmark: how long /guidelines/ and a guideline's page take to make.

    .venv/bin/python bench/guideline_bench.py --engine postgres --database imr_bench1m

In process, as ``search_bench.py --in-process`` does (Django's test Client, production settings:
DEBUG=0, a throwaway SECRET_KEY; SQL queries counted), with the rendered-search cache off so the
searches the pages link to are made afresh. One untimed request builds the facet index (its
time is printed), then each request of ``REQUESTS`` is made ``--repeat`` times: p50 and p95 of
the wall time, and the SQL queries. Then, for comparison with the engine's chapter and section
bitmaps, the same counts asked of the database, unscoped: ACOEM's chapters (a GROUP BY over
CitedChapter) and the sections of ACOEM and of MTUS Chronic Pain (a GROUP BY over citations).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchdb import add_database_arguments, database_from_arguments  # noqa: E402
from bench.search_bench import in_process_fetch, percentile  # noqa: E402

LUMBAR_PT = "treatment=physical_therapy&body_region=lumbar_spine"
REQUESTS = [
    ("every guideline", "/guidelines/"),
    ("every guideline, by rate", "/guidelines/?order=rate"),
    ("every guideline, lumbar PT", f"/guidelines/?{LUMBAR_PT}"),
    ("every guideline, outcome+sex+age", "/guidelines/?outcome=upheld&sex=female&age=40_49"),
    ("MTUS Chronic Pain", "/guidelines/mtus_chronic_pain/"),
    ("MTUS Chronic Pain, by rate", "/guidelines/mtus_chronic_pain/?order=rate"),
    ("MTUS Chronic Pain, lumbar PT", f"/guidelines/mtus_chronic_pain/?{LUMBAR_PT}"),
    ("MTUS Chronic Pain, q=epidural", "/guidelines/mtus_chronic_pain/?q=epidural"),
    ("MTUS ACOEM", "/guidelines/mtus_acoem/"),
    ("MTUS ACOEM, lumbar PT", f"/guidelines/mtus_acoem/?{LUMBAR_PT}"),
    ("ODG", "/guidelines/odg/"),
    ("Other non-MTUS", "/guidelines/non_mtus_other/"),
    ("a page's link: search", "/?guideline=mtus_chronic_pain&cited_page=99&source=maximus"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_arguments(parser, path_flag="--db")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", help="a regular expression: only the requests it finds")
    args = parser.parse_args()
    db = database_from_arguments(args)
    os.environ["SEARCH_CACHE_ENTRIES"] = "0"
    fetch = in_process_fetch(db)
    started = time.perf_counter()
    first = fetch("/guidelines/")
    print(f"{db.label}: first request (builds the facet index) {first.seconds:.1f} s")
    for label, url in REQUESTS:
        if args.only and not re.search(args.only, label):
            continue
        samples = [fetch(url) for _ in range(args.repeat)]
        statuses = {s.status for s in samples}
        ms = [s.seconds * 1000 for s in samples]
        print(
            f"{label:36} p50 {percentile(ms, 0.5):7.0f} ms  p95 {percentile(ms, 0.95):7.0f} ms"
            f"  {samples[0].queries} queries"
            + ("" if statuses == {200} else f"  status {sorted(statuses)}")
        )
    _database_counts(args.repeat)
    print(f"total {time.perf_counter() - started:.0f} s")


def _database_counts(repeat: int) -> None:
    """The same counts asked of the database instead, for comparison."""
    from django.db import connection

    from decisions.models import CitedChapter, DecisionItem, GuidelineCitation

    citations = (
        f"{GuidelineCitation._meta.db_table} c"
        f" JOIN {DecisionItem._meta.db_table} i ON i.id = c.item_id"
    )
    overturned = "SUM(CASE WHEN i.outcome = 'overturned' THEN 1 ELSE 0 END)"
    chapters = (
        f"SELECT c.source, h.chapter, COUNT(*), {overturned}"
        f" FROM {citations} JOIN {CitedChapter._meta.db_table} h ON h.citation_id = c.id"
        " WHERE c.guideline_id = 'mtus_acoem' GROUP BY c.source, h.chapter"
    )
    sections = (
        f"SELECT LOWER(c.section), c.source, MIN(c.section), COUNT(*), {overturned}"
        f" FROM {citations} WHERE c.guideline_id = %s AND NOT c.section_derived"
        " AND c.section <> '' GROUP BY LOWER(c.section), c.source"
    )
    for label, run in [
        ("ACOEM chapters, SQL GROUP BY", lambda: _sql(connection, chapters)),
        ("ACOEM sections, SQL GROUP BY", lambda: _sql(connection, sections, ["mtus_acoem"])),
        ("Chronic Pain sections, SQL", lambda: _sql(connection, sections, ["mtus_chronic_pain"])),
    ]:
        ms = []
        for _ in range(repeat):
            started = time.perf_counter()
            run()
            ms.append((time.perf_counter() - started) * 1000)
        print(f"{label:36} p50 {percentile(ms, 0.5):7.0f} ms  p95 {percentile(ms, 0.95):7.0f} ms")


def _sql(connection, sql: str, params: list | None = None) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


if __name__ == "__main__":
    main()
