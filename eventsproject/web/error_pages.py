"""Django's own error answers — an unknown path, a refused `Host`, an error no view caught —
in the API's shape (`{"detail": ...}`), not as HTML pages."""

from typing import Any

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, JsonResponse

#: What a 400 that Django raises before any view says, by cause.
BAD_REQUESTS: dict[type[Exception], str] = {
    DisallowedHost: "The Host header names no host this service answers to (ALLOWED_HOSTS).",
}


def not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    return JsonResponse({"detail": "No endpoint at this path: see /v1/docs."}, status=404)


def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    detail = BAD_REQUESTS.get(type(exception), "Bad request.")
    return JsonResponse({"detail": detail}, status=400)


def server_error(request: HttpRequest, *args: Any) -> JsonResponse:
    return JsonResponse({"detail": "Server error."}, status=500)
