"""A JSON parser with a body-size limit, so oversized bodies are refused before parsing.

It reads at most the bytes that the view's `max_body_setting` names (+1 to notice
more) and parses with orjson: strict JSON (no NaN), bounded in nesting depth, fast.
"""

from collections.abc import Mapping
from typing import IO, Any

import orjson
from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"

    def __init__(self, limits: dict[str, Any]) -> None:
        limit_text = ", ".join(f"{name} {value}" for name, value in limits.items())
        super().__init__()
        # Set directly: APIException would turn the numbers into strings.
        self.detail = {"detail": f"{self.default_detail} Limits: {limit_text}.", **limits}  # type: ignore[dict-item]


class LimitedJSONParser(BaseParser):
    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        view = (parser_context or {}).get("view")
        limit: int = getattr(settings, getattr(view, "max_body_setting", "EVENTS_MAX_BODY_BYTES"))
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge({"max_bytes": limit})
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


class CloudEventParser(LimitedJSONParser):
    """A CloudEvent in structured mode: the attributes and `data` in one JSON object."""

    media_type = "application/cloudevents+json"


class CloudEventBatchParser(LimitedJSONParser):
    """CloudEvents in batched mode: a JSON array of structured events."""

    media_type = "application/cloudevents-batch+json"
