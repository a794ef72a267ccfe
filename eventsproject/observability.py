"""Probes, request ids, the access log and request metrics, as middleware.

- `ProbeMiddleware` answers `/v1/health/live` and `/v1/health/ready` before
  anything reads the `Host` header, so a kubelet probing the pod's IP is not
  refused by `ALLOWED_HOSTS`; probes get no access line.
- `RequestMiddleware` gives each request an id (a sane `X-Request-ID` is kept,
  anything else replaced), echoes it, stamps it on every log line written while
  the request runs, writes one access line, and counts the request by route and
  status for `/metrics` (the route pattern, never the raw path: bounded labels).
"""

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import Counter, Histogram

from eventsproject import serving
from eventsproject.platform import logs

#: A name of its own, not the module's: operators filter the access lines by it.
access_logger = logging.getLogger("eventsproject.access")

REQUEST_ID_HEADER = "X-Request-ID"
_USABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,200}")

REQUESTS = Counter(
    "http_requests", "HTTP requests by method, route and status.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

Handler = Callable[[HttpRequest], HttpResponse]

PROBES: dict[str, Callable[[], dict[str, Any]]] = {
    "/v1/health/live": serving.liveness,
    "/v1/health/ready": serving.readiness,
}


class ProbeMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info) if request.method in {"GET", "HEAD"} else None
        if probe is None:
            return self.get_response(request)
        report = probe()
        return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


class RequestMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _usable(request.headers.get(REQUEST_ID_HEADER))
        started = time.perf_counter()
        with logs.request_id(request_id):
            response = self.get_response(request)
            _account(request, response.status_code, time.perf_counter() - started)
        response[REQUEST_ID_HEADER] = request_id
        _untie(response)
        return response


def _untie(response: HttpResponse) -> None:
    """Lets go of the reference cycles of an answered request: DRF's view, request and
    response name each other in their contexts (`renderer_context`, `parser_context`), and
    Django's view setup keeps `view.head = view.get`. Left tied, every request left about
    57 objects to the garbage collector, whose young collections they kept triggering;
    untied once the answer is rendered, they are freed with it (benchmarks/analysis.md,
    issue 28, target 1)."""
    context: dict[str, Any] | None = getattr(response, "renderer_context", None)
    if not context:  # not DRF's
        return
    request, view = context.get("request"), context.get("view")
    if request is not None:
        request.parser_context = None
    if view is not None:
        vars(view).pop("head", None)
    response.renderer_context = None  # type: ignore[attr-defined]


def _usable(offered: str | None) -> str:
    if offered and _USABLE_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def _account(request: HttpRequest, status: int, elapsed: float) -> None:
    match = request.resolver_match
    labels = (request.method or "", match.route if match else "unmatched", str(status))
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(elapsed)
    duration_ms = round(elapsed * 1000, 2)
    access_logger.info(
        "%s %s %s %.2fms",
        request.method,
        request.path,
        status,
        duration_ms,
        extra={
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": duration_ms,
        },
    )
