"""Production refuses to start on development defaults."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env):
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}
    }
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
    assert "SECRET_KEY must be set in production" in result.stderr


def test_production_without_allowed_hosts_refuses_to_start():
    result = run_check(DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_production_with_its_settings_starts():
    result = run_check(DEBUG="0", SECRET_KEY="a-real-secret-" * 5, ALLOWED_HOSTS="imr.example.com")
    assert result.returncode == 0, result.stderr


def test_no_environment_is_production_and_refuses_development_defaults():
    result = run_check()
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


def test_allowed_hosts_without_debug_is_production_not_debug_mode():
    # A server that sets its hosts but forgets DEBUG must not run on the development key.
    result = run_check(ALLOWED_HOSTS="imr.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


def test_hsts_preload_without_what_the_preload_list_demands_refuses_to_start():
    prod = {"DEBUG": "0", "SECRET_KEY": "a-real-secret-" * 5, "ALLOWED_HOSTS": "imr.example.com"}
    result = run_check(**prod, SECURE_HSTS_PRELOAD="1")  # with the default hour of HSTS
    assert result.returncode != 0
    assert "SECURE_HSTS_PRELOAD=1 needs SECURE_HSTS_SECONDS of a year" in result.stderr
    result = run_check(**prod, SECURE_HSTS_PRELOAD="1", SECURE_HSTS_SECONDS="31536000")
    assert result.returncode == 0, result.stderr


def test_debug_1_runs_for_development_with_no_other_variable():
    result = run_check(DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_a_misspelt_debug_value_is_an_error_not_a_guess():
    result = run_check(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a yes/no value" in result.stderr
