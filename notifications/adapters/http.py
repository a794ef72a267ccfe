"""The HTTP client of the notify service's `POST /v1/notify`: one attempt per call.

urllib3's connection pool, shared by the dispatcher's delivery threads: keep-alive
connections, at most `connections` to the notify service, connect and read timeouts
always set, no retries and no redirects followed. Every attempt carries the
notification id as the `Idempotency-Key`, a Standard Webhooks signature when a
secret is set (`eventsproject/platform/signing.py`), the bearer token when one is set (or
the credentials of NOTIFY_URL, as Basic auth), and a `User-Agent` naming the
service. Retrying is not done here but by the outbox, which schedules attempts
without blocking its worker and knows the budget and the circuit breaker: the
client only says whether a failure is worth retrying, and when the server asked
to be retried (`Retry-After`). Settings are read at call time.
"""

import logging
import time
from dataclasses import dataclass
from urllib.parse import unquote

import orjson
import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError, InvalidHeader
from urllib3.util import make_headers, parse_url
from urllib3.util.retry import Retry

import eventsproject
from eventsproject.platform import signing
from eventsproject.platform.redaction import redact_url, scrub
from notifications.domain.notification import Notification
from notifications.ports import NotificationError

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
USER_AGENT = f"events-processor/{eventsproject.__version__}"


@dataclass(frozen=True, slots=True)
class _Target:
    """What every call to one URL shares, worked out once: the connection pool of its
    host, the path to post to and the Basic auth its credentials make, if any (as
    browsers and requests do)."""

    url: str
    pool: urllib3.HTTPConnectionPool
    path: str
    basic_auth: dict[str, str]


class NotifyClient:
    def __init__(self, connections: int = 10) -> None:
        # One attempt per call (the outbox retries); a redirect would carry the
        # notification, its signature and its credentials to an address nobody
        # configured: it is a failed attempt instead. Never the environment's proxies.
        self._pools = urllib3.PoolManager(maxsize=connections, block=True, retries=False)
        self._last_target: _Target | None = None  # NOTIFY_URL changes in tests only

    def send(self, notification: Notification) -> None:
        url = settings.NOTIFY_URL
        body = orjson.dumps(notification.as_payload())
        try:
            target = self._target_of(url)
            response = target.pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers=_headers(notification.notification_id, body, target),
                redirect=False,
                assert_same_host=False,
                retries=False,
                timeout=urllib3.Timeout(
                    connect=settings.NOTIFY_CONNECT_TIMEOUT, read=settings.NOTIFY_READ_TIMEOUT
                ),
            )
        except HTTPError as exc:
            # Not chained: the cause's text (and a traceback's) could hold the raw URL.
            why = scrub(f"{type(exc).__name__}: {exc}", url)
            shown = redact_url(url)  # what messages say: never the URL's credentials
            raise NotificationError(f"POST {shown} failed: {why}", retryable=True) from None
        if not 200 <= response.status < 300:
            raise NotificationError(
                f"POST {redact_url(url)} answered {response.status}",
                retryable=response.status in RETRYABLE_STATUSES
                or bool(response.get_redirect_location()),
                retry_after=_retry_after(response),
            )

    def _target_of(self, url: str) -> _Target:
        target = self._last_target
        if target is None or target.url != url:
            target = self._last_target = self._target(url)
        return target

    def _target(self, url: str) -> _Target:
        parsed = parse_url(url)
        userinfo = parsed.auth
        return _Target(
            url=url,
            pool=self._pools.connection_from_url(url),
            path=parsed.request_uri,
            basic_auth=make_headers(basic_auth=unquote(userinfo)) if userinfo else {},
        )


def _headers(notification_id: str, body: bytes, target: _Target) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": notification_id,
    }
    if keys := settings.NOTIFY_SIGNING_KEYS:
        headers |= signing.signed_headers(keys, notification_id, body, int(time.time()))
    if token := settings.NOTIFY_AUTH_TOKEN:
        headers["Authorization"] = f"Bearer {token}"
    return headers | target.basic_auth


def _retry_after(response: urllib3.BaseHTTPResponse) -> float | None:
    """Seconds the server asked us to wait (`Retry-After` as seconds or an HTTP date)."""
    header = response.headers.get("Retry-After")
    if header is None:
        return None
    try:
        return Retry().parse_retry_after(header)
    except InvalidHeader:
        return None
