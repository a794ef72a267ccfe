"""System checks of who may use the API: printed by `runserver`, `check` and at the
production server's start (eventsproject/gunicorn.py) whenever it runs open."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

from eventsproject.web.access import Scope, open_scopes

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


#: Tokens shorter than this can be guessed by a client that tries many (README, "Who may
#: do what"); 16 random characters are far out of reach.
SHORTEST_TOKEN = 16


@register(Tags.security)
def self_defeating_access(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Settings that undo what they are for; each names the setting, never a token."""
    return [warning for check in SELF_DEFEATING for warning in check()]


def _shared_tokens() -> list[CheckMessage]:
    if not set(settings.EVENTS_API_TOKENS) & set(settings.EVENTS_ADMIN_TOKENS):
        return []
    return [
        Warning(
            "a token is in both EVENTS_API_TOKENS and EVENTS_ADMIN_TOKENS: the app's token, "
            "which ships in every phone, could read every user's state and notifications",
            hint="Give operators tokens of their own.",
            id="events.W004",
        )
    ]


def _short_tokens() -> list[CheckMessage]:
    return [
        Warning(
            f"token {position} of {name} is shorter than {SHORTEST_TOKEN} characters: it "
            "can be guessed",
            hint="Use long random tokens: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'",
            id="events.W005",
        )
        for name in ("EVENTS_API_TOKENS", "EVENTS_ADMIN_TOKENS")
        for position, token in enumerate(getattr(settings, name), 1)
        if len(token) < SHORTEST_TOKEN
    ]


def _proxies_everywhere() -> list[CheckMessage]:
    return [
        Warning(
            f"EVENTS_TRUSTED_PROXIES holds {network}, every address: any client can name "
            "itself in X-Forwarded-For and escape its throttle",
            hint="List only the addresses of the proxies in front of the service.",
            id="events.W006",
        )
        for network in settings.EVENTS_TRUSTED_PROXIES
        if network.prefixlen == 0
    ]


SELF_DEFEATING = (_shared_tokens, _short_tokens, _proxies_everywhere)
