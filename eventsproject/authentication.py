"""Optional bearer-token authentication for the API.

With `EVENTS_API_TOKENS` empty (the default) every request is let in and the
service must sit behind a gateway that authenticates the app. With tokens set,
every endpoint but the health check and the API docs requires
`Authorization: Bearer <token>`; anything else is answered 401.
"""

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.views import APIView


@dataclass(frozen=True)
class ApiClient:
    """Who presented a valid token. There are no user accounts here."""

    is_authenticated: bool = True


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiClient, str] | None:
        words = get_authorization_header(request).split()
        if not settings.EVENTS_API_TOKENS or not words or words[0].lower() != b"bearer":
            return None
        if len(words) != 2:
            raise AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
        token = words[1]
        if not any(
            hmac.compare_digest(token, known.encode()) for known in settings.EVENTS_API_TOKENS
        ):
            raise AuthenticationFailed("Invalid token.")
        return ApiClient(), token.decode()

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="events"'


class TokenRequiredWhenConfigured(BasePermission):
    def has_permission(self, request: Request, view: "APIView") -> bool:
        return not settings.EVENTS_API_TOKENS or request.auth is not None
