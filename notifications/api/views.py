"""The notifications HTTP API: what the rules decided, why, and how delivery went."""

import logging
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eventsproject.bootstrap import components
from eventsproject.web.authentication import AdminAccess
from eventsproject.web.pagination import Pagination
from eventsproject.web.schema import ERROR, ERRORS
from notifications.ports import DeliveryStatus, NotResendable, OutboxEntry, UnknownNotification
from notifications.wire.serializers import OutboxEntrySerializer

logger = logging.getLogger(__name__)


class NotificationListApi(ListAPIView):  # type: ignore[type-arg]  # a list, not a Model
    """Notifications, newest first, with their delivery status; filter with `?status=`."""

    permission_classes = [AdminAccess]

    serializer_class = OutboxEntrySerializer
    pagination_class = Pagination

    def get_queryset(self) -> list[OutboxEntry]:  # type: ignore[override]
        wanted = self.request.query_params.get("status")
        if wanted is None:
            return components().outbox.entries()
        if wanted not in _STATUSES:
            raise ValidationError({"status": [f"Choose one of {', '.join(_STATUSES)}."]})
        return components().outbox.entries(_STATUSES[wanted])

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=[str(status) for status in DeliveryStatus])
        ],
        responses={200: OutboxEntrySerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


_STATUSES = {status.value: status for status in DeliveryStatus}


class NotificationDetailApi(APIView):
    """One notification: its payload, why it was sent and how delivery went."""

    permission_classes = [AdminAccess]

    @extend_schema(responses={200: OutboxEntrySerializer, **ERRORS})
    def get(self, request: Request, notification_id: str) -> Response:
        return Response(OutboxEntrySerializer(_entry_or_404(notification_id)).data)


class NotificationResendApi(APIView):
    """Queue a failed notification again, with the same id (and Idempotency-Key)."""

    permission_classes = [AdminAccess]

    @extend_schema(request=None, responses={202: OutboxEntrySerializer, 409: ERROR, **ERRORS})
    def post(self, request: Request, notification_id: str) -> Response:
        try:
            entry = components().outbox.resend(notification_id)
        except UnknownNotification:
            raise NotFound(f"No notification {notification_id}.") from None
        except NotResendable as exc:
            raise Conflict(str(exc)) from None
        logger.info("notification %s queued again by request", notification_id)
        return Response(OutboxEntrySerializer(entry).data, status=202)


class Conflict(APIException):
    status_code = 409
    default_code = "conflict"


def _entry_or_404(notification_id: str) -> OutboxEntry:
    entry = components().outbox.get(notification_id)
    if entry is None:
        raise NotFound(f"No notification {notification_id}.")
    return entry
