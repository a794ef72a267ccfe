"""A bare DRF view with the service's own serializers: parse and echo, nothing recorded.

It answers like `POST /v1/event` and parses the way it does (one shared
instance of each serializer), so the difference between the two is what the
service adds: idempotency, the clock, the signal, the rules and the outbox.
"""

from django.urls import path
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events.wire.formats import IncomingEventSerializer
from events.wire.representations import EventRepresentationSerializer

_INCOMING = IncomingEventSerializer()
_REPRESENTATION = EventRepresentationSerializer()


class BareEventApi(APIView):
    def post(self, request: Request) -> Response:
        event = _INCOMING.run_validation(request.data)
        body = {
            "status": "accepted",
            "format": "v2",
            "event": _REPRESENTATION.to_representation(event),
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


urlpatterns = [path("v1/event", BareEventApi.as_view()), path("v1/health", BareEventApi.as_view())]
