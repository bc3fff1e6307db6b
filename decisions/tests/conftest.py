import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machine has no network: keep Chromium from trying to reach Google's services.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP_VIEWPORT = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 390, "height": 844}


ROOT = Path(__file__).resolve().parents[2]
LETTERS = ROOT / "fixtures" / "letters"

_PRODUCTION_GET = """
import json, sys
import django
django.setup()
from django.test import Client
asked = json.loads(sys.argv[1])
response = Client().get(asked["path"], secure=asked["secure"], headers=asked["headers"])
print(json.dumps({"status": response.status_code, "headers": dict(response.headers),
                  "body": response.content.decode()}))
"""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on (as of now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(**env: str) -> dict[str, str]:
    """This process's environment for a child on production settings: no DEBUG, a throwaway
    key, ALLOWED_HOSTS=testserver, ``env`` on top (which should name DATABASE_URL)."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL"}}
    clean.update(SECRET_KEY="a-throwaway-secret-for-this-test-" * 2, ALLOWED_HOSTS="testserver")
    clean.update(env)
    return clean


@pytest.fixture(scope="session")
def production_static(tmp_path_factory) -> str:
    """The static files collected as bin/serve collects them: production's pages need their
    manifest (a page naming a file not in it is an error), and a fresh checkout has none."""
    root = tmp_path_factory.mktemp("static")
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"]
    env = production_env(STATIC_ROOT=str(root))
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=300)
    return str(root)


@pytest.fixture
def production_site(tmp_path, production_static) -> dict[str, str]:
    """``env`` for production_get: a fresh SQLite file of the test's, the collected files."""
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    return {"DATABASE_URL": database, "STATIC_ROOT": production_static}


def production_get(path: str, *, env: dict[str, str], secure: bool = False, **headers) -> dict:
    """GET ``path`` through Django's test Client in a child process on production settings
    (``production_env(**env)``): the answer's status, headers and body."""
    clean = production_env(DJANGO_SETTINGS_MODULE="imrsite.settings", **env)
    asked = json.dumps({"path": path, "secure": secure, "headers": headers})
    result = subprocess.run(
        [sys.executable, "-c", _PRODUCTION_GET, asked],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory):
    """Original files a test ingests go to a folder of its own, not the project's media/."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture
def sample_letters(request):
    """The five sample letters, ingested as the README's set-up command does (8 decisions)."""
    request.getfixturevalue("db")  # the test's own django_db mark decides transactional or not
    from decisions import services

    inputs = [
        services.LetterInput(str(path), path.read_text(encoding="utf-8"))
        for path in sorted(LETTERS.glob("*.txt"))
    ]
    outcomes = list(services.letters_ingest(letters=inputs))
    assert [o.status for o in outcomes] == ["new"] * 5
    return outcomes


@pytest.fixture
def staff_client(client, django_user_model):
    """A logged-in staff user with every permission (as a site editor-in-chief)."""
    user = django_user_model.objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(user)
    client.user = user
    return client


def _no_browser(reason: str) -> NoReturn:
    """Fail when CI demands real-browser tests (REQUIRE_BROWSER=1), skip otherwise."""
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright's sync API (one per test session)."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("Playwright not installed: pip install -r requirements-dev.txt")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(executable):
        _no_browser("Chromium not installed: apt-get install chromium")
    # Playwright's sync API runs an event loop in this thread; Django would otherwise
    # refuse database access from the test body ("You cannot call this from an async context").
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
        except PlaywrightError as exc:
            _no_browser(f"Chromium at {executable} did not start: {exc}")
        yield chromium
        chromium.close()


@pytest.fixture
def expect(browser):
    """Playwright's assertions, imported only once ``browser`` found Playwright and Chromium.

    Importing it at module level made a machine without Playwright fail collecting the whole
    suite; through ``browser`` it skips, or fails under REQUIRE_BROWSER=1, like the other tests.
    """
    from playwright.sync_api import expect

    return expect


def _page(browser, **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


@pytest.fixture
def page(browser):
    """A fresh desktop-sized page (1280x900) in its own browser context."""
    context, page = _page(browser, viewport=DESKTOP_VIEWPORT)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    """A fresh phone-sized page (390x844, mobile) in its own browser context."""
    context, page = _page(browser, viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def fresh_facet_index():
    """Each test starts with no facet index in memory: its first search builds one from its data.

    (Tests roll their rows back, which a running site never does; the index would otherwise see
    the same newest ids with other rows behind them.)
    """
    from decisions import facet_index

    facet_index.reset()
    yield
    facet_index.reset()
