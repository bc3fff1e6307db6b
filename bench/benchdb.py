"""What the benchmark scripts share: which database a run uses, and how to reach it.

A benchmark database is an SQLite file (``--engine sqlite --out PATH``) or a PostgreSQL
database on the local server (``--engine postgres --database NAME``). The scripts talk to the
site only through ``manage.py``, HTTP and the database tables, so they keep working while the
``decisions`` app is refactored.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench-out"  # git-ignored: benchmark databases, exports, JSON results
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")


@dataclass(frozen=True)
class BenchDatabase:
    engine: str  # "sqlite" or "postgres"
    path: Path | None = None  # the SQLite file
    name: str | None = None  # the PostgreSQL database

    @property
    def url(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.path}"
        return f"{PG_SERVER}/{self.name}"

    @property
    def label(self) -> str:
        return str(self.path) if self.engine == "sqlite" else f"postgres:{self.name}"

    @property
    def placeholder(self) -> str:
        """How the DB-API driver spells a query parameter."""
        return "?" if self.engine == "sqlite" else "%s"

    def connect(self) -> Any:
        """A DB-API connection in autocommit mode (statements manage their own transactions)."""
        if self.engine == "sqlite":
            return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def size_bytes(self) -> int:
        if self.engine == "sqlite":
            files = [self.path, Path(f"{self.path}-wal")]
            return sum(f.stat().st_size for f in files if f.exists())
        with self.connect() as conn:
            return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]

    def recreate(self) -> None:
        """Start from nothing: remove the SQLite file, or drop and create the PostgreSQL db."""
        if self.engine == "sqlite":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.name}"')


def add_database_arguments(parser: argparse.ArgumentParser, *, path_flag: str) -> None:
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        path_flag,
        dest="path",
        type=Path,
        help=f"the SQLite file (default {OUT_DIR.name}/bench.sqlite3)",
    )
    parser.add_argument(
        "--database",
        help=f"the PostgreSQL database on {PG_SERVER} (default imr_bench_search)",
    )


def database_from_arguments(args: argparse.Namespace) -> BenchDatabase:
    if args.engine == "sqlite":
        if args.database:
            sys.exit("--database names a PostgreSQL database: use it with --engine postgres")
        path = (args.path or OUT_DIR / "bench.sqlite3").resolve()
        return BenchDatabase("sqlite", path=path)
    if args.path:
        sys.exit("a file is for --engine sqlite; PostgreSQL takes --database NAME")
    return BenchDatabase("postgres", name=args.database or "imr_bench_search")


def manage(db: BenchDatabase, *arguments: str, **env: str) -> None:
    """Run ``manage.py`` against ``db`` in a child process (development settings unless told)."""
    environment = {**os.environ, "DEBUG": "1", "DATABASE_URL": db.url, **env}
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *arguments], cwd=ROOT, env=environment, check=True
    )


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    raise AssertionError("unreachable")
