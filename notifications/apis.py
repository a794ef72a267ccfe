"""The notifications HTTP API: what the rules decided and how delivery went."""

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.serializers import OutboxEntrySerializer
from notifications.services import get_outbox


class NotificationListApi(APIView):
    """Notifications, newest first, with their delivery status."""

    def get(self, request: Request) -> Response:
        return Response(OutboxEntrySerializer(get_outbox().entries(), many=True).data)
