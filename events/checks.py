"""System checks of who may use the API: printed by `runserver`, `check` and at the
production server's start (eventsproject/gunicorn.py) whenever it runs open."""

from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register

from eventsproject.access import Scope, open_scopes

#: What anyone may do when a scope is open, and the setting that closes it.
OPEN_SCOPE_WARNINGS = {
    Scope.INGEST: (
        "events.W002",
        "anyone may post events: EVENTS_API_TOKENS is empty",
        "Set EVENTS_API_TOKENS, unless a gateway in front authenticates the app.",
    ),
    Scope.ADMIN: (
        "events.W003",
        "anyone may read users' state, decisions and notifications and re-send them: "
        "EVENTS_ADMIN_TOKENS is empty",
        "Set EVENTS_ADMIN_TOKENS.",
    ),
}


@register(Tags.security)
def open_access(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    return [
        Warning(f"Running open (DEBUG or EVENTS_ALLOW_ANONYMOUS): {said}", hint=hint, id=code)
        for scope, (code, said, hint) in OPEN_SCOPE_WARNINGS.items()
        if scope in open_scopes()
    ]
