"""Parser benchmark: letters parsed per second on one core.

    .venv/bin/python bench/parse_bench.py [--letters 4000] [--repeat 3] [--varied 0.5]

Generates distinct letters (decisions/lettergen.py: the sample letters' layout with varied
requests, dates and outcomes, about 4 KB each), delivers a ``--varied`` share of them the ways
extraction varies (bench/variants.py: line endings, wrapping, page furniture, hyphenation,
typography, in random combinations), then times ``parse_letter`` over all of them in this one
process (one core), best of ``--repeat`` runs. The vocabulary regexes are compiled before timing
starts, as they are once per ingest run.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import variants  # noqa: E402
from decisions import lettergen  # noqa: E402
from decisions.parsing import parse_letter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--varied", type=float, default=0.5, help="share of varied letters")
    args = parser.parse_args()
    rng = random.Random(2026)
    texts = [
        variants.combined(text, rng) if rng.random() < args.varied else text
        for _, text in lettergen.letters(args.letters, header=False)
    ]
    parse_letter(texts[0])  # compile the vocabulary matchers
    best = float("inf")
    items = 0
    for _ in range(args.repeat):
        started = time.perf_counter()
        items = sum(len(parse_letter(text).items) for text in texts)
        best = min(best, time.perf_counter() - started)
    size = sum(map(len, texts)) / len(texts)
    print(
        f"{len(texts)} letters ({size / 1024:.1f} KB each, {items} items, "
        f"{args.varied:.0%} varied): "
        f"{len(texts) / best:.0f} letters/s, {best / len(texts) * 1000:.2f} ms per letter "
        f"(best of {args.repeat}, one core)"
    )


if __name__ == "__main__":
    main()
