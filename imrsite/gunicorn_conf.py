"""gunicorn's settings for serving the site in production: ``bin/serve`` and the benchmarks load
them with ``gunicorn -c python:imrsite.gunicorn_conf`` (options given on the command line, or
in ``GUNICORN_CMD_ARGS``, still win).

- ``BIND``: where to listen, default ``127.0.0.1:8000`` (loopback: a proxy on the same machine
  forwards to it); several addresses comma-separated, or ``unix:/path``.
- ``WEB_CONCURRENCY``: how many sync worker processes; by default the smaller of 2 x cores + 1
  and how many fit in half the memory at ``WORKER_MEMORY`` each (see ``default_workers``).
- ``ACCESS_LOG``: ``0`` for no access log (a proxy in front keeps one).

Sync workers, since a request is mostly CPU in this process (rendering, the facet index) and
the rest short SQL queries. Each worker builds its own facet index from the database on its
first search (about 25 s and 300-500 MiB resident at a million letters, measured by
bench/search_bench.py), hence the long ``timeout`` and no ``max_requests``: a worker restarted
every N requests would build its index again.
"""

from __future__ import annotations

import os
from pathlib import Path

from gunicorn.glogging import Logger

from imrsite.env import env_bool, env_list
from imrsite.logs import JsonFormatter, log_format

# What one worker is given: at a million letters a worker with its facet index was 290-514 MiB
# resident in the benchmarks (README, "Figures with the facet engine").
WORKER_MEMORY = 512 * 1024**2


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _memory_bytes() -> int | None:
    """The memory this process may use: a cgroup (container) limit if there is one, else the
    machine's; None where neither can be read (not on Linux)."""
    limit = None
    try:
        raw = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if raw.isdigit():
            limit = int(raw)
    except OSError:
        pass
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return limit
    return min(limit, total) if limit else total


def default_workers(cores: int | None = None, memory: int | None = None) -> int:
    """2 x cores + 1 (gunicorn's rule of thumb: a worker waiting on the database leaves its
    core to another), but no more than half the memory holds at ``WORKER_MEMORY`` a worker (the
    other half for the database and the page cache). At least 1."""
    cores = cores or _cores()
    memory = memory if memory is not None else _memory_bytes()
    workers = 2 * cores + 1
    if memory:
        workers = min(workers, memory // 2 // WORKER_MEMORY)
    return max(1, workers)


class JsonLogger(Logger):
    """gunicorn's logger, its messages and its access log written as JSON lines (the access
    log's with the request's method, path, query, status, duration, size and client)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())


def _workers() -> int:
    raw = os.environ.get("WEB_CONCURRENCY", "").strip()
    if not raw:
        return default_workers()
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"WEB_CONCURRENCY={raw!r} is not a number of workers (1 or more).")
    return int(raw)


wsgi_app = "imrsite.wsgi:application"
bind = env_list("BIND") or ["127.0.0.1:8000"]
workers = _workers()
worker_class = "sync"
# A worker silent this long is killed and replaced: long enough for the first search of a
# worker, which builds the facet index (25 s at a million letters, 74 s with four building at
# once on two cores).
timeout = 120
# On SIGTERM (a stop or a deploy), workers finish the requests they are serving for this long.
graceful_timeout = 30
# The access log, one line a request, and gunicorn's own messages, on standard output;
# ACCESS_LOG=0 leaves the access log to the proxy in front (and the benchmarks' figures free of
# it).
accesslog = "-" if env_bool("ACCESS_LOG", default=True) else None
errorlog = "-"
# As Django's (LOG_FORMAT): JSON lines unless LOG_FORMAT=text.
if log_format(debug=env_bool("DEBUG", default=False)) == "json":
    logger_class = JsonLogger
# Whether a request came over HTTPS is Django's decision (BEHIND_PROXY in the settings), not
# gunicorn's: by default gunicorn believes X-Forwarded-Proto (and SCRIPT_NAME, PATH_INFO
# headers) from loopback, so any client on this machine could pass for HTTPS and skip the
# redirect.
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""
# gunicornc's control socket is one path per user: several servers on one machine (the
# benchmarks, the tests) would take it from each other. Nothing here uses it.
control_socket_disable = True
