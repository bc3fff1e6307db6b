"""What the outcome panel adds to a search: the search alone, then with its panel, in turn.

    .venv/bin/python bench/panel_bench.py --engine postgres --database imr_bench1m --rounds 7

In one process on the given database (production settings, the rendered-search cache off),
each search of a fixed list is run by ``selectors.decision_search`` without breakdowns and with
the panel's (the rate by the chosen facet, and by year), alternately A B B A, after a warm-up;
it prints each search's median CPU time both ways and the median difference, pair by pair.
The facet index is built once before timing (it is shared by both). The report page's six
breakdowns are timed the same way (``--report``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchdb import add_database_arguments, database_from_arguments

SEARCHES = [
    "",
    "outcome=overturned",
    "treatment=physical_therapy",
    "body_region=lumbar_spine&sex=female",
    "guideline=mtus_chronic_pain&cited_page=99",
    "by=treatment",
    "by=cited_page&order=rate",
    "by=drug_class&trend=injury_year",
    "q=epidural injection",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_arguments(parser, path_flag="--db")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--report", action="store_true", help="time the report's breakdowns")
    args = parser.parse_args()
    db = database_from_arguments(args)
    os.environ.update(
        DATABASE_URL=db.url,
        SECRET_KEY="bench",
        ALLOWED_HOSTS="*",
        SEARCH_CACHE_ENTRIES="0",
        DJANGO_SETTINGS_MODULE="imrsite.settings",
    )
    os.environ.pop("DEBUG", None)
    import django

    django.setup()
    from django.http import QueryDict

    from decisions import facet_index, selectors

    started = time.perf_counter()
    with facet_index.current_index() as index:
        print(f"index: {len(index.items):,} items in {time.perf_counter() - started:.1f} s")

    def timed(query: str, with_panel: bool) -> float:
        params = QueryDict(query)
        if with_panel:
            wanted = (
                selectors.REPORT_BREAKDOWNS
                if args.report
                else selectors.panel_breakdowns(params)[0]
            )
        else:
            wanted = None
        cpu = time.process_time()
        selectors.decision_search(params, breakdowns=wanted)
        return (time.process_time() - cpu) * 1000

    print(f"{'search':45} {'alone ms':>9} {'with ms':>9} {'added ms':>9}")
    added_all = []
    for query in SEARCHES:
        timed(query, False), timed(query, True)  # warm-up
        alone, panel, added = [], [], []
        for n in range(args.rounds):
            order = (False, True) if n % 2 == 0 else (True, False)
            got = {flag: timed(query, flag) for flag in order}
            alone.append(got[False]), panel.append(got[True])
            added.append(got[True] - got[False])
        added_all.append(statistics.median(added))
        print(
            f"{query or '(home)':45} {statistics.median(alone):9.1f} "
            f"{statistics.median(panel):9.1f} {statistics.median(added):9.1f}"
        )
    print(f"added: median {statistics.median(added_all):.1f} ms, most {max(added_all):.1f} ms")


if __name__ == "__main__":
    main()
