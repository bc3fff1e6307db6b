"""Search benchmark: server time of a fixed list of searches, beside Datasette on the same data.

    .venv/bin/python bench/search_bench.py --engine sqlite --db bench-out/bench.sqlite3
    .venv/bin/python bench/search_bench.py --engine postgres --database imr_bench100k --repeat 2

Runs the requests of ``REQUESTS`` (facets alone and combined, a guideline's cited page, full
text alone and with facets, deep pages, sorts, the JSON API, a letter's page) against a server
it starts on 127.0.0.1 with ``bin/serve``, as the site is deployed: gunicorn (one sync worker)
in production settings (DEBUG=0 with a throwaway SECRET_KEY, static files collected). Each
search is made once untimed through the JSON API (the same queries, so the same caches warm,
and it gives the count), then ``--repeat`` times; the figure is the wall time of the HTTP
request on loopback.
``--in-process`` makes the requests through Django's test Client in this process instead,
which also counts the SQL queries of each.

Datasette (0.65, from requirements-bench.txt) serves the same items exported flat by
bench/datasette_export.py; for every request it can express (facet filters, the guideline's
page, sorts: not full text, deep pages, several values of one facet or a letter's page) the
same filters are asked of it with all ten facets requested (``_facet=`` and ``_facet_array=``,
``_size=50``), alternately with ours, and the ratio ours/Datasette of the medians is printed.
Datasette's time limits (1 s for a query and 0.2 s for a facet by default) would cut its facets
off at scale, so they are raised to 60 s: it computes every count, as we do. Its facet counts
are not disjunctive (a facet is counted under its own filter too), ours are.

Prints one line per request (p50, p95 and SQL queries of ours, p50 and p95 of Datasette, the
ratio), then p50 and p95 over all requests; ``--json FILE`` writes every sample.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchdb import (  # noqa: E402
    OUT_DIR,
    BenchDatabase,
    add_database_arguments,
    database_from_arguments,
    human_bytes,
    manage,
)
from bench.datasette_export import export  # noqa: E402

PAGE_SIZE = 50
Params = list[tuple[str, str]]


@dataclass(frozen=True)
class Request:
    name: str
    path: str
    params: Params = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.path + ("?" + urlencode(self.params) if self.params else "")


def requests(letter_key: str, deep_page: int) -> list[Request]:
    """The fixed list. Slugs are values the generated letters have (checked by ``check``)."""
    home, api = "/", "/api/decisions/"
    return [
        Request("home (no filter)", home),
        Request("outcome=overturned", home, [("outcome", "overturned")]),
        Request("treatment=physical_therapy", home, [("treatment", "physical_therapy")]),
        Request("body_region=lumbar_spine", home, [("body_region", "lumbar_spine")]),
        Request("guideline=mtus_acoem", home, [("guideline", "mtus_acoem")]),
        Request("specialty=pain_management", home, [("specialty", "pain_management")]),
        Request("state=TX", home, [("state", "TX")]),
        Request("sex=female", home, [("sex", "female")]),
        Request("age=40_49", home, [("age", "40_49")]),
        Request("injury_year=2012", home, [("injury_year", "2012")]),
        Request(
            "outcome+treatment",
            home,
            [("outcome", "overturned"), ("treatment", "medication")],
        ),
        Request(
            "body_region+specialty",
            home,
            [("body_region", "lumbar_spine"), ("specialty", "physical_medicine_rehabilitation")],
        ),
        Request(
            "outcome+body_region+sex",
            home,
            [("outcome", "upheld"), ("body_region", "cervical_spine"), ("sex", "male")],
        ),
        Request(
            "treatment+state+age",
            home,
            [("treatment", "mri"), ("state", "CA"), ("age", "50_59")],
        ),
        Request(
            "guideline=mtus_chronic_pain&cited_page=99",
            home,
            [("guideline", "mtus_chronic_pain"), ("cited_page", "99")],
        ),
        Request(
            "treatment=mri|physical_therapy (OR)",
            home,
            [("treatment", "mri"), ("treatment", "physical_therapy")],
        ),
        Request('q="epidural injection"', home, [("q", '"epidural injection"')]),
        Request("q=lumbar physical therapy", home, [("q", "lumbar physical therapy")]),
        Request(
            'q="epidural injection"&outcome=overturned',
            home,
            [("q", '"epidural injection"'), ("outcome", "overturned")],
        ),
        Request(
            "q=lumbar physical therapy+body_region+sex",
            home,
            [("q", "lumbar physical therapy"), ("body_region", "lumbar_spine"), ("sex", "female")],
        ),
        Request("q=injection&sort=newest", home, [("q", "injection"), ("sort", "newest")]),
        Request("page=99", home, [("page", "99")]),
        Request(f"page={deep_page} (deepest <= 500)", home, [("page", str(deep_page))]),
        Request("sort=oldest", home, [("sort", "oldest")]),
        Request(
            "sort=injury&outcome=overturned", home, [("sort", "injury"), ("outcome", "overturned")]
        ),
        Request(
            "sort=age&body_region=lumbar_spine",
            home,
            [("sort", "age"), ("body_region", "lumbar_spine")],
        ),
        Request(
            "API outcome+treatment", api, [("outcome", "overturned"), ("treatment", "medication")]
        ),
        Request(
            "API guideline&cited_page=99",
            api,
            [("guideline", "mtus_chronic_pain"), ("cited_page", "99")],
        ),
        Request("API q=epidural&page=2", api, [("q", "epidural"), ("page", "2")]),
        Request(f"letter page /letters/{letter_key}/", f"/letters/{letter_key}/"),
    ]


# --- the Datasette equivalent --------------------------------------------------------------

SCALARS = {"outcome": "outcome", "sex": "sex", "age": "age_band", "injury_year": "injury_year"}
ARRAYS = {
    "treatment": "treatments",
    "body_region": "body_regions",
    "guideline": "guidelines",
    "source": "sources",
    "specialty": "specialties",
    "state": "states",
}
SORTS = {
    "newest": ("_sort_desc", "id"),
    "oldest": ("_sort", "id"),
    "injury": ("_sort_desc", "date_of_injury"),
    "age": ("_sort", "patient_age"),
}
FACETS: Params = [("_facet", c) for c in SCALARS.values()]
FACETS += [("_facet_array", c) for c in ARRAYS.values()]


def datasette_url(request: Request) -> str | None:
    """The same search asked of Datasette's ``items`` table, or None if it cannot say it."""
    if request.path not in ("/", "/api/decisions/"):
        return None
    names = [name for name, _ in request.params]
    if len(names) != len(set(names)):
        return None  # several values of one facet are OR'ed: no one Datasette filter
    given = dict(request.params)
    out: Params = []
    if "cited_page" in given:
        if "guideline" not in given:
            return None
        out.append(
            (
                "guideline_pages__arraycontains",
                f"{given.pop('guideline')}:{given.pop('cited_page')}",
            )
        )
    for name, value in given.items():
        if name in SCALARS:
            out.append((SCALARS[name], value))
        elif name in ARRAYS:
            out.append((f"{ARRAYS[name]}__arraycontains", value))
        elif name == "sort" and value in SORTS:
            out.append(SORTS[value])
        else:
            return None  # full text, pages: not compared
    table = "/decisions/items" + (".json" if request.path.startswith("/api/") else "")
    return table + "?" + urlencode([*out, *FACETS, ("_size", str(PAGE_SIZE))])


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    url: str
    ours: list[float] = field(default_factory=list)
    queries: int | None = None
    status: int = 0
    size: int = 0
    found: int | None = None  # items the search finds (from the API), None if not a search
    datasette_url: str | None = None
    datasette: list[float] = field(default_factory=list)
    datasette_status: int = 0
    datasette_found: int | None = None
    datasette_facets: int | None = None  # facets Datasette computed (a timed-out one is left out)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    seconds: float
    queries: int | None = None  # SQL queries, when counted (in process)

    def json(self) -> dict:
        return json.loads(self.body) if self.status == 200 else {}


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


Fetch = Callable[[str], Response]


def http_fetch(base: str, timeout: float) -> Fetch:
    def fetch(url: str) -> Response:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(base + url, timeout=timeout) as response:
                body, status = response.read(), response.status
        except urllib.error.HTTPError as error:
            body, status = error.read(), error.code
        return Response(status, body, time.perf_counter() - started)

    return fetch


def in_process_fetch(db: BenchDatabase) -> Fetch:
    """Requests through Django's test Client in this process, production settings, SQL counted."""
    env = production_env(db)
    manage(db, "collectstatic", "--noinput", "-v", "0", **env)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imrsite.settings")
    import django
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    django.setup()
    client = Client()

    def fetch(url: str) -> Response:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            seconds = time.perf_counter() - started
        return Response(response.status_code, response.content, seconds, len(queries))

    return fetch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, probe: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(base + probe, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # any answer means it is up
        except OSError:
            time.sleep(0.3)
    sys.exit(f"no answer from {base} after {seconds:.0f} s")


@contextmanager
def serving(
    command: list[str], env: dict[str, str], probe: str, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``command`` (its ``{port}`` a free loopback port) until the block ends: its base URL
    and process.

    With ``log``, the server's output goes there instead of this terminal."""
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    output = log.open("w") if log else None
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT if log else None
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, probe, process)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if output:
            output.close()


def production_env(db: BenchDatabase) -> dict[str, str]:
    """Production settings on a throwaway key, for loopback, without the HTTPS redirect."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": db.url,
    }


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:PORT
    what: str  # what serves, for the report
    pid: int  # gunicorn's master
    log: Path | None = None  # its output, when kept


@contextmanager
def our_server(
    db: BenchDatabase, timeout: float, workers: int = 1, log: Path | None = None
) -> Iterator[Server]:
    """The site served on a free loopback port by ``bin/serve``, as in production (gunicorn with
    imrsite/gunicorn_conf.py: sync workers, collected static files), with ``workers`` workers
    and no access log. With ``log``, the server runs with LOG_LEVEL=INFO (the facet index logs
    its build there) and its output goes to that file."""
    env = {**production_env(db), "PYTHON": sys.executable}
    # bin/serve refuses a database behind the code's migrations (a new app's tables, say): a
    # benchmark database is scratch, so it is brought up to date instead.
    manage(db, "migrate", "--no-input", "-v", "0", **env)
    env["ACCESS_LOG"] = "0"  # a line a request would cost the server time and fill the log
    env["LOG_FORMAT"] = "text"  # its log is for a person (and index_builds) to read
    if log:
        env["LOG_LEVEL"] = "INFO"
    command = [str(ROOT / "bin" / "serve"), "--bind", "127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--timeout", str(int(timeout))]
    if not log:
        command += ["--log-level", "warning"]  # gunicorn's start-up lines, not on the terminal
    what = f"bin/serve: gunicorn, {workers} sync worker{'s' if workers > 1 else ''}, DEBUG=0"
    with serving(command, {**os.environ, **env}, "/healthz", log) as (base, process):
        yield Server(base, what, process.pid, log)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers), from /proc (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def rss_bytes(pid: int) -> int | None:
    """A process's resident memory (VmRSS), or None off Linux or once it is gone."""
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) * 1024
    except OSError:
        pass
    return None


def worker_memory(server: Server) -> str:
    """One line: each worker's RSS now (the master's if it has none)."""
    pids = children(server.pid) or [server.pid]
    sizes = [(pid, rss_bytes(pid)) for pid in pids]
    return "server RSS: " + ", ".join(
        f"pid {pid} {human_bytes(size)}" for pid, size in sizes if size is not None
    )


def index_builds(server: Server) -> list[str]:
    """The facet index's "facet index built" lines so far in the server's log."""
    if not server.log or not server.log.exists():
        return []
    return [row for row in server.log.read_text().splitlines() if "facet index built" in row]


@contextmanager
def datasette_server(path: Path) -> Iterator[str]:
    command = [sys.executable, "-m", "datasette", "serve", str(path), "--host", "127.0.0.1"]
    command += ["--port", "{port}", "--setting", "suggest_facets", "off"]
    command += ["--setting", "sql_time_limit_ms", "60000"]
    command += ["--setting", "facet_time_limit_ms", "60000"]
    command += ["--setting", "default_page_size", str(PAGE_SIZE)]
    log = path.with_suffix(".log")  # its access log, one line a request
    with serving(command, dict(os.environ), "/-/versions.json", log) as (base, _):
        yield base


# --- the data ------------------------------------------------------------------------------

CHECKS = {  # parameter -> (table, column) holding its values
    "treatment": ("decisions_decisionitem_treatments", "treatment_id"),
    "body_region": ("decisions_decisionitem_body_regions", "bodyregion_id"),
    "guideline": ("decisions_guidelinecitation", "guideline_id"),
    "specialty": ("decisions_determination_reviewer_specialties", "specialty_id"),
    "state": ("decisions_determination_reviewer_states", "state_id"),
    "outcome": ("decisions_decisionitem", "outcome"),
    "sex": ("decisions_determination", "patient_sex"),
    "injury_year": ("decisions_determination", "injury_year"),
}


def facts(db: BenchDatabase) -> tuple[int, int, str]:
    """(letters, items, the key of a letter in the middle) of the benchmark database: its page
    is at its key (its numeric URL only redirects there)."""
    conn = db.connect()
    letters = conn.execute("SELECT count(*) FROM decisions_determination").fetchone()[0]
    items = conn.execute("SELECT count(*) FROM decisions_decisionitem").fetchone()[0]
    middle = conn.execute(
        f"SELECT key FROM decisions_determination ORDER BY id LIMIT 1 OFFSET {letters // 2}"
    ).fetchone()
    conn.close()
    if not middle:
        sys.exit(f"{db.label} has no letters: build it with bench/build_db.py")
    return letters, items, middle[0]


def check(db: BenchDatabase, chosen: list[Request]) -> None:
    """Warn about a filter value no row has: that request would time an empty result."""
    conn = db.connect()
    seen: set[tuple[str, str]] = set()
    for request in chosen:
        for name, value in request.params:
            if name not in CHECKS or (name, value) in seen:
                continue
            seen.add((name, value))
            table, column = CHECKS[name]
            typed: object = int(value) if name == "injury_year" else value
            sql = f"SELECT 1 FROM {table} WHERE {column} = {db.placeholder} LIMIT 1"
            if conn.execute(sql, [typed]).fetchone() is None:
                print(f"warning: no row has {name}={value}; {request.name!r} finds nothing")
    conn.close()


# --- the run -------------------------------------------------------------------------------


def api_url(request: Request) -> str | None:
    """The API's answer to the same search (it carries the count), or None for a letter."""
    if request.path not in ("/", "/api/decisions/"):
        return None
    return "/api/decisions/" + request.url[len(request.path) :]


def warm_up(request: Request, result: Result, ours: Fetch, theirs: Fetch | None) -> None:
    """Untimed, one request each side, through the JSON flavour of the same search: it runs the
    same queries (so it warms the same caches) and says how many items it found, and whether
    Datasette computed every facet."""
    api = api_url(request)
    answer = ours(api or request.url)
    result.status = answer.status
    if api:
        result.found = answer.json().get("count")
    if theirs and result.datasette_url:
        answer = theirs(result.datasette_url.replace("/items?", "/items.json?", 1))
        body = answer.json()
        result.datasette_status = answer.status
        result.datasette_found = body.get("filtered_table_rows_count")
        result.datasette_facets = len(body.get("facet_results", {}))


def measure(
    chosen: list[Request],
    ours: Fetch,
    theirs: Fetch | None,
    repeat: int,
    datasette_repeat: int | None = None,
) -> list[Result]:
    """Each request once to warm up and count, then ``repeat`` times, alternating with Datasette
    for the first ``datasette_repeat`` of them (all by default)."""
    if datasette_repeat is None:
        datasette_repeat = repeat
    results = []
    print(
        f"{'request':44} {'found':>7} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>4}   "
        f"{'DS p50':>8} {'DS p95':>8} {'ours/DS':>8}",
        flush=True,
    )
    for request in chosen:
        result = Result(request.name, request.url)
        if theirs:
            result.datasette_url = datasette_url(request)
        warm_up(request, result, ours, theirs)
        for turn in range(repeat):
            answer = ours(request.url)
            result.ours.append(answer.seconds)
            result.status, result.size = answer.status, len(answer.body)
            result.queries = answer.queries
            if theirs and result.datasette_url and turn < datasette_repeat:
                answer = theirs(result.datasette_url)
                result.datasette.append(answer.seconds)
                result.datasette_status = answer.status
        print(line(result), flush=True)
        results.append(result)
    return results


def ms(seconds: float) -> str:
    return "" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def line(result: Result) -> str:
    name = result.name if result.status == 200 else f"{result.name} [HTTP {result.status}]"
    queries = "" if result.queries is None else str(result.queries)
    found = "" if result.found is None else str(result.found)
    text = f"{name[:44]:44} {found:>7} {ms(percentile(result.ours, 0.5)):>8} "
    text += f"{ms(percentile(result.ours, 0.95)):>8} {queries:>4}"
    if result.datasette:
        ds50 = percentile(result.datasette, 0.5)
        ratio = percentile(result.ours, 0.5) / ds50
        text += f"   {ms(ds50):>8} {ms(percentile(result.datasette, 0.95)):>8} {ratio:>7.3f}x"
        if result.datasette_status != 200:
            text += f" [DS HTTP {result.datasette_status}]"
        if result.datasette_found != result.found:
            text += f" [DS found {result.datasette_found}]"
        if result.datasette_facets != len(FACETS):
            text += f" [DS computed {result.datasette_facets} of {len(FACETS)} facets]"
    return text


def summary(results: list[Result]) -> None:
    ours = [s for r in results for s in r.ours]
    print(
        f"\nall {len(results)} requests, {len(ours)} timed: ours p50 {ms(percentile(ours, 0.5))}"
        f" ms, p95 {ms(percentile(ours, 0.95))} ms"
    )
    shared = [r for r in results if r.datasette]
    if shared:
        mine = [s for r in shared for s in r.ours]
        theirs = [s for r in shared for s in r.datasette]
        ratios = [percentile(r.ours, 0.5) / percentile(r.datasette, 0.5) for r in shared]
        geomean = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        print(
            f"the {len(shared)} requests Datasette can answer: ours p50 {ms(percentile(mine, 0.5))}"
            f" ms, p95 {ms(percentile(mine, 0.95))} ms; Datasette p50 "
            f"{ms(percentile(theirs, 0.5))} ms, p95 {ms(percentile(theirs, 0.95))} ms; "
            f"ours/Datasette geometric mean of the medians {geomean:.3f}x "
            f"(Datasette {1 / geomean:.0f}x slower), worst {max(ratios):.3f}x"
        )
    failed = [r.name for r in results if r.status != 200]
    if failed:
        print(f"not HTTP 200: {', '.join(failed)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_database_arguments(parser, path_flag="--db")
    parser.add_argument("--repeat", "-k", type=int, default=5, help="timed runs (default 5)")
    parser.add_argument("--in-process", action="store_true", help="Django test Client, counts SQL")
    parser.add_argument("--no-datasette", action="store_true", help="skip the comparison")
    parser.add_argument(
        "--datasette-repeat",
        type=int,
        help="timed Datasette runs, the first of ours (default --repeat): it takes seconds a "
        "search at 100,000 letters",
    )
    parser.add_argument("--only", help="run only requests whose name matches this regex")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per request")
    parser.add_argument("--export", type=Path, default=OUT_DIR / "datasette" / "decisions.db")
    parser.add_argument("--json", type=Path, help="write every sample to this file")
    parser.add_argument(
        "--server-log",
        type=Path,
        help="run our server with LOG_LEVEL=INFO, its output to this file (index build time)",
    )
    args = parser.parse_args()
    db = database_from_arguments(args)
    letters, items, letter_key = facts(db)
    pages = max(1, math.ceil(items / PAGE_SIZE))
    chosen = requests(letter_key, min(500, pages))
    if args.only:
        chosen = [r for r in chosen if re.search(args.only, r.name)]
    check(db, chosen)
    print(
        f"{db.label}: {letters:,} letters, {items:,} items ({pages:,} pages), "
        f"{human_bytes(db.size_bytes())}"
    )

    use_datasette = not args.no_datasette
    if use_datasette and not importlib.util.find_spec("datasette"):
        print("Datasette is not installed (pip install -r requirements-bench.txt): not compared")
        use_datasette = False
    if use_datasette:
        started = time.perf_counter()
        rows = export(db, args.export)
        print(
            f"Datasette export: {rows:,} items to {args.export} "
            f"({human_bytes(args.export.stat().st_size)}) in {time.perf_counter() - started:.1f} s"
        )

    comparison = datasette_server(args.export) if use_datasette else nullcontext(None)
    with comparison as ds_base:
        theirs = http_fetch(ds_base, args.timeout) if ds_base else None
        if args.in_process:
            fetch = in_process_fetch(db)
            print(
                f"ours: in process (Django test Client, DEBUG=0); repeat {args.repeat} "
                "after a warm-up"
            )
            results = measure(chosen, fetch, theirs, args.repeat, args.datasette_repeat)
        else:
            with our_server(db, args.timeout, log=args.server_log) as server:
                print(
                    f"ours: {server.what}; repeat {args.repeat} after a warm-up; "
                    "wall time of each HTTP request on loopback"
                )
                results = measure(
                    chosen,
                    http_fetch(server.base, args.timeout),
                    theirs,
                    args.repeat,
                    args.datasette_repeat,
                )
                print(worker_memory(server))
                for row in index_builds(server):
                    print(row)
    summary(results)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
        print(f"samples written to {args.json}")


if __name__ == "__main__":
    main()
