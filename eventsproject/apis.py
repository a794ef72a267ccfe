"""Operational endpoints: health and Prometheus metrics."""

from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eventsproject.bootstrap import components
from eventsproject.platform.stores import StoreUnavailable
from eventsproject.serving import health_report
from notifications.service import metrics


class HealthApi(APIView):
    """Liveness: `503` when a background thread of the serving process has died."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Liveness and state summary",
        responses={200: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        report = health_report()
        return Response(report, status=200 if report["status"] == "ok" else 503)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition; gauges of the outbox are read at scrape time."""
    parts = components()
    try:
        counts = parts.outbox.counts()
    except StoreUnavailable:  # health says so; the other metrics still tell what they know
        counts = {}
    for status, count in counts.items():
        metrics.OUTBOX_DEPTH.labels(status).set(count)
    metrics.BREAKER_STATE.state(parts.dispatcher.breaker_state)
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
