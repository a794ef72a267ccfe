from django.apps import AppConfig
from django.conf import settings

from notifications.client import NotifyClient
from notifications.outbox import Outbox


class NotificationsConfig(AppConfig):
    name = "notifications"
    outbox: Outbox

    def ready(self) -> None:
        self.outbox = Outbox(NotifyClient(), history_limit=settings.NOTIFICATIONS_RECENT_LIMIT)
