"""The events HTTP API: thin views that parse, call a service and answer."""

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events.serializers import EventRepresentationSerializer, IncomingEventSerializer
from events.services import RecordResult, get_repository, record_event

SAMPLE_EVENT = {
    "user_id": "foo1",
    "device_id": "bar1",
    "type": "training_program_started",
    "training_program_id": "2352",
    "training_program_title": "7 Minutes of HIIT Training",
    "time_stamp": "2021-02-28 16:23:25",
}


class EventIngestApi(APIView):
    """Post one event from the app. `GET` shows what to post."""

    def get(self, request: Request) -> Response:
        return Response({"detail": "POST one event as a JSON object.", "example": SAMPLE_EVENT})

    def post(self, request: Request) -> Response:
        serializer = IncomingEventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = record_event(serializer.validated_data)
        return Response(_result_body(result), status=status.HTTP_202_ACCEPTED)


class EventListApi(APIView):
    """The most recent events, newest first (a bounded window, not a full log)."""

    def get(self, request: Request) -> Response:
        events = get_repository().recent_events()
        return Response(EventRepresentationSerializer(events, many=True).data)


def _result_body(result: RecordResult) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": result.outcome.value,
        "event": EventRepresentationSerializer(result.event).data,
    }
    if result.reason:
        body["reason"] = result.reason
    return body
