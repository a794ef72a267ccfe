"""The events HTTP API: thin views that parse, call a service and answer."""

from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from events import schema
from events.decisions import DecisionRecord
from events.domain import Event
from events.ingestion import ingest, ingest_batch
from events.parsers import PayloadTooLarge
from events.serializers import (
    BatchSerializer,
    DecisionRecordSerializer,
    EventRepresentationSerializer,
    UserStateSerializer,
)
from events.throttles import BatchRateThrottle, DeviceRateThrottle
from eventsproject.bootstrap import components
from eventsproject.pagination import Pagination

_BATCH = BatchSerializer()


class EventIngestApi(APIView):
    """Post one event from the app, in the brief's format or v2. `GET` shows an example."""

    max_body_setting = "EVENTS_MAX_BODY_BYTES"
    throttle_classes = [DeviceRateThrottle]

    @schema.describe_event_example
    def get(self, request: Request) -> Response:
        return Response(
            {"detail": "POST one event as a JSON object.", "example": schema.BRIEF_EXAMPLE}
        )

    @schema.describe_event_ingest
    def post(self, request: Request) -> Response:
        ingested = ingest(request.data, received_at=timezone.now())
        if ingested.result is None:
            raise ValidationError(ingested.errors)
        return Response(ingested.as_body(), status=ingested.status_code)


class EventCollectionApi(ListAPIView):  # type: ignore[type-arg]  # a list, not a Model
    """Recent events, newest first (a bounded window); `POST` ingests a batch, in order."""

    max_body_setting = "EVENTS_BATCH_MAX_BODY_BYTES"
    serializer_class = EventRepresentationSerializer
    pagination_class = Pagination

    def get_queryset(self) -> list[Event]:  # type: ignore[override]
        user_id = self.request.query_params.get("user_id")
        event_type = self.request.query_params.get("type")
        return [
            event
            for event in components().repository.recent_events()
            if (user_id is None or event.user_id == user_id)
            and (event_type is None or event.event_type == event_type)
        ]

    def get_throttles(self) -> list[BaseThrottle]:
        return [BatchRateThrottle()] if self.request.method == "POST" else []

    @schema.describe_event_list
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @schema.describe_event_batch
    def post(self, request: Request) -> Response:
        received_at = timezone.now()
        batch = _BATCH.run_validation(request.data)
        events = batch["events"]
        if len(events) > settings.EVENTS_BATCH_MAX_EVENTS:
            raise PayloadTooLarge(
                {
                    "max_events": settings.EVENTS_BATCH_MAX_EVENTS,
                    "max_bytes": settings.EVENTS_BATCH_MAX_BODY_BYTES,
                }
            )
        # The raw `sent_at` goes into each event, to be checked and read like its own.
        sent_at = request.data.get("sent_at") if "sent_at" in batch else None
        ingested = ingest_batch(events, sent_at=sent_at, received_at=received_at)
        return Response(
            {"results": [each.as_body() for each in ingested]}, status=status.HTTP_200_OK
        )


class UserStateApi(APIView):
    """A user's open training sessions and pending reminder."""

    @schema.describe_user_state
    def get(self, request: Request, user_id: str) -> Response:
        state = components().repository.user_state(user_id)
        view = {
            "user_id": user_id,
            "open_sessions": list(state.open_sessions.values()),
            "pending_reminder": state.pending_reminder,
        }
        return Response(UserStateSerializer(view).data)


class UserDecisionListApi(ListAPIView):  # type: ignore[type-arg]  # a list, not a Model
    """Why each of a user's notifications was or was not sent, newest first."""

    serializer_class = DecisionRecordSerializer
    pagination_class = Pagination

    def get_queryset(self) -> list[DecisionRecord]:  # type: ignore[override]
        return components().repository.decisions(self.kwargs["user_id"])

    @schema.describe_user_decisions
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
