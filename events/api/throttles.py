"""The events API's throttles: single events, batches, and the new users a client may make
the store hold (the per-client machinery: eventsproject/web/throttles.py)."""

from collections.abc import Callable
from functools import partial

from rest_framework.request import Request

from eventsproject.web import throttles
from eventsproject.web.throttles import ClientRateThrottle, client_identity


class EventRateThrottle(ClientRateThrottle):
    """Limits single events (`/v1/event`, `/v1/track`) per client."""

    scope = "event"
    rate_setting = "EVENTS_THROTTLE_RATE"


class BatchRateThrottle(ClientRateThrottle):
    """Limits batch requests per client."""

    scope = "batch"
    rate_setting = "EVENTS_BATCH_THROTTLE_RATE"


class NewUsersThrottle(ClientRateThrottle):
    """Limits the users one client may make the store hold, per period: one holder of the
    app's token cannot fill the store for everyone. Asked by processing, only for an event
    that makes a new user (events/service/processing.py), never for the others."""

    scope = "new-users"
    rate_setting = "EVENTS_NEW_USERS_RATE"

    def admission(self, request: Request) -> Callable[[], float] | None:
        """The seconds the request's client must wait before making a new user, or None."""
        if self.rate is None:
            return None
        key = f"{self.scope}:{client_identity(request)}"
        limiter = throttles.rate_limiter()
        return partial(limiter.admit, key, self.num_requests, self.duration)
