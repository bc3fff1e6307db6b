"""Production refuses to start on development defaults."""

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import production_get

ROOT = Path(__file__).resolve().parents[2]


PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "a-real-secret-" * 5, "ALLOWED_HOSTS": "imr.example.com"}


def clean_env(**env):
    """This process's environment without the variables under test, and with ``env``."""
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}
    }
    clean.update(env)
    return clean


def run_check(**env):
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_with(*names, **env):
    """The values of settings ``names`` when the settings are read with ``env``."""
    code = "import json, imrsite.settings as s; "
    code += f"print(json.dumps([getattr(s, n, None) for n in {names!r}]))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


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
    result = run_check(**PRODUCTION, SECURE_HSTS_PRELOAD="1", SECURE_HSTS_SECONDS="3600")
    assert result.returncode != 0
    assert "SECURE_HSTS_PRELOAD=1 needs SECURE_HSTS_SECONDS of a year" in result.stderr
    result = run_check(**PRODUCTION, SECURE_HSTS_PRELOAD="1", SECURE_HSTS_INCLUDE_SUBDOMAINS="0")
    assert result.returncode != 0
    result = run_check(**PRODUCTION, SECURE_HSTS_PRELOAD="1")  # a year, subdomains: the defaults
    assert result.returncode == 0, result.stderr


def test_production_keeps_browsers_to_https_for_a_year(production_site):
    answer = production_get("/no-such-page/", env=production_site, secure=True)
    assert answer["status"] == 404
    assert answer["headers"]["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert settings_with("SECURE_HSTS_SECONDS", **PRODUCTION, SECURE_HSTS_SECONDS="3600") == [3600]


def test_x_forwarded_proto_is_believed_only_behind_a_proxy(production_site):
    env = production_site
    # No proxy said: a client's own header must not pass for HTTPS and skip the redirect.
    answer = production_get("/no-such-page/", env=env, x_forwarded_proto="https")
    assert answer["status"] == 301
    assert answer["headers"]["Location"] == "https://testserver/no-such-page/"
    # BEHIND_PROXY=1: the proxy's header says HTTPS, so the page is served, not redirected.
    behind = {**env, "BEHIND_PROXY": "1"}
    assert production_get("/no-such-page/", env=behind, x_forwarded_proto="https")["status"] == 404
    assert production_get("/no-such-page/", env=behind, x_forwarded_proto="http")["status"] == 301
    assert settings_with("SECURE_PROXY_SSL_HEADER", **PRODUCTION) == [None]


def test_debug_1_runs_for_development_with_no_other_variable():
    result = run_check(DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_a_misspelt_debug_value_is_an_error_not_a_guess():
    result = run_check(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a yes/no value" in result.stderr


def test_logs_are_json_lines_in_production_and_text_in_development():
    [fmt, logging] = settings_with("LOG_FORMAT", "LOGGING", **PRODUCTION)
    assert fmt == "json"
    assert logging["handlers"]["console"]["formatter"] == "json"
    assert logging["formatters"]["json"]["()"] == "imrsite.logs.JsonFormatter"
    assert settings_with("LOG_FORMAT", DEBUG="1") == ["text"]
    assert settings_with("LOG_FORMAT", **PRODUCTION, LOG_FORMAT="text") == ["text"]
    assert settings_with("LOG_FORMAT", DEBUG="1", LOG_FORMAT="JSON") == ["json"]


def test_an_unknown_log_format_is_an_error():
    result = run_check(DEBUG="1", LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT='xml' is not one of json, text" in result.stderr
