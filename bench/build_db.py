"""Build an N-letter benchmark database on SQLite or PostgreSQL.

    .venv/bin/python bench/build_db.py --engine sqlite --letters 2000 [--out PATH]
    .venv/bin/python bench/build_db.py --engine postgres --letters 100000 --database imr_bench100k

1. Starts from nothing (the SQLite file removed, the PostgreSQL database dropped and created)
   and runs ``manage.py migrate``.
2. Writes ``--base`` letters (default min(N, 5000)) with decisions/lettergen.py and ingests them
   with ``manage.py ingest_letters DIR -v 0 --workers 1``: the real parser and the real writes.
3. If N is larger, multiplies those rows inside the database with ``INSERT ... SELECT``, one
   copy number k per pass over the base: every id is shifted by k times the base's largest id
   (foreign keys by their parent's), content hashes get k as a suffix so they stay unique, and
   each copy shifts the patient's age and the letter's dates by a few years so the age and
   year facets are not the base's repeated. Full text follows: PostgreSQL's tsvector column is
   generated, SQLite's FTS5 table is kept by the migration's triggers. On PostgreSQL the
   secondary indexes are dropped for the copy and rebuilt after, and foreign-key triggers are
   skipped (the copies reference rows copied in the same pass), which makes a million letters a
   matter of minutes. The triggers that keep PostgreSQL's table of item ids under the full-text
   index (migration 0008) are skipped with them: that table is filled after the copy.
4. ANALYZE (VACUUM ANALYZE on PostgreSQL), then prints the row count of every table and the
   size of the database.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchdb import (  # noqa: E402
    BenchDatabase,
    add_database_arguments,
    database_from_arguments,
    human_bytes,
    manage,
)
from decisions import lettergen  # noqa: E402

DETERMINATION = "decisions_determination"
ITEM = "decisions_decisionitem"
CITATION = "decisions_guidelinecitation"
# Full-text tables (SQLite FTS5, kept by triggers): filled as rows are copied, never copied.
FTS = ("decisions_determination_fts", "decisions_decisionitem_fts")
# PostgreSQL: the item ids under the full-text index (migration 0008), kept by triggers the copy
# skips: filled after the copy, with its indexes built once at the end.
ITEM_SEARCH = "decisions_itemsearch"

_ITEM_JOIN = "JOIN decisions_decisionitem i ON i.id = src.{fk}"
_CITATION_JOIN = (
    "JOIN decisions_guidelinecitation c ON c.id = src.citation_id "
    "JOIN decisions_decisionitem i ON i.id = c.item_id"
)


@dataclass(frozen=True)
class Table:
    """A table whose rows belong to one letter: how to find that letter, which ids to shift."""

    name: str
    foreign_keys: dict[str, str] = field(default_factory=dict)  # column -> parent table
    letter: str = "src.determination_id"  # the owning letter's id, as an SQL expression
    joins: str = ""  # what ``letter`` needs joined


# Parents before children. Corrections are not copied: ingest writes none.
TABLES = [
    Table(DETERMINATION, letter="src.id"),
    Table("decisions_determination_reviewer_specialties", {"determination_id": DETERMINATION}),
    Table("decisions_determination_reviewer_states", {"determination_id": DETERMINATION}),
    Table(ITEM, {"determination_id": DETERMINATION}),
    Table(
        "decisions_decisionitem_treatments",
        {"decisionitem_id": ITEM},
        "i.determination_id",
        _ITEM_JOIN.format(fk="decisionitem_id"),
    ),
    Table(
        "decisions_decisionitem_body_regions",
        {"decisionitem_id": ITEM},
        "i.determination_id",
        _ITEM_JOIN.format(fk="decisionitem_id"),
    ),
    Table(CITATION, {"item_id": ITEM}, "i.determination_id", _ITEM_JOIN.format(fk="item_id")),
    Table(
        "decisions_citedpagerange", {"citation_id": CITATION}, "i.determination_id", _CITATION_JOIN
    ),
    Table(
        "decisions_citedchapter", {"citation_id": CITATION}, "i.determination_id", _CITATION_JOIN
    ),
]

# Tables the copy leaves as they are: vocabularies (shared by every letter) and corrections.
NOT_COPIED = {
    "decisions_treatment",
    "decisions_bodyregion",
    "decisions_guideline",
    "decisions_specialty",
    "decisions_state",
    "decisions_correction",
}

# Each copy k moves its letters' dates by -5..+5 years (0 for some) and its patients' ages.
SHIFT_YEARS = "((cp.k * 7) % 11 - 5)"


class Dialect:
    """The few SQL spellings that differ between the engines."""

    def __init__(self, engine: str) -> None:
        self.engine = engine

    def columns(self, conn: Any, table: str) -> list[str]:
        """Columns an INSERT may write (not generated ones), in table order."""
        if self.engine == "sqlite":
            return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND table_schema = current_schema() AND is_generated = 'NEVER' "
            "ORDER BY ordinal_position",
            [table],
        )
        return [row[0] for row in rows]

    def hash_suffixed(self, column: str) -> str:
        if self.engine == "sqlite":
            return f"substr({column}, 1, 56) || printf('%08x', cp.k)"
        return f"left({column}, 56) || lpad(to_hex(cp.k), 8, '0')"

    def shifted_date(self, column: str) -> str:
        if self.engine == "sqlite":
            return f"date({column}, {SHIFT_YEARS} || ' years')"
        return f"({column} + make_interval(years => {SHIFT_YEARS}))::date"


_KEY = '"key"'  # a keyword in SQL


def varied(dialect: Dialect) -> dict[str, str]:
    """Letter columns each copy changes (applied to those the table has)."""
    return {
        "content_hash": dialect.hash_suffixed("src.content_hash"),
        "key": f"substr(src.{_KEY}, 1, 48) || '-' || cp.k",  # unique: the base's is
        "source_name": "src.source_name || '#' || cp.k",
        "patient_age": "18 + (src.patient_age + cp.k * 13) % 62",
        "date_of_injury": dialect.shifted_date("src.date_of_injury"),
        "injury_year": f"src.injury_year + {SHIFT_YEARS}",
        "ur_date": dialect.shifted_date("src.ur_date"),
        "date_assigned": dialect.shifted_date("src.date_assigned"),
    }


def copy_statement(
    table: Table, columns: list[str], spans: dict[str, int], dialect: Dialect
) -> str:
    """INSERT ... SELECT making, for every row of ``bench_copies``, a copy of the base's rows."""
    overrides = {"id": f"src.id + cp.k * {spans[table.name]}"}
    overrides |= {
        fk: f"src.{fk} + cp.k * {spans[parent]}" for fk, parent in table.foreign_keys.items()
    }
    if table.name == DETERMINATION:
        overrides |= varied(dialect)
    select = ", ".join(overrides.get(c, f"src.{c}") for c in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    return (
        f'INSERT INTO "{table.name}" ({quoted}) SELECT {select} FROM "{table.name}" src '
        f"{table.joins} CROSS JOIN bench_copies cp WHERE {table.letter} <= cp.cutoff"
    )


def table_names(conn: Any, engine: str) -> list[str]:
    if engine == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
    return [row[0] for row in conn.execute(sql)]


def count(conn: Any, table: str) -> int:
    return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def largest_id(conn: Any, table: str) -> int:
    return conn.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"').fetchone()[0]


# --- the steps ------------------------------------------------------------------------------


def ingest_base(db: BenchDatabase, letters: int, seed: int) -> None:
    with tempfile.TemporaryDirectory(prefix="imr-bench-letters-") as tmp:
        started = time.perf_counter()
        paths = lettergen.write(Path(tmp), letters, seed, header=False)
        print(
            f"  wrote {len(paths):,} letters in {time.perf_counter() - started:.1f} s", flush=True
        )
        started = time.perf_counter()
        manage(db, "ingest_letters", tmp, "-v", "0", "--workers", "1")
        seconds = time.perf_counter() - started
        print(f"  ingested in {seconds:.1f} s ({letters / seconds:,.0f} letters/s)", flush=True)


def secondary_indexes(conn: Any) -> list[tuple[str, str]]:
    """PostgreSQL indexes of the copied tables that back no constraint: (name, definition)."""
    names = [t.name for t in TABLES] + [ITEM_SEARCH]
    rows = conn.execute(
        "SELECT ic.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class tc ON tc.oid = x.indrelid "
        "WHERE tc.relname = ANY(%s) AND tc.relnamespace = current_schema()::regnamespace "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid "
        "AND k.contype IN ('p', 'u', 'x')) ORDER BY 1",
        [names],
    )
    return list(rows)


class Copier:
    """Copies chunks of copy numbers, on one connection per thread (PostgreSQL runs several)."""

    def __init__(self, db: BenchDatabase, statements: dict[str, str]) -> None:
        self.db = db
        self.statements = statements
        self.seconds = dict.fromkeys(statements, 0.0)
        self.local = threading.local()
        self.connections: list[Any] = []
        self.lock = threading.Lock()

    def connection(self) -> Any:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = self.db.connect()
            if self.db.engine == "postgres":
                conn.execute("SET session_replication_role = replica")  # no per-row FK triggers
            else:
                conn.execute("PRAGMA synchronous = OFF")
            conn.execute(
                "CREATE TEMP TABLE bench_copies (k integer NOT NULL, cutoff bigint NOT NULL)"
            )
            with self.lock:
                self.connections.append(conn)
        return conn

    def copy(self, chunk: list[tuple[int, int, int]]) -> int:
        """Make the copies listed, (k, last letter id copied, letters), in one transaction."""
        conn = self.connection()
        conn.execute("BEGIN")
        conn.execute("DELETE FROM bench_copies")
        values = ", ".join(f"({k}, {cutoff})" for k, cutoff, _ in chunk)
        conn.execute(f"INSERT INTO bench_copies (k, cutoff) VALUES {values}")
        for table, statement in self.statements.items():
            began = time.perf_counter()
            conn.execute(statement)
            with self.lock:
                self.seconds[table] += time.perf_counter() - began
        conn.execute("COMMIT")
        return sum(letters for _, _, letters in chunk)

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


def multiply(db: BenchDatabase, target: int, base: int, chunk_letters: int, jobs: int) -> None:
    dialect = Dialect(db.engine)
    conn = db.connect()
    letters_per_copy = count(conn, DETERMINATION)
    if letters_per_copy != base:
        sys.exit(f"expected {base} letters after the ingest, found {letters_per_copy}")
    spans = {t.name: largest_id(conn, t.name) for t in TABLES}
    ids = [row[0] for row in conn.execute(f"SELECT id FROM {DETERMINATION} ORDER BY id")]
    full, rest = divmod(target, base)
    copies = [(k, spans[DETERMINATION], base) for k in range(1, full)]
    if rest:
        copies.append((full, ids[rest - 1], rest))  # the last copy: the first ``rest`` letters
    known = {t.name for t in TABLES} | NOT_COPIED | {ITEM_SEARCH}
    others = [
        t
        for t in table_names(conn, db.engine)
        if t.startswith("decisions_") and t not in known and not t.startswith(FTS)
    ]
    for table in others:
        if rows := count(conn, table):
            print(f"  warning: {table} ({rows:,} rows) is not copied: its rows stay the base's")
    statements = {
        t.name: copy_statement(t, dialect.columns(conn, t.name), spans, dialect)
        for t in TABLES
        if spans[t.name]
    }
    indexes: list[tuple[str, str]] = []
    if db.engine == "postgres":
        indexes = secondary_indexes(conn)
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        print(f"  dropped {len(indexes)} secondary indexes for the copy", flush=True)
    else:
        jobs = 1  # one writer at a time
    per_chunk = max(1, chunk_letters // base)
    chunks = [copies[i : i + per_chunk] for i in range(0, len(copies), per_chunk)]
    print(
        f"  {len(copies)} copies of {base:,} letters, {len(chunks)} transactions, {jobs} at a time"
    )
    copier = Copier(db, statements)
    started = time.perf_counter()
    done = base
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for letters in pool.map(copier.copy, chunks):
            done += letters
            rate = (done - base) / (time.perf_counter() - started)
            print(f"  {done:,}/{target:,} letters ({rate:,.0f} copied letters/s)", flush=True)
    copier.close()
    spent = ", ".join(
        f"{t.removeprefix('decisions_')} {s:.0f} s" for t, s in copier.seconds.items()
    )
    print(f"  copied in {time.perf_counter() - started:.0f} s; SQL time by table: {spent}")
    if db.engine == "postgres":
        if ITEM_SEARCH in table_names(conn, db.engine):
            conn.execute(
                f"INSERT INTO {ITEM_SEARCH} (item_id) SELECT id FROM {ITEM} i "
                f"WHERE NOT EXISTS (SELECT 1 FROM {ITEM_SEARCH} s WHERE s.item_id = i.id)"
            )
        conn.execute("SET maintenance_work_mem = '1GB'")
        began = time.perf_counter()
        for name, definition in indexes:
            one = time.perf_counter()
            conn.execute(definition)
            if time.perf_counter() - one > 5:
                print(f"  rebuilt {name} in {time.perf_counter() - one:.0f} s", flush=True)
        print(f"  rebuilt {len(indexes)} indexes in {time.perf_counter() - began:.0f} s")
        for table in TABLES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'(SELECT max(id) FROM "{table.name}"))'
            )
    conn.close()


def finish(db: BenchDatabase) -> None:
    """Merge the full-text index (SQLite), refresh planner statistics, and report."""
    conn = db.connect()
    started = time.perf_counter()
    if db.engine == "sqlite":
        for fts in set(FTS) & set(table_names(conn, "sqlite")):
            conn.execute(f"INSERT INTO {fts}({fts}) VALUES ('optimize')")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        print(f"  FTS5 optimize, ANALYZE in {time.perf_counter() - started:.1f} s")
    else:
        conn.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
    print("rows:")
    for table in table_names(conn, db.engine):
        if table.startswith("decisions_") and not table.startswith(tuple(f"{t}_" for t in FTS)):
            print(f"  {table:46} {count(conn, table):>12,}")
    conn.close()
    print(f"database size: {human_bytes(db.size_bytes())} ({db.label})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_database_arguments(parser, path_flag="--out")
    parser.add_argument("--letters", type=int, required=True, help="letters in the database")
    parser.add_argument(
        "--base", type=int, default=5000, help="letters ingested for real (default 5000)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="lettergen seed")
    parser.add_argument("--chunk", type=int, default=20_000, help="copied letters per transaction")
    parser.add_argument(
        "--jobs", type=int, default=2, help="PostgreSQL transactions copying at once (default 2)"
    )
    args = parser.parse_args()
    db = database_from_arguments(args)
    base = min(args.letters, args.base)
    if base < 1:
        sys.exit("--letters and --base must be at least 1")
    started = time.perf_counter()
    print(f"building {args.letters:,} letters on {db.label}", flush=True)
    db.recreate()
    manage(db, "migrate", "-v", "0")
    print(f"migrated; ingesting {base:,} generated letters", flush=True)
    ingest_base(db, base, args.seed)
    if args.letters > base:
        print(f"multiplying to {args.letters:,} letters in SQL", flush=True)
        multiply(db, args.letters, base, args.chunk, args.jobs)
    finish(db)
    print(f"built in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
