"""Load test: many clients at once against gunicorn with several workers, for a fixed time.

    .venv/bin/python bench/load_bench.py --engine postgres --database imr_bench1m
    .venv/bin/python bench/load_bench.py --engine sqlite --db bench-out/bench.sqlite3 \\
        --clients 20 --duration 30 --workers 4

Serves the site as bench/search_bench.py does (``bin/serve``: gunicorn in production settings
on a free loopback port, started by the same code) but with ``--workers`` sync workers, and with
LOG_LEVEL=INFO, its output in ``--server-log``. Each worker builds its facet index on its first
request, so before timing it sends rounds of ``--workers`` concurrent requests until the log has
one "facet index built" line per worker (or ``--warm-up-seconds`` pass). Then ``--clients``
threads, each making one request after another (a new connection each: sync workers close it),
for ``--duration`` seconds or until ``--max-requests`` in all. What they ask is ``--mix``:

- ``realistic`` (the default, ``bench/load_mix.py``): searches drawn by popularity from 5,000,
  letter pages from 20,000 letters, the API, reports, guideline pages and narrow exports, each
  client its own reproducible stream;
- ``fixed``: the search bench's 30 URLs in turn (each client starting at its own place in the
  list), so nearly every request after the first few is a cache hit: a best case.

A request that fails, times out or answers other than 200 is an error. Prints requests/s,
p50/p95/p99 of the latency of every request, the errors, the distinct URLs asked, then the same
per kind of request, and each worker's memory (VmRSS) after the run.

The clients run in this process on the same machine as the server: with 2 cores they take some
CPU from it, so the throughput is a lower bound of what the server alone would do.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchdb import OUT_DIR, add_database_arguments, database_from_arguments  # noqa: E402
from bench.load_mix import Mix  # noqa: E402
from bench.search_bench import (  # noqa: E402
    PAGE_SIZE,
    Request,
    Server,
    children,
    facts,
    index_builds,
    our_server,
    percentile,
    requests,
    worker_memory,
)

Streams = Callable[[int], Iterator[Request]]  # client number -> the requests it makes


@dataclass(frozen=True)
class Sample:
    name: str
    url: str
    started: float  # seconds since the load began
    seconds: float
    status: int  # 0: no answer (connection error or timeout)
    error: str = ""


def get(host: str, port: int, url: str, timeout: float) -> tuple[int, str]:
    """One GET on a new connection: (status, error text), the body read and dropped."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", url)
        response = conn.getresponse()
        response.read()
        return response.status, "" if response.status == 200 else f"HTTP {response.status}"
    except (OSError, http.client.HTTPException) as error:
        return 0, f"{type(error).__name__}: {error}"
    finally:
        conn.close()


def warm_up(server: Server, workers: int, timeout: float, seconds: float) -> None:
    """Rounds of ``workers`` concurrent requests until every worker has built its index."""
    host, port = server.base.removeprefix("http://").split(":")
    started = time.monotonic()
    rounds = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while len(index_builds(server)) < workers:
            if time.monotonic() - started > seconds:
                print(
                    f"warning: {len(index_builds(server))} of {workers} workers logged their "
                    f"index build after {seconds:.0f} s of warm-up; timing anyway"
                )
                break
            list(pool.map(lambda _: get(host, int(port), "/", timeout), range(workers)))
            rounds += 1
    print(f"warm-up: {rounds} rounds of {workers} requests in {time.monotonic() - started:.1f} s")
    for row in index_builds(server):
        print(f"  {row}")


def cycling(urls: list[Request], clients: int) -> Streams:
    """The fixed list in turn, each client starting at its own place in it."""

    def stream(number: int) -> Iterator[Request]:
        start = number * len(urls) // clients
        return itertools.islice(itertools.cycle(urls), start, None)

    return stream


def load(
    base: str,
    streams: Streams,
    clients: int,
    duration: float,
    max_requests: int,
    timeout: float,
) -> tuple[list[Sample], float]:
    """``clients`` threads each requesting its stream until ``duration`` or ``max_requests``:
    every sample, and the wall time the load took."""
    host, port = base.removeprefix("http://").split(":")
    samples: list[Sample] = []
    lock = threading.Lock()
    made = 0
    begin = time.perf_counter()
    deadline = begin + duration

    def client(number: int) -> None:
        nonlocal made
        for request in streams(number):
            with lock:
                if made >= max_requests or time.perf_counter() >= deadline:
                    return
                made += 1
            started = time.perf_counter()
            status, error = get(host, int(port), request.url, timeout)
            ended = time.perf_counter()
            with lock:
                samples.append(
                    Sample(
                        request.name, request.url, started - begin, ended - started, status, error
                    )
                )

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.perf_counter()) + timeout + 5)
    wall = time.perf_counter() - begin
    if any(thread.is_alive() for thread in threads):
        print("warning: some clients were still waiting for an answer; their requests are left out")
    with lock:
        return list(samples), wall


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """Each process's CPU time (user and system) so far, of those ``pids`` still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings (a process started meanwhile: all of its own; one that
    ended meanwhile is not counted)."""
    return sum(spent - before.get(pid, 0.0) for pid, spent in after.items())


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (its backends and helpers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdecimal():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_split(workers: float, database: float, clients: float, wall: float) -> str:
    """Where the machine's CPU went during the load, in core-seconds a second."""
    return (
        f"CPU during the load (cores busy on average): server workers {workers / wall:.2f}, "
        f"PostgreSQL {database / wall:.2f}, the bench's clients {clients / wall:.2f}"
    )


def ms(seconds: float) -> str:
    return "" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def report(samples: list[Sample], wall: float) -> None:
    times = [s.seconds for s in samples]
    errors = [s for s in samples if s.status != 200]
    print(
        f"\n{len(samples):,} requests in {wall:.1f} s: {len(samples) / wall:.1f} requests/s; "
        f"latency p50 {ms(percentile(times, 0.5))} ms, p95 {ms(percentile(times, 0.95))} ms, "
        f"p99 {ms(percentile(times, 0.99))} ms, max {ms(max(times, default=math.nan))} ms; "
        f"errors {len(errors)}"
    )
    kinds: dict[str, int] = {}
    for sample in errors:
        kinds[sample.error] = kinds.get(sample.error, 0) + 1
    for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {n:>6} x {kind}")
    distinct = len({s.url for s in samples})
    print(f"distinct URLs: {distinct:,} of {len(samples):,} requests")
    print(f"\n{'request':44} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}")
    for name in dict.fromkeys(s.name for s in samples):
        mine = [s for s in samples if s.name == name]
        values = [s.seconds for s in mine]
        failed = sum(s.status != 200 for s in mine)
        print(
            f"{name[:44]:44} {len(mine):>5} {ms(percentile(values, 0.5)):>8} "
            f"{ms(percentile(values, 0.95)):>8} {failed:>6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_database_arguments(parser, path_flag="--db")
    parser.add_argument("--clients", "-c", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--duration", "-d", type=float, default=60, help="seconds of load (60)")
    parser.add_argument("--workers", "-w", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--max-requests", type=int, default=1_000_000, help="stop after this many in all"
    )
    parser.add_argument("--timeout", type=float, default=30, help="seconds per request (30)")
    parser.add_argument(
        "--warm-up-seconds", type=float, default=600, help="longest wait for the index builds"
    )
    parser.add_argument(
        "--mix", choices=["realistic", "fixed"], default="realistic", help="what clients ask"
    )
    parser.add_argument("--seed", type=int, default=2026, help="the realistic mix's seed")
    parser.add_argument("--only", help="fixed mix: only requests whose name matches this regex")
    parser.add_argument(
        "--server-log", type=Path, default=OUT_DIR / "load_bench_server.log", help="server output"
    )
    parser.add_argument("--json", type=Path, help="write every sample to this file")
    args = parser.parse_args()
    if args.clients < 1 or args.workers < 1 or args.duration <= 0:
        sys.exit("--clients and --workers must be at least 1, --duration positive")
    db = database_from_arguments(args)
    letters, items, letter_key = facts(db)
    if args.mix == "fixed":
        urls = requests(letter_key, min(500, max(1, math.ceil(items / PAGE_SIZE))))
        if args.only:
            urls = [r for r in urls if re.search(args.only, r.name)]
        if not urls:
            sys.exit("no request matches --only")
        streams, asked = cycling(urls, args.clients), f"the fixed {len(urls)} URLs"
    else:
        conn = db.connect()
        mix = Mix(conn, seed=args.seed)
        conn.close()
        streams, asked = mix.stream, "the realistic mix"
    print(
        f"{db.label}: {letters:,} letters, {items:,} items; {args.clients} clients for "
        f"{args.duration:.0f} s over {asked}"
    )
    args.server_log.parent.mkdir(parents=True, exist_ok=True)
    # The server's own timeout is the warm-up's: a worker building its index is not killed.
    with our_server(db, args.warm_up_seconds, args.workers, args.server_log) as server:
        print(f"ours: {server.what}; server output in {server.log}")
        warm_up(server, args.workers, args.warm_up_seconds, args.warm_up_seconds)
        workers = children(server.pid) or [server.pid]
        database = postgres_pids if db.engine == "postgres" else list
        before = cpu_seconds(workers), cpu_seconds(database()), time.process_time()
        samples, wall = load(
            server.base, streams, args.clients, args.duration, args.max_requests, args.timeout
        )
        used = [
            cpu_since(before[0], cpu_seconds(workers)),
            cpu_since(before[1], cpu_seconds(database())),
            time.process_time() - before[2],
        ]
        report(samples, wall)
        print(cpu_split(*used, wall))
        print(f"\nafter the run: {worker_memory(server)}")
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in samples], indent=0))
        print(f"samples written to {args.json}")


if __name__ == "__main__":
    main()
