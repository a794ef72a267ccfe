"""The events HTTP API: thin views that parse, call a service and answer."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import NotFound, Throttled, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from events.api import rejections, schema
from events.api.throttles import BatchRateThrottle, EventRateThrottle, NewUsersThrottle
from events.domain.decisions import DecisionRecord
from events.domain.events import Event
from events.service import history, selectors
from events.service.ingestion import Ingested, ingest, ingest_batch
from events.service.processing import TooManyNewUsers
from events.wire import cloudevents, segment
from events.wire.parsers import (
    CloudEventBatchParser,
    CloudEventParser,
    LimitedJSONParser,
    PayloadTooLarge,
)
from events.wire.renderers import FormatNegotiation, TimelinePageRenderer, TimelineSvgRenderer
from events.wire.representations import (
    DecisionRecordSerializer,
    EventRepresentationSerializer,
    UserStateSerializer,
)
from events.wire.serializers import BatchSerializer, EventFormat
from eventsproject.bootstrap import components
from eventsproject.web.authentication import AdminAccess
from eventsproject.web.pagination import Pagination
from eventsproject.web.renderers import ORJSONRenderer

_BATCH = BatchSerializer()
_SEGMENT_BATCH = segment.SegmentBatchSerializer()

#: The format a media type says; the app's own formats (None) say it in the event.
BATCH_FORMATS = {cloudevents.BATCH_MEDIA_TYPE: EventFormat.CLOUDEVENTS}


def _media_type(request: Request) -> str:
    return str(request.content_type).partition(";")[0].strip().lower()


def _incoming(request: Request) -> tuple[EventFormat | None, Any]:
    """The format of one posted event and its data: a CloudEvent says so by its media type
    (structured mode) or its `ce-*` headers (binary mode)."""
    if _media_type(request) == cloudevents.STRUCTURED_MEDIA_TYPE:
        return EventFormat.CLOUDEVENTS, request.data
    if cloudevents.is_binary(request.headers):
        return EventFormat.CLOUDEVENTS, cloudevents.from_binary(request.headers, request.data)
    return None, request.data


NEW_USERS_REFUSED = (
    "This client has made as many new users as it may for now (EVENTS_NEW_USERS_RATE); "
    "nothing of this event was recorded: retry later."
)


class IngestionApi(APIView):
    """An endpoint clients post events to: each `4xx` it answers a post, and each event it
    refuses, is counted and logged (events/api/rejections.py)."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, TooManyNewUsers):
            exc = Throttled(exc.wait, detail=NEW_USERS_REFUSED)
        response = super().handle_exception(exc)
        if status.is_client_error(response.status_code) and self.request.method not in SAFE_METHODS:
            rejections.request_refused(self.request, exc, response.status_code)
        return response

    def answer(self, ingested: list[Ingested], items: list[Any], body: Any, code: int) -> Response:
        """`body` with `code`, once the refused events among `ingested` are accounted for."""
        rejections.events_refused(self.request, ingested, items, code)
        return Response(body, status=code)


class EventIngestApi(IngestionApi):
    """Post one event: the app's legacy format or v2, or a CloudEvent (structured or binary
    mode). `GET` shows an example."""

    max_body_setting = "EVENTS_MAX_BODY_BYTES"
    parser_classes = [LimitedJSONParser, CloudEventParser]
    content_negotiation_class = cloudevents.BinaryModeNegotiation

    def get_throttles(self) -> list[BaseThrottle]:
        return [EventRateThrottle()] if self.request.method == "POST" else []

    @schema.describe_event_example
    def get(self, request: Request) -> Response:
        return Response(
            {"detail": "POST one event as a JSON object.", "example": schema.LEGACY_EXAMPLE}
        )

    @schema.describe_event_ingest
    def post(self, request: Request) -> Response:
        event_format, data = _incoming(request)
        ingested = ingest(
            components().processor,
            data,
            received_at=timezone.now(),
            event_format=event_format,
            new_user=NewUsersThrottle().admission(request),
        )
        if ingested.result is None:
            raise ValidationError(ingested.errors)
        return self.answer([ingested], [data], ingested.as_body(), ingested.status_code)


class EventCollectionApi(IngestionApi, ListAPIView):  # type: ignore[type-arg]  # not a Model
    """Recent events, newest first (a bounded window); `POST` ingests a batch, in order:
    the app's own events, or CloudEvents in batched mode."""

    max_body_setting = "EVENTS_BATCH_MAX_BODY_BYTES"
    parser_classes = [LimitedJSONParser, CloudEventBatchParser]
    serializer_class = EventRepresentationSerializer
    pagination_class = Pagination

    def get_queryset(self) -> list[Event]:  # type: ignore[override]
        params = self.request.query_params
        return selectors.recent_events(
            components().queries, user_id=params.get("user_id"), event_type=params.get("type")
        )

    def get_throttles(self) -> list[BaseThrottle]:
        return [BatchRateThrottle()] if self.request.method == "POST" else []

    @schema.describe_event_list
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @schema.describe_event_batch
    def post(self, request: Request) -> Response:
        received_at = timezone.now()
        batch = _BATCH.run_validation(request.data)
        events = _within_batch_limit(batch["events"])
        # The raw `sent_at` goes into each event, to be checked and read like its own.
        sent_at = request.data.get("sent_at") if "sent_at" in batch else None
        event_format = BATCH_FORMATS.get(_media_type(request))
        ingested = ingest_batch(
            components().processor,
            events,
            sent_at=sent_at,
            received_at=received_at,
            event_format=event_format,
            new_user=NewUsersThrottle().admission(request),
        )
        results = {"results": [each.as_body() for each in ingested]}
        return self.answer(ingested, events, results, status.HTTP_200_OK)


class SegmentTrackApi(IngestionApi):
    """Segment's `POST /v1/track`: one message, as Segment's HTTP Tracking API takes it."""

    max_body_setting = "EVENTS_MAX_BODY_BYTES"
    throttle_classes = [EventRateThrottle]

    @schema.describe_segment_track
    def post(self, request: Request) -> Response:
        ingested = ingest(
            components().processor,
            request.data,
            received_at=timezone.now(),
            event_format=EventFormat.SEGMENT,
            new_user=NewUsersThrottle().admission(request),
        )
        if ingested.result is None:
            raise ValidationError(ingested.errors)
        body = {"success": True, **ingested.as_body()}
        return self.answer([ingested], [request.data], body, _segment_status(ingested))


class SegmentBatchApi(IngestionApi):
    """Segment's `POST /v1/batch`, where Segment's and RudderStack's SDKs send everything."""

    max_body_setting = "EVENTS_BATCH_MAX_BODY_BYTES"
    throttle_classes = [BatchRateThrottle]

    @schema.describe_segment_batch
    def post(self, request: Request) -> Response:
        received_at = timezone.now()
        batch = _SEGMENT_BATCH.run_validation(request.data)
        messages = _within_batch_limit(batch["batch"])
        sent_at = request.data.get("sentAt") if batch.get("sentAt") else None
        ingested = ingest_batch(
            components().processor,
            messages,
            sent_at=sent_at,
            received_at=received_at,
            event_format=EventFormat.SEGMENT,
            new_user=NewUsersThrottle().admission(request),
        )
        results = [each.as_body() for each in ingested]
        body = {"success": True, "results": results}
        return self.answer(ingested, messages, body, status.HTTP_200_OK)


def _within_batch_limit(events: list[Any]) -> list[Any]:
    if len(events) > settings.EVENTS_BATCH_MAX_EVENTS:
        raise PayloadTooLarge(
            {
                "max_events": settings.EVENTS_BATCH_MAX_EVENTS,
                "max_bytes": settings.EVENTS_BATCH_MAX_BODY_BYTES,
            }
        )
    return events


def _segment_status(ingested: Ingested) -> int:
    """Segment's SDKs take any answer but a 200 as a failure: only a conflict is one here."""
    conflict = ingested.status_code == status.HTTP_409_CONFLICT
    return status.HTTP_409_CONFLICT if conflict else status.HTTP_200_OK


class RulesApi(APIView):
    """The rules in force in this process: its rules file's (or the built-in ones), with the
    file's version and where it was read from."""

    permission_classes = [AdminAccess]

    @schema.describe_rules
    def get(self, request: Request) -> Response:
        return Response(components().rules.as_data())


class UserStateApi(APIView):
    """A user's open training sessions and pending reminder."""

    permission_classes = [AdminAccess]

    @schema.describe_user_state
    def get(self, request: Request, user_id: str) -> Response:
        view = selectors.user_state(components().queries, user_id)
        return Response(UserStateSerializer(view, context={"request": request}).data)


class UserDecisionListApi(ListAPIView):  # type: ignore[type-arg]  # a list, not a Model
    """Why each of a user's notifications was or was not sent, newest first."""

    permission_classes = [AdminAccess]

    serializer_class = DecisionRecordSerializer
    pagination_class = Pagination

    def get_queryset(self) -> list[DecisionRecord]:  # type: ignore[override]
        return selectors.decisions(components().queries, self.kwargs["user_id"])

    @schema.describe_user_decisions
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


NO_HISTORY = (
    "No history of user {user_id!r} is kept: never seen, or forgotten (README, "
    "'Each user's timeline')."
)


class UserTimelineApi(APIView):
    """A user's recent history as a picture: an HTML page with the SVG inline, or with
    `?format=svg` the SVG alone (events/wire/timeline_svg.py). Errors are JSON, as every
    other answer."""

    permission_classes = [AdminAccess]
    renderer_classes = [TimelinePageRenderer, TimelineSvgRenderer]
    content_negotiation_class = FormatNegotiation

    @schema.describe_user_timeline
    def get(self, request: Request, user_id: str) -> Response:
        parts = components()
        timeline = history.user_timeline(
            parts.queries, parts.outbox, user_id, parts.thresholds, _kept(), timezone.now()
        )
        if timeline is None:
            raise NotFound(NO_HISTORY.format(user_id=user_id))
        return Response(timeline)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        if response.status_code >= status.HTTP_400_BAD_REQUEST:
            request.accepted_renderer = ORJSONRenderer()
            request.accepted_media_type = ORJSONRenderer.media_type
        else:
            response["Content-Security-Policy"] = PICTURE_POLICY
        return super().finalize_response(request, response, *args, **kwargs)


#: The picture is drawn, not run: no script, nothing loaded; its own inline styles only.
PICTURE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def _kept() -> history.Kept:
    return history.Kept(
        decisions=settings.EVENTS_DECISION_LOG_LIMIT,
        recent_events=settings.EVENTS_RECENT_LIMIT,
        reorder_window=timedelta(seconds=settings.EVENTS_REORDER_WINDOW_SECONDS),
        sent_notifications=settings.NOTIFICATIONS_RECENT_LIMIT,
    )
