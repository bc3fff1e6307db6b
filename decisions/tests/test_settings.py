"""Production refuses to start on development defaults."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_secret_key_refuses_to_start():
    result = run_check(DEBUG="0", ALLOWED_HOSTS="imr.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=0" in result.stderr


def test_production_without_allowed_hosts_refuses_to_start():
    result = run_check(DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_production_with_its_settings_starts():
    result = run_check(DEBUG="0", SECRET_KEY="a-real-secret-" * 5, ALLOWED_HOSTS="imr.example.com")
    assert result.returncode == 0, result.stderr


def test_no_environment_runs_for_development():
    result = run_check()
    assert result.returncode == 0, result.stderr


def test_a_misspelt_debug_value_is_an_error_not_a_guess():
    result = run_check(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a yes/no value" in result.stderr
