"""DRF's exception handler, plus the one failure that is nobody's fault but the store's,
and a browser's way to the login page."""

from typing import Any

from django.http import HttpResponseRedirect
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler

from eventsproject.platform.stores import StoreFull, StoreUnavailable
from eventsproject.web.login import login_url

#: Seconds a client is asked to wait before retrying when the store is unavailable.
RETRY_AFTER_SECONDS = 2
#: ...and when the memory store is full: room comes back as idle users expire.
FULL_RETRY_AFTER_SECONDS = 60


def handle_exception(
    exc: Exception, context: dict[str, Any]
) -> Response | HttpResponseRedirect | None:
    """A page a browser asked for without a login sends it to log in and come back.
    A store that cannot be reached is a `503` with `Retry-After`: nothing was half
    written (each event is committed whole or not at all), so a retry is safe."""
    if isinstance(exc, NEEDS_LOGIN) and _a_person_s_page(context["request"]):
        return HttpResponseRedirect(login_url(context["request"].get_full_path()))
    if isinstance(exc, StoreFull):
        return Response(
            {"detail": "The service holds as many users as it may; retry later."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(FULL_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, StoreUnavailable):
        return Response(
            {"detail": "The state store is unavailable; retry later."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return exception_handler(exc, context)


NEEDS_LOGIN = (NotAuthenticated, AuthenticationFailed)


def _a_person_s_page(request: Request) -> bool:
    """A browser's GET of a page, without credentials: it names HTML itself (an API client's
    `*/*` is no such wish) and sends no token (a wrong one is the client's to hear of)."""
    asks_for_html = "text/html" in request.META.get("HTTP_ACCEPT", "")
    wants_html = getattr(request, "accepted_media_type", "").startswith("text/html")
    no_token = "HTTP_AUTHORIZATION" not in request.META
    return asks_for_html and wants_html and no_token and request.method in {"GET", "HEAD"}
