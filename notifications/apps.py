from django.apps import AppConfig
from django.conf import settings

from notifications.client import NotifyClient
from notifications.outbox import Outbox, circuit_breaker
from notifications.retry import RetryPolicy


class NotificationsConfig(AppConfig):
    name = "notifications"
    outbox: Outbox

    def ready(self) -> None:
        self.outbox = Outbox(
            NotifyClient(),
            policy=RetryPolicy(
                max_attempts=settings.NOTIFY_MAX_ATTEMPTS,
                base_delay=settings.NOTIFY_BACKOFF_BASE_SECONDS,
                max_delay=settings.NOTIFY_BACKOFF_MAX_SECONDS,
                max_total=settings.NOTIFY_RETRY_BUDGET_SECONDS,
            ),
            breaker=circuit_breaker(
                failures=settings.NOTIFY_BREAKER_FAILURES,
                cooldown_seconds=settings.NOTIFY_BREAKER_COOLDOWN_SECONDS,
            ),
            history_limit=settings.NOTIFICATIONS_RECENT_LIMIT,
        )
