"""Deployment checks (`manage.py check --deploy`) of the notify calls."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def signed_notify_calls(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if settings.NOTIFY_SIGNING_KEYS:
        return []
    return [
        Warning(
            "NOTIFY_SIGNING_SECRET is not set: calls to /v1/notify go unsigned, and the "
            "notify service cannot tell them from forgeries.",
            hint="Set NOTIFY_SIGNING_SECRET to whsec_<base64 of 32 random bytes> (README, "
            "'Signed calls').",
            id="events.W001",
        )
    ]
