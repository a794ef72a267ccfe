"""DRF throttles for ingestion. Rates are read from settings at request time."""

from collections.abc import Mapping

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from events.domain import fingerprint


class DeviceRateThrottle(SimpleRateThrottle):
    """Limits events per device; a body without a usable device_id counts against its client."""

    scope = "device"

    def get_rate(self) -> str | None:
        return settings.EVENTS_THROTTLE_RATE

    def get_cache_key(self, request: Request, view: APIView) -> str:
        data = request.data
        device = data.get("device_id") if isinstance(data, Mapping) else None
        ident = f"device:{device}" if isinstance(device, str) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": fingerprint(ident)}


class BatchRateThrottle(SimpleRateThrottle):
    """Limits batch requests per client address."""

    scope = "batch"

    def get_rate(self) -> str | None:
        return settings.EVENTS_BATCH_THROTTLE_RATE

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
