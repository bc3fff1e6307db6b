"""Ingest benchmark: letters per second and peak memory of `manage.py ingest_letters`.

    .venv/bin/python bench/ingest_bench.py [--letters 1000 4000] [--database sqlite postgres]

For each database and each batch size it makes a scratch database (a temporary SQLite file, or
the PostgreSQL database ``imr_bench`` on 127.0.0.1, dropped and created afresh), migrates it,
writes that many generated letters (decisions/lettergen.py) to a temporary directory, and times
`manage.py ingest_letters DIR -v 0` in a child process. Peak memory is the child's maximum
resident set size: flat across sizes means the ingest streams.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decisions import lettergen  # noqa: E402

PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def scratch_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS imr_bench")
        conn.execute("CREATE DATABASE imr_bench")
    return f"{PG_SERVER}/imr_bench"


def run(count: int, kind: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = {**os.environ, "DEBUG": "1", "DATABASE_URL": scratch_database(kind, workdir)}
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True)
        letters = lettergen.write(workdir / "letters", count, header=False)
        started = time.perf_counter()
        child = subprocess.Popen(
            [*manage, "ingest_letters", str(letters[0].parent), "-v", "0"], env=env
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"ingest_letters failed on {kind} with {count} letters")
    return count / seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--database", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args()
    print(f"{'database':10} {'letters':>8} {'letters/s':>10} {'peak MiB':>9}")
    for kind in args.database:
        for count in sorted(args.letters):
            rate, peak = run(count, kind)
            print(f"{kind:10} {count:8d} {rate:10.0f} {peak:9.0f}", flush=True)
    print("(wall time of the whole command, start-up included; peak = max RSS of the child)")


if __name__ == "__main__":
    main()
