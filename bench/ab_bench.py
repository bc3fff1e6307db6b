"""A/B: the search bench's requests made of two checkouts in turn, CPU and wall time per request.

    git worktree add --detach ../imr-before main
    .venv/bin/python bench/ab_bench.py --a ../imr-before --b . --engine sqlite \\
        --db bench-out/bench100k.sqlite3 --rounds 7
    .venv/bin/python bench/ab_bench.py --a ../imr-before --b . --env-b SEARCH_CACHE_ENTRIES=0

Each checkout serves from a child process of its own (its code, this Python, production settings,
Django's test Client: server time without HTTP), on the same database. Every request of
``bench/search_bench.py``'s list is asked of A then B, then B then A the next round, so a host
whose speed drifts (other work on its cores) moves both alike; the ratio B/A is taken pair by
pair and its median printed, beside each side's median CPU time (``time.process_time``: this
process only, so a database server's own time is not in it; SQLite's is), median and p95 wall
time, and SQL queries. First each request is made once untimed of both and the bodies compared
with runs of whitespace collapsed: a change that should not change what users see is checked
on every request of the list.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchdb import add_database_arguments, database_from_arguments
from bench.search_bench import PAGE_SIZE, facts, percentile, production_env, requests

# One side: reads a JSON request a line ({"url": ..., "body": bool}), answers one a line.
CHILD = r"""
import json, os, sys, time
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imrsite.settings")
import django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client()
print("ready", flush=True)
for line in sys.stdin:
    asked = json.loads(line)
    with CaptureQueriesContext(connection) as queries:
        cpu, wall = time.process_time(), time.perf_counter()
        response = client.get(asked["url"])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    body = response.content.decode() if asked.get("body") else None
    answer = {"status": response.status_code, "cpu": cpu, "wall": wall,
              "queries": len(queries), "body": body}
    print(json.dumps(answer), flush=True)
"""


class Side:
    """A checkout serving requests in a child process."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=root,
            env=env,
            check=True,
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.process.stdout.readline().strip() != "ready":
            sys.exit(f"{root}: the child did not start")

    def get(self, url: str, body: bool = False) -> dict:
        self.process.stdin.write(json.dumps({"url": url, "body": body}) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def _env(base: dict[str, str], extra: list[str]) -> dict[str, str]:
    env = dict(base)
    for pair in extra:
        name, _, value = pair.partition("=")
        env[name] = value
    return env


def _same(a: dict, b: dict) -> bool:
    def collapse(body: str) -> str:
        return re.sub(r"\s+", " ", body).strip()

    return a["status"] == b["status"] and collapse(a["body"]) == collapse(b["body"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--a", type=Path, required=True, help="checkout A (the baseline)")
    parser.add_argument("--b", type=Path, required=True, help="checkout B (the change)")
    add_database_arguments(parser, path_flag="--db")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--only", help="only requests whose name matches this regex")
    parser.add_argument("--env-a", action="append", default=[], help="NAME=VALUE for A")
    parser.add_argument("--env-b", action="append", default=[], help="NAME=VALUE for B")
    args = parser.parse_args()
    db = database_from_arguments(args)
    letters, items, letter_key = facts(db)
    chosen = requests(letter_key, min(500, max(1, math.ceil(items / PAGE_SIZE))))
    if args.only:
        chosen = [r for r in chosen if re.search(args.only, r.name)]
    base = {**os.environ, **production_env(db)}
    a = Side(args.a.resolve(), _env(base, args.env_a))
    b = Side(args.b.resolve(), _env(base, args.env_b))
    print(f"{db.label}: {letters:,} letters, {items:,} items; A {args.a}, B {args.b}")
    differ = []
    for request in chosen:  # untimed: builds each side's index, warms caches, compares
        if not _same(a.get(request.url, body=True), b.get(request.url, body=True)):
            differ.append(request.name)
    samples: dict[str, dict[str, list[dict]]] = {r.name: {"a": [], "b": []} for r in chosen}
    for n in range(args.rounds):
        for request in chosen:
            for key, side in (("a", a), ("b", b)) if n % 2 == 0 else (("b", b), ("a", a)):
                samples[request.name][key].append(side.get(request.url))
    a.close()
    b.close()

    print(
        f"{'request':44} {'CPU ms A':>8} {'B':>6} {'B/A':>5}   {'wall p50/p95 A':>14}"
        f" {'B':>11} {'B/A':>5}  SQL A,B"
    )
    cpu_ratios, wall_ratios = [], []
    for request in chosen:
        s = samples[request.name]
        cpu = [statistics.median(x["cpu"] * 1000 for x in s[k]) for k in "ab"]
        wall = [[x["wall"] * 1000 for x in s[k]] for k in "ab"]
        pairs = list(zip(s["a"], s["b"], strict=True))
        cpu_ratio = statistics.median(y["cpu"] / x["cpu"] for x, y in pairs if x["cpu"] > 0)
        wall_ratio = statistics.median(y["wall"] / x["wall"] for x, y in pairs)
        cpu_ratios.append(cpu_ratio)
        wall_ratios.append(wall_ratio)
        walls = [f"{percentile(w, 0.5):.0f}/{percentile(w, 0.95):.0f}" for w in wall]
        print(
            f"{request.name[:44]:44} {cpu[0]:8.1f} {cpu[1]:6.1f} {cpu_ratio:5.2f}   {walls[0]:>14}"
            f" {walls[1]:>11} {wall_ratio:5.2f}  {s['a'][0]['queries']},{s['b'][0]['queries']}"
        )
    print(
        f"geometric mean of B/A over {len(chosen)} requests: CPU"
        f" {statistics.geometric_mean(cpu_ratios):.2f}, wall"
        f" {statistics.geometric_mean(wall_ratios):.2f}"
    )
    if differ:
        print("bodies that differ (runs of whitespace collapsed):", *differ, sep="\n  ")
    else:
        print(f"every body the same in A and B (runs of whitespace collapsed), {len(chosen)}")


if __name__ == "__main__":
    main()
