"""DRF's exception handler, plus the one failure that is nobody's fault but the store's."""

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from eventsproject.platform.stores import StoreFull, StoreUnavailable

#: Seconds a client is asked to wait before retrying when the store is unavailable.
RETRY_AFTER_SECONDS = 2
#: ...and when the memory store is full: room comes back as idle users expire.
FULL_RETRY_AFTER_SECONDS = 60


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    """A store that cannot be reached is a `503` with `Retry-After`: nothing was half
    written (each event is committed whole or not at all), so a retry is safe."""
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
