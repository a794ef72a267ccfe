"""The one pagination style of the API's lists: `?limit=&offset=`.

Each parameter is a whole number within its bounds, or the request is a `400` that says
so: DRF's own pagination answers a page with its defaults instead, so a typo went
unnoticed and the schema's `integer` was not what the server read.
"""

import re
from typing import Any, NamedTuple

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.views import APIView

#: ASCII digits only (int() would also take other digits, signs, `_` and spaces), and few
#: enough for int() to read.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


class Bounds(NamedTuple):
    """What a query parameter may be, stated in the schema and checked on every request."""

    minimum: int
    maximum: int
    message: str

    def admits(self, value: int | None) -> bool:
        return value is not None and self.minimum <= value <= self.maximum

    def as_schema(self) -> dict[str, int]:
        return {"minimum": self.minimum, "maximum": self.maximum}


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500
    #: Far past any list the stores keep: a page there is empty.
    max_offset = 1_000_000_000

    def bounds(self) -> dict[str, Bounds]:
        """Each query parameter by name."""
        return {
            self.limit_query_param: Bounds(
                1, self.max_limit, f"Must be a whole number from 1 to {self.max_limit}."
            ),
            self.offset_query_param: Bounds(
                0, self.max_offset, f"Must be a whole number from 0 to {self.max_offset}."
            ),
        }

    def get_limit(self, request: Request) -> int:
        return self._read(request, self.limit_query_param, self.default_limit)

    def get_offset(self, request: Request) -> int:
        return self._read(request, self.offset_query_param, 0)

    def _read(self, request: Request, name: str, default: int) -> int:
        text = request.query_params.get(name)
        if text is None:
            return default
        bounds = self.bounds()[name]
        value = int(text) if _WHOLE_NUMBER.fullmatch(text) else None
        if not bounds.admits(value):
            raise ValidationError({name: [bounds.message]}, code="invalid")
        return int(text)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        """DRF's parameters, with the bounds that every request is held to."""
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"].update(self.bounds()[parameter["name"]].as_schema())
        return parameters
