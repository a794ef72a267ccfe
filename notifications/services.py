"""The notifications app's entry points for the rest of the service."""

from typing import cast

from django.apps import apps

from notifications.apps import NotificationsConfig
from notifications.domain import Notification
from notifications.outbox import Outbox, OutboxEntry


def get_outbox() -> Outbox:
    return cast(NotificationsConfig, apps.get_app_config("notifications")).outbox


def publish(notification: Notification) -> OutboxEntry:
    return get_outbox().publish(notification)
