"""Production serving: bin/serve and gunicorn's settings (imrsite/gunicorn_conf.py)."""

import http.client
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imrsite import gunicorn_conf

from .conftest import free_port, production_env

ROOT = Path(__file__).resolve().parents[2]
GiB = 1024**3


def serve_env(tmp_path, **extra) -> dict[str, str]:
    """Production settings on a fresh SQLite file and static folder of the test's."""
    return production_env(
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        PYTHON=sys.executable,
        **extra,
    )


def get(port: int, path: str, **headers) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def wait_for(port: int, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"bin/serve exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            get(port, "/healthz")
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"bin/serve did not answer within {seconds:.0f} s")


def test_bin_serve_serves_production_and_stops_on_sigterm(tmp_path):
    migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
    done = subprocess.run(migrate, cwd=ROOT, env=serve_env(tmp_path), timeout=120)
    assert done.returncode == 0
    port = free_port()
    env = serve_env(tmp_path, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
    process = subprocess.Popen(
        [str(ROOT / "bin" / "serve")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(port, process, seconds=90)
        response, body = get(port, "/healthz")
        assert response.status == 200
        assert json.loads(body) == {"status": "ok", "database": "ok"}
        # Production: plain HTTP goes to HTTPS, and a client's X-Forwarded-Proto does not pass
        # for HTTPS (gunicorn is told not to believe it; Django only with BEHIND_PROXY=1).
        for headers in ({}, {"X-Forwarded-Proto": "https"}):
            response, _ = get(port, "/?q=x", **headers)
            assert response.status == 301, headers
            assert response.getheader("Location") == f"https://127.0.0.1:{port}/?q=x"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=40)  # graceful_timeout is 30 s
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode == 0, output
    lines = [json.loads(line) for line in output.splitlines()]  # every line a JSON object
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    listening = f"Listening at: http://127.0.0.1:{port} "
    assert any(line["message"].startswith(listening) for line in lines)
    # The access log, on standard output, a request's fields as fields.
    [access, _] = [line for line in lines if line.get("query") == "q=x"]
    assert access["logger"] == "gunicorn.access"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/", 301)
    assert access["duration_ms"] >= 0
    assert (tmp_path / "static" / "staticfiles.json").exists()  # collected for WhiteNoise


def run_serve(tmp_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "bin" / "serve")],
        cwd=ROOT,
        env={**serve_env(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bin_serve_refuses_without_secret_key_in_one_line(tmp_path):
    env = serve_env(tmp_path)
    del env["SECRET_KEY"]
    result = subprocess.run(
        [str(ROOT / "bin" / "serve")], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert result.stderr.startswith("bin/serve: SECRET_KEY must be set in production")
    assert "Traceback" not in result.stderr


def test_bin_serve_refuses_an_unmigrated_database_instead_of_migrating_it(tmp_path):
    result = run_serve(tmp_path)
    assert result.returncode == 1
    assert "the database is not migrated to this code" in result.stderr
    assert "manage.py migrate" in result.stderr
    assert not (tmp_path / "static").exists()  # stopped before anything else


def test_bin_serve_refuses_debug(tmp_path):
    result = run_serve(tmp_path, DEBUG="1")
    assert result.returncode == 2
    assert "bin/serve serves production: unset DEBUG" in result.stderr


@pytest.mark.parametrize(
    ("cores", "memory", "workers"),
    [
        (2, 24 * GiB, 5),  # this machine: 2 x cores + 1
        (16, 4 * GiB, 4),  # half of 4 GiB holds four 512 MiB workers
        (1, GiB // 2, 1),  # never none
    ],
)
def test_default_workers_are_2_per_core_plus_1_within_half_the_memory(cores, memory, workers):
    assert gunicorn_conf.default_workers(cores=cores, memory=memory) == workers


def test_web_concurrency_must_be_a_number_of_workers(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert gunicorn_conf._workers() == 3
    monkeypatch.setenv("WEB_CONCURRENCY", "many")
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY='many' is not a number of workers"):
        gunicorn_conf._workers()
