"""What a request says of its client, believed as far as the settings say a proxy is there."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: the connection's (REMOTE_ADDR) or, behind a proxy
    (``BEHIND_PROXY``), the last address of X-Forwarded-For, the one the proxy added for the
    connection it took. The addresses before it are whatever the client sent, so never those.
    """
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")
