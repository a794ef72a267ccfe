"""Bearer-token authentication and the scope each endpoint needs (eventsproject/web/access.py).

A token goes in `Authorization: Bearer <token>`, or, as Segment's and
RudderStack's SDKs send their write key, `Authorization: Basic base64(<token>:<anything>)`.
An unknown token is a 401; a known one without the scope an endpoint needs, a
403 that names the setting whose tokens have it. A person in a browser logs in on
a page instead (eventsproject/web/login.py).
"""

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, NoReturn

from django.http import HttpRequest
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from eventsproject.web.access import GRANTS, TOKEN_SETTINGS, Scope, any_tokens, open_scopes, tokens

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.views import APIView


@dataclass(frozen=True)
class ApiClient:
    """Who presented a valid token, and what it may do. There are no user accounts here."""

    scopes: frozenset[Scope]
    is_authenticated: bool = True

    def __str__(self) -> str:
        """Who it is, in words (the browsable API's navbar shows it)."""
        return next(name for scope, name in CLIENT_NAMES.items() if scope in self.scopes)


#: What a client is called, by the widest scope its token has.
CLIENT_NAMES = {Scope.ADMIN: "operator", Scope.INGEST: "app"}


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiClient, str] | None:
        words = get_authorization_header(request).split()
        if not any_tokens() or not words:
            return None
        read_token = TOKEN_READERS.get(words[0].lower())
        if read_token is None:
            return None
        refuse_if_blocked(request)
        if len(words) != 2:
            refuse(request, "Use 'Authorization: Bearer <token>'.")
        token = read_token(words[1])
        scopes = scopes_of(token)
        if not scopes:
            refuse(request, "Invalid token.")
        return ApiClient(scopes), token.decode()

    def authenticate_header(self, request: Request) -> str:
        return BEARER_CHALLENGE


BEARER_CHALLENGE = 'Bearer realm="events"'


def refuse_if_blocked(request: HttpRequest) -> None:
    from eventsproject.web.throttles import blocked_for  # it needs the settings this one feeds

    wait = blocked_for(request)
    if wait:
        raise Throttled(wait, detail=TOO_MANY_FAILURES)


TOO_MANY_FAILURES = "Too many failed authentications from this address."


def refuse(request: HttpRequest, why: str) -> NoReturn:
    """A failed authentication: `401`, or `429` once its address failed too often."""
    from eventsproject.web.throttles import AuthFailureThrottle

    throttle = AuthFailureThrottle()
    if not throttle.allow_request(request, None):  # type: ignore[arg-type]
        raise Throttled(throttle.wait(), detail=TOO_MANY_FAILURES)
    raise AuthenticationFailed(why)


def scopes_of(token: bytes) -> frozenset[Scope]:
    granted: frozenset[Scope] = frozenset()
    for scope in Scope:
        if any(hmac.compare_digest(token, known.encode()) for known in tokens(scope)):
            granted |= GRANTS[scope]
    return granted


def _write_key(credentials: bytes) -> bytes:
    """The user name of Basic credentials: where Segment's SDKs put the write key."""
    try:
        return base64.b64decode(credentials, validate=True).partition(b":")[0]
    except (binascii.Error, ValueError):
        raise AuthenticationFailed("Basic credentials must be base64 of '<token>:'.") from None


TOKEN_READERS = {b"bearer": lambda token: token, b"basic": _write_key}


class ScopeRequired(BasePermission):
    """Admits a client whose token has the scope the request's method needs, or anyone
    where that scope is open. Any method not in `scopes` needs the admin scope."""

    scopes: ClassVar[Mapping[str, Scope]] = {}

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if not hasattr(view, str(request.method).lower()):
            return True  # the view answers 405 with the methods it has: nothing to guard
        scope = self.scopes.get(str(request.method), Scope.ADMIN)
        self.message = f"This needs a token listed in {TOKEN_SETTINGS[scope]}."
        if isinstance(request.user, ApiClient):
            return scope in request.user.scopes
        return scope in open_scopes()


class IngestionAccess(ScopeRequired):
    """Posting is ingestion; reading what was posted is an operator's business."""

    scopes = {"POST": Scope.INGEST}


class AdminAccess(ScopeRequired):
    """Reading users, decisions and notifications, and re-sending."""
