"""The HTTP client of the notify service's `POST /v1/notify`.

One `requests.Session` with urllib3's `Retry` mounted: connection errors, 408,
429 and 5xx are retried with exponential backoff (honouring `Retry-After`);
other answers are final. Every attempt carries the notification id as the
`Idempotency-Key`, so retries are safe. Settings are read at call time.
"""

import logging
import threading

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from notifications.domain import Notification

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class NotificationError(Exception):
    """A notification could not be delivered; `retryable` says if trying later may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class NotifyClient:
    def __init__(self) -> None:
        self._local = threading.local()

    def send(self, notification: Notification) -> None:
        url = settings.NOTIFY_URL
        try:
            response = self._session().post(
                url,
                json=notification.as_payload(),
                headers={"Idempotency-Key": notification.notification_id},
                timeout=(settings.NOTIFY_CONNECT_TIMEOUT, settings.NOTIFY_READ_TIMEOUT),
            )
        except requests.RequestException as exc:
            raise NotificationError(f"POST {url} failed: {exc}", retryable=True) from exc
        if not response.ok:
            raise NotificationError(
                f"POST {url} answered {response.status_code}",
                retryable=response.status_code in RETRYABLE_STATUSES,
            )
        logger.info(
            "notification %s delivered to %s (%s)",
            notification.notification_id,
            url,
            response.status_code,
        )

    def _session(self) -> requests.Session:
        # requests.Session is not documented as thread-safe: one per thread.
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount("http://", HTTPAdapter(max_retries=_retry_policy()))
            session.mount("https://", HTTPAdapter(max_retries=_retry_policy()))
            self._local.session = session
        return session


def _retry_policy() -> Retry:
    return Retry(
        total=settings.NOTIFY_RETRIES,
        backoff_factor=settings.NOTIFY_BACKOFF_FACTOR,
        status_forcelist=RETRYABLE_STATUSES,
        allowed_methods=frozenset({"POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
