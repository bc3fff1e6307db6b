"""``/healthz``: whether this server can serve, for a load balancer or a process supervisor.

Answered by ``HealthCheckMiddleware``, first in ``MIDDLEWARE``, before anything a probe could
trip over: no redirect to HTTPS (a load balancer probes its servers over plain HTTP), no
``ALLOWED_HOSTS`` check (it sends the server's address as the host), no session, no CSRF, no
login. It asks the database a trivial query, so a server that cannot reach its database is
taken out of rotation; it never builds the facet index, so a new worker answers at once.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers

PATH = "/healthz"

logger = logging.getLogger(__name__)


def health() -> tuple[int, dict[str, str]]:
    """(HTTP status, body): 200 when the database answers ``SELECT 1``, else 503 and why."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The details (host names, ports) go to the log, not to whoever asks.
        logger.warning("health check: the database did not answer: %s", exc)
        reason = f"the database did not answer ({type(exc).__name__}); see the server log"
        return 503, {"status": "unavailable", "database": "unreachable", "reason": reason}
    return 200, {"status": "ok", "database": "ok"}


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        else:
            status, body = health()
            response = JsonResponse(body, status=status)
        add_never_cache_headers(response)  # a cached "ok" would hide an outage
        return response
