"""DRF throttles for ingestion, per client: the token it authenticated with, or else its
address. Never a field of the body, which any client can change (to escape its limit) or
copy (to throttle someone else). Rates are read from settings at request time."""

from typing import ClassVar

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from events.domain import fingerprint
from eventsproject.bootstrap import components
from eventsproject.clients import client_address


class ClientRateThrottle(SimpleRateThrottle):
    rate_setting: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.cache = components().throttle_cache  # shared by every process on Redis

    def get_rate(self) -> str | None:
        rate: str | None = getattr(settings, self.rate_setting)
        return rate

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_identity(request)}


class EventRateThrottle(ClientRateThrottle):
    """Limits single events (`/v1/event`, `/v1/track`) per client."""

    scope = "event"
    rate_setting = "EVENTS_THROTTLE_RATE"


class BatchRateThrottle(ClientRateThrottle):
    """Limits batch requests per client."""

    scope = "batch"
    rate_setting = "EVENTS_BATCH_THROTTLE_RATE"


def client_identity(request: Request) -> str:
    if request.auth is not None:
        return f"token:{fingerprint(request.auth)}"  # a digest: tokens stay out of cache keys
    return f"address:{client_address(request.META, settings.EVENTS_TRUSTED_PROXIES)}"
