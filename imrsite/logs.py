"""Log lines for a machine to read: one JSON object a line (``LOG_FORMAT=json``, production's
default), or text for a person at a terminal (``LOG_FORMAT=text``, development's).

Django's loggers use it through ``settings.LOGGING``, gunicorn's (its messages and the access
log) through ``imrsite.gunicorn_conf.JsonLogger``. Our own formatter rather than a library: what
matters here is the request fields, which Django and gunicorn each record in their own way, and
turning those into fields is most of the code whichever formatter carries it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

FORMATS = ("json", "text")
# What every record carries: anything else on one was passed in ``extra=``.
_STANDARD = {*vars(logging.makeLogRecord({})), "message", "asctime", "taskName"}
# Django's request loggers pass these in ``extra``; they become the request fields instead.
_DJANGO_EXTRA = {"request", "status_code"}


def log_format(*, debug: bool) -> str:
    """``LOG_FORMAT`` from the environment: json unless set, or text in development."""
    value = os.environ.get("LOG_FORMAT", "").strip().lower() or ("text" if debug else "json")
    if value not in FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT={value!r} is not one of {', '.join(FORMATS)}.")
    return value


def request_fields(record: logging.LogRecord) -> dict[str, Any]:
    """A request's method, path and status (and from gunicorn's access log its query, duration,
    size and client address), where the record is about one; else nothing."""
    if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
        atoms = record.args  # gunicorn's atoms: a missing one reads as "-"
        fields = {
            "method": atoms["m"],
            "path": atoms["U"],
            "query": atoms["q"],
            "status": _number(atoms["s"]),
            "duration_ms": round(_number(atoms["D"]) / 1000, 1),
            "bytes": _number(atoms["B"]),
            "remote_addr": atoms["h"],
        }
        return {key: value for key, value in fields.items() if value not in ("", "-", None)}
    fields = {}
    request = getattr(record, "request", None)
    if isinstance(request, HttpRequest):  # django.request, django.security.*
        fields.update(method=request.method, path=request.path)
    status = getattr(record, "status_code", None)
    if status is not None:
        fields["status"] = status
    return fields


def _number(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, ISO 8601 to the millisecond), ``level``,
    ``logger``, ``message``; a request's fields (``request_fields``); ``exception`` (the
    traceback, as one string) where there is one; and whatever the call passed in ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **request_fields(record),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _DJANGO_EXTRA:
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)
