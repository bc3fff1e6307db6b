"""Settings for the IMR decision search site.

Everything that differs between machines is read from the environment:

- ``DEBUG``: unset or ``0`` is production, which refuses to start without ``SECRET_KEY`` and
  ``ALLOWED_HOSTS``; ``1`` runs for development (a development key, local host names), and only
  the README's two commands (``bin/dev``, ``bin/test``) set it.
- ``SECRET_KEY``: required unless ``DEBUG=1``.
- ``DATABASE_URL``: any URL dj-database-url understands; defaults to an SQLite
  file inside the project (``db.sqlite3``, git-ignored).
- ``ALLOWED_HOSTS``: comma-separated host names; required unless ``DEBUG=1``.
- ``SECURE_SSL_REDIRECT``, ``SECURE_HSTS_SECONDS``, ``SECURE_HSTS_INCLUDE_SUBDOMAINS``,
  ``SECURE_HSTS_PRELOAD``: HTTPS in production (see the README's Configuration table).
- ``BEHIND_PROXY``: a proxy in front says whether a request came over HTTPS (X-Forwarded-Proto)
  and from where (X-Forwarded-For).
- ``AXES_FAILURE_LIMIT``, ``AXES_COOLOFF_MINUTES``: the admin login's lockout.
- ``LOG_LEVEL``, ``LOG_FORMAT``: the root level, and JSON lines (production's default) or text.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from imrsite.env import env_bool, env_list
from imrsite.logs import log_format

BASE_DIR = Path(__file__).resolve().parent.parent


# --- Core ---------------------------------------------------------------------------------

# Production unless development is asked for: a server that forgets DEBUG must not run in
# debug mode on the development key.
DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in production (DEBUG unset or 0): production never runs on"
            " a development key. Set DEBUG=1 for development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-used-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if DEBUG and not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must be set in production (DEBUG unset or 0): comma-separated hosts."
        " Set DEBUG=1 for development."
    )

ROOT_URLCONF = "imrsite.urls"
WSGI_APPLICATION = "imrsite.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Applications -------------------------------------------------------------------------

INSTALLED_APPS = [
    "imrsite.apps.IMRAdminConfig",  # django.contrib.admin with our site (review queue count)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_filters",
    "decisions",
]

MIDDLEWARE = [
    # /healthz, before the HTTPS redirect and the host check a load balancer's probe would fail.
    "imrsite.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: answers a locked-out login with its 429.
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the site read while an ingest writes; IMMEDIATE takes the write lock up front
    # instead of failing half-way through a transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        transaction_mode="IMMEDIATE",
    )
    # A file rather than memory, so tests can run manage.py in a child process against it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}

# --- Static files (WhiteNoise) ------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic (bin/serve) puts them for WhiteNoise; anywhere the server may write.
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
# Ingest keeps each letter's original file (the PDF where there was one) in the default
# storage: a local folder (MEDIA_ROOT) unless FILE_STORAGE_BACKEND names another backend, such as
# django-storages' "storages.backends.s3.S3Storage" (configured by its own settings). The site
# serves those files itself, at each letter's download link, never by a storage URL.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")
STORAGES = {
    "default": {
        "BACKEND": os.environ.get(
            "FILE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        )
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (production) ----------------------------------------------------------------

# Behind a proxy that speaks HTTPS to browsers and HTTP to this server (BEHIND_PROXY=1), the
# proxy's X-Forwarded-Proto says which the browser used; the proxy must set it, replacing any a
# client sent. Without a proxy the header comes from the client, who could pass for HTTPS and
# skip the redirect: it is believed only when a proxy is said to be there.
BEHIND_PROXY = env_bool("BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # A year, as check --deploy asks; a lower value (3600) while HTTPS on a new host name is
    # still being tried, since browsers keep to HTTPS for as long as this says.
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    # HSTS covers the site's own subdomains (*.imr.example.com for imr.example.com): none of
    # them should ever be served over plain HTTP.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    # Preloading is the registrable domain's decision, not this site's: once browsers ship the
    # list it binds every subdomain of the domain for months. Off unless asked for.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    if SECURE_HSTS_PRELOAD and (
        SECURE_HSTS_SECONDS < 31536000 or not SECURE_HSTS_INCLUDE_SUBDOMAINS
    ):
        raise ImproperlyConfigured(
            "SECURE_HSTS_PRELOAD=1 needs SECURE_HSTS_SECONDS of a year or more (31536000) and"
            " SECURE_HSTS_INCLUDE_SUBDOMAINS=1: the preload list accepts nothing less."
        )
    if not SECURE_HSTS_PRELOAD:
        # check --deploy warns (W021) whenever preload is off, as if every site should preload.
        # The list takes registrable domains only (example.com, not imr.example.com), so for
        # this site off is the decision, not an oversight; set SECURE_HSTS_PRELOAD=1 to opt in.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Content-Security-Policy (django-csp), in development too so a page that breaks it shows at
# once: scripts, styles, images and connections from this site only, and nothing inline. Every
# script and style is a file under static/ (htmx from static/vendor, told by its meta tag in
# base.html to add no <style> of its own), and no template has a <script> or <style> block, a
# style= or on...= attribute or an hx-on handler (decisions/tests/test_security.py reads the
# pages), so a script or style that got into a page would not run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],  # an injected <base> cannot move the page's relative URLs
        "form-action": [SELF],
        "frame-ancestors": [NONE],  # as X-Frame-Options: DENY
    }
}

# --- Authentication -----------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes: after AXES_FAILURE_LIMIT wrong passwords for one username from one address, that
# username is refused from that address for AXES_COOLOFF_MINUTES, right password or not (HTTP
# 429). Username and address together, so a stranger guessing cannot lock a colleague out from
# their own desk. `manage.py axes_reset` (or axes_reset_username NAME) lifts it at once.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "60")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a right password forgets the wrong ones before it
# The address as BEHIND_PROXY says to read it: never a header the client could write itself.
AXES_CLIENT_IP_CALLABLE = "imrsite.proxy.client_ip"

# --- Search -------------------------------------------------------------------------------

# How many rendered searches (HTML fragment or JSON, about 100 KB each) each process keeps for
# the current data (decisions.selectors.search_shown); 0 renders every request afresh.
SEARCH_CACHE_ENTRIES = int(os.environ.get("SEARCH_CACHE_ENTRIES", "256"))

# --- Internationalisation -----------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/Los_Angeles"
USE_I18N = True
USE_TZ = True

# --- Logging ------------------------------------------------------------------------------

# JSON lines in production (imrsite.logs.JsonFormatter), text in development; on standard
# error, so a command's own output stays clean (bin/serve joins it to gunicorn's stdout).
LOG_FORMAT = log_format(debug=DEBUG)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(levelname)s %(name)s: %(message)s"},
        "json": {"()": "imrsite.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
