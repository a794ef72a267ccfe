"""Who may do what: the scopes, which tokens grant them and when anonymous clients have them.

An ingestion token (EVENTS_API_TOKENS, or a Segment write key sent as Basic
credentials) may post events. An admin token (EVENTS_ADMIN_TOKENS) may also read
what was posted and decided (users, decisions, notifications) and re-send. In
production mode (DEBUG off) a request without a token is refused, unless
EVENTS_ALLOW_ANONYMOUS is set; there, as in development mode, a scope none of
whose tokens are configured is open to anyone.
"""

from enum import StrEnum

from django.conf import settings


class Scope(StrEnum):
    INGEST = "ingest"
    ADMIN = "admin"


#: The setting that lists each scope's tokens, and what a token of it may do.
TOKEN_SETTINGS = {Scope.INGEST: "EVENTS_API_TOKENS", Scope.ADMIN: "EVENTS_ADMIN_TOKENS"}
GRANTS = {Scope.INGEST: frozenset({Scope.INGEST}), Scope.ADMIN: frozenset(Scope)}


def tokens(scope: Scope) -> list[str]:
    return list(getattr(settings, TOKEN_SETTINGS[scope]))


def any_tokens() -> bool:
    return any(tokens(scope) for scope in Scope)


def runs_open() -> bool:
    return bool(settings.DEBUG or settings.EVENTS_ALLOW_ANONYMOUS)


def open_scopes() -> frozenset[Scope]:
    """What a client without a token may do."""
    if not runs_open():
        return frozenset()
    return frozenset(scope for scope in Scope if not tokens(scope))
