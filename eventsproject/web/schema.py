"""OpenAPI pieces shared by the apps: the error answers and the authentication scheme."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description="`detail` says what is wrong.")

#: The error answers any endpoint of the API may give.
ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Malformed: per-field errors."),
    401: ERROR,
    403: ERROR,
    404: ERROR,
    413: OpenApiResponse(OpenApiTypes.OBJECT, description="Too large: the limits are in the body."),
    415: ERROR,
    429: OpenApiResponse(OpenApiTypes.OBJECT, description="Throttled: see `Retry-After`."),
}


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "eventsproject.web.authentication.BearerTokenAuthentication"
    name = "bearerToken"
    optional = False  # production mode; development mode and EVENTS_ALLOW_ANONYMOUS waive it

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )


class LoginCookieScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """A person's login from the browser (`/login`), with the page's CSRF token on changes."""

    target_class = "eventsproject.web.login.LoginCookieAuthentication"
    name = "loginCookie"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        from eventsproject.web.login import LOGIN_COOKIE

        return {"type": "apiKey", "in": "cookie", "name": LOGIN_COOKIE}
