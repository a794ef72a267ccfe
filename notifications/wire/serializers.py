"""How the API shows notifications and their delivery state."""

from typing import Any

from rest_framework import serializers

from notifications.ports import OutboxEntry


class OutboxEntrySerializer(serializers.Serializer[Any]):
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: OutboxEntry) -> dict[str, Any]:
        return {**instance.notification.as_payload(), **super().to_representation(instance)}
