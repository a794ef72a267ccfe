"""A JSON parser with a body-size limit, so oversized bodies are refused before parsing.

It reads at most the bytes that the view's `max_body_setting` names (+1 to notice
more) and parses with orjson: strict JSON (no NaN), bounded in nesting depth, fast.
A `Content-Encoding: gzip` body is inflated with the same limit on what comes out,
so a small bomb is a `413` after a limit's worth of work, not a full memory.
"""

import zlib
from collections.abc import Callable, Mapping
from typing import IO, Any

import orjson
from django.conf import settings
from django.http import UnreadablePostError
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
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


class BodyNotReceived(APIException):
    """The client stopped sending its body (eventsproject/workers.py bounds the silence)."""

    status_code = status.HTTP_408_REQUEST_TIMEOUT
    default_detail = "The request body stopped arriving before its end."
    default_code = "body_not_received"


class LimitedJSONParser(BaseParser):
    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        context = parser_context or {}
        limit: int = getattr(
            settings, getattr(context.get("view"), "max_body_setting", "EVENTS_MAX_BODY_BYTES")
        )
        body = _decoder(context.get("request"))(stream, limit)
        if len(body) > limit:
            raise PayloadTooLarge({"max_bytes": limit})
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


def _read(stream: IO[Any], limit: int) -> bytes:
    try:
        return bytes(stream.read(limit + 1))
    except UnreadablePostError as exc:
        raise BodyNotReceived() from exc


def _gunzip(stream: IO[Any], limit: int) -> bytes:
    """At most `limit` + 1 bytes out of at most `limit` compressed ones."""
    compressed = _read(stream, limit)
    if len(compressed) > limit:
        raise PayloadTooLarge({"max_bytes": limit})
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(compressed, limit + 1)
    except zlib.error as exc:
        raise ParseError(f"The gzip body could not be read: {exc}.") from exc
    if len(body) <= limit and not inflater.eof:
        raise ParseError("The gzip body is cut short.")
    return body


#: How each `Content-Encoding` is read; no header is the same as `identity`.
DECODERS: dict[str, Callable[[IO[Any], int], bytes]] = {
    "": _read,
    "identity": _read,
    "gzip": _gunzip,
    "x-gzip": _gunzip,
}


def _decoder(request: Any) -> Callable[[IO[Any], int], bytes]:
    raw = request.META.get("HTTP_CONTENT_ENCODING", "") if request is not None else ""
    decoder = DECODERS.get(raw.strip().lower())
    if decoder is None:
        raise UnsupportedMediaType(
            raw, detail=f"Content-Encoding {raw!r} is not supported: send gzip, or no encoding."
        )
    return decoder


class CloudEventParser(LimitedJSONParser):
    """A CloudEvent in structured mode: the attributes and `data` in one JSON object."""

    media_type = "application/cloudevents+json"


class CloudEventBatchParser(LimitedJSONParser):
    """CloudEvents in batched mode: a JSON array of structured events."""

    media_type = "application/cloudevents-batch+json"
