"""Operational endpoints: health and Prometheus metrics."""

from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eventsproject import metrics
from eventsproject.serving import health_report


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
    """Prometheus exposition: every worker's counts, and the store's figures read now."""
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
