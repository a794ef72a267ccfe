"""How drf-spectacular describes the project's own authentication class."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "eventsproject.authentication.BearerTokenAuthentication"
    name = "bearerToken"
    optional = True  # only enforced when EVENTS_API_TOKENS is set

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )
