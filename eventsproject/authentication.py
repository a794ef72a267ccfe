"""Optional bearer-token authentication for the API.

With `EVENTS_API_TOKENS` empty (the default) every request is let in and the
service must sit behind a gateway that authenticates the app. With tokens set,
every endpoint but the health check and the API docs requires
`Authorization: Bearer <token>`, or — as Segment's and RudderStack's SDKs send
their write key — `Authorization: Basic base64(<token>:)`; anything else is
answered 401.
"""

import base64
import binascii
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
        if not settings.EVENTS_API_TOKENS or not words:
            return None
        read_token = TOKEN_READERS.get(words[0].lower())
        if read_token is None:
            return None
        if len(words) != 2:
            raise AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
        token = read_token(words[1])
        if not any(
            hmac.compare_digest(token, known.encode()) for known in settings.EVENTS_API_TOKENS
        ):
            raise AuthenticationFailed("Invalid token.")
        return ApiClient(), token.decode()

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="events"'


def _write_key(credentials: bytes) -> bytes:
    """The user name of Basic credentials: where Segment's SDKs put the write key."""
    try:
        return base64.b64decode(credentials, validate=True).partition(b":")[0]
    except (binascii.Error, ValueError):
        raise AuthenticationFailed("Basic credentials must be base64 of '<token>:'.") from None


TOKEN_READERS = {b"bearer": lambda token: token, b"basic": _write_key}


class TokenRequiredWhenConfigured(BasePermission):
    def has_permission(self, request: Request, view: "APIView") -> bool:
        return not settings.EVENTS_API_TOKENS or request.auth is not None
