"""The HTTP client of the notify service's `POST /v1/notify`: one attempt per call.

A `requests.Session` (one per thread) with connect and read timeouts always
set. Every attempt carries the notification id as the `Idempotency-Key`, a
Standard Webhooks signature when a secret is set (`notifications/signing.py`),
the bearer token when one is set, and a `User-Agent` naming the service.
Retrying is not done here but by the outbox, which schedules attempts
without blocking its worker and knows the budget and the circuit breaker:
the client only says whether a failure is worth retrying, and when the
server asked to be retried (`Retry-After`). Settings are read at call time.
"""

import logging
import threading
import time

import orjson
import requests
from django.conf import settings
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

import eventsproject
from eventsproject.redaction import redact_url, scrub
from notifications import signing
from notifications.domain import Notification

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
USER_AGENT = f"events-processor/{eventsproject.__version__}"


class NotificationError(Exception):
    """A delivery attempt failed; `retryable` says if trying later may help."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class NotifyClient:
    def __init__(self) -> None:
        self._local = threading.local()

    def send(self, notification: Notification) -> None:
        url = settings.NOTIFY_URL
        shown = redact_url(url)  # what messages say: never the URL's credentials
        body = orjson.dumps(notification.as_payload())
        try:
            response = self._session().post(
                url,
                data=body,
                headers=_headers(notification.notification_id, body),
                # A redirect would carry the notification, its signature and its credentials
                # to an address nobody configured: it is a failed attempt instead.
                allow_redirects=False,
                timeout=(settings.NOTIFY_CONNECT_TIMEOUT, settings.NOTIFY_READ_TIMEOUT),
            )
        except requests.RequestException as exc:
            # Not chained: the cause's text (and a traceback's) would hold the raw URL.
            why = scrub(f"{type(exc).__name__}: {exc}", url)
            raise NotificationError(f"POST {shown} failed: {why}", retryable=True) from None
        if not 200 <= response.status_code < 300:
            raise NotificationError(
                f"POST {shown} answered {response.status_code}",
                retryable=response.status_code in RETRYABLE_STATUSES or response.is_redirect,
                retry_after=_retry_after(response),
            )

    def _session(self) -> requests.Session:
        # requests.Session is not documented as thread-safe: one per thread.
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # NOTIFY_URL says where to go: no proxy or netrc from the environment, whose
            # lookup on every request costs more CPU than the request itself.
            session.trust_env = False
            self._local.session = session
        return session


def _headers(notification_id: str, body: bytes) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": notification_id,
    }
    if keys := settings.NOTIFY_SIGNING_KEYS:
        headers |= signing.signed_headers(keys, notification_id, body, int(time.time()))
    if token := settings.NOTIFY_AUTH_TOKEN:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _retry_after(response: requests.Response) -> float | None:
    """Seconds the server asked us to wait (`Retry-After` as seconds or an HTTP date)."""
    header = response.headers.get("Retry-After")
    if header is None:
        return None
    try:
        return Retry().parse_retry_after(header)
    except InvalidHeader:
        return None
