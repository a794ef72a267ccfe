"""A JSON parser with a body-size limit, so oversized bodies are refused before parsing.

It reads at most the bytes that the view's `max_body_setting` names (+1 to notice
more) and parses with orjson: strict JSON (no NaN), bounded in nesting depth, fast.
orjson keeps the last of duplicate keys; a body with any is refused instead, since
which one the sender meant cannot be told (`_check_no_duplicate_keys`).
A `Content-Encoding: gzip` body is inflated with the same limit on what comes out,
so a small bomb is a `413` after a limit's worth of work, not a full memory; it may
be several gzip members, as RFC 1952 allows, and nothing else may follow them.
"""

import re
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

from eventsproject.web.chunked import BodyNotReceived


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
        context = parser_context or {}
        limit: int = getattr(
            settings, getattr(context.get("view"), "max_body_setting", "EVENTS_MAX_BODY_BYTES")
        )
        body = _decoder(context.get("request"))(stream, limit)
        if len(body) > limit:
            raise PayloadTooLarge({"max_bytes": limit})
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        _check_no_duplicate_keys(body, parsed)
        return parsed


def _check_no_duplicate_keys(body: bytes, parsed: Any) -> None:
    """Raise `ParseError` if an object of `body` repeats a key.

    Fast and exact for the bodies clients send: each key in JSON is followed by one colon,
    and a string's colons are written as they are unless escaped (`\\u003a`), so `body` and
    orjson's writing of `parsed` hold as many colons unless `parsed` lost a repeated key
    (with its colon). Other bodies, and those that differ, are scanned key by key (in
    Python: many times slower), which also names the key.
    """
    if _same_colons(body, parsed):
        return
    key = _repeated_key(body)
    if key is not None:
        raise ParseError(f"JSON parse error - duplicate key {key!r} in an object.", code=DUPLICATE)


DUPLICATE = "duplicate_key"
#: `\u003a` is a colon; the other escapes starting alike are too rare to tell apart.
_ESCAPED_COLON = b"\\u003"


def _same_colons(body: bytes, parsed: Any) -> bool:
    try:
        written = orjson.dumps(parsed)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (254)
        return False
    return written.count(b":") == body.count(b":") and _ESCAPED_COLON not in body


#: A string, with the colon after it when it is a key, or a brace: valid JSON has no quote
#: outside its strings, so a scan from the start meets every string whole, in order.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*+"\s*+(:?)|[{}]')


def _repeated_key(body: bytes) -> str | None:
    """The first key an object of valid JSON `body` repeats, or None: a scan that keeps the
    keys of each object still open (iterative, for nesting as deep as orjson reads)."""
    open_objects: list[set[str]] = []
    for token in _TOKEN.finditer(body):
        if token[0] == b"{":
            open_objects.append(set())
        elif token[0] == b"}":
            open_objects.pop()
        elif token[1]:
            key: str = orjson.loads(token[0][: token[0].rindex(b'"') + 1])
            if key in open_objects[-1]:
                return key
            open_objects[-1].add(key)
    return None


def _read(stream: IO[Any], limit: int) -> bytes:
    try:
        return bytes(stream.read(limit + 1))
    except UnreadablePostError as exc:
        raise BodyNotReceived() from exc


GZIP_MAGIC = b"\x1f\x8b"


def _gunzip(stream: IO[Any], limit: int) -> bytes:
    """At most `limit` + 1 bytes out of at most `limit` compressed ones, in one gzip member
    or several; anything else after the last one is refused."""
    compressed = _read(stream, limit)
    if len(compressed) > limit:
        raise PayloadTooLarge({"max_bytes": limit})
    body, rest = _inflate_member(compressed, limit + 1)
    while rest and len(body) <= limit:
        if not rest.startswith(GZIP_MAGIC):
            raise ParseError(f"The gzip body has {len(rest)} bytes after its end.")
        member, rest = _inflate_member(rest, limit + 1 - len(body))
        body += member
    return body


def _inflate_member(compressed: bytes, max_length: int) -> tuple[bytes, bytes]:
    """The first gzip member of `compressed`, up to `max_length` bytes of it, and what
    follows the member."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        member = inflater.decompress(compressed, max_length)
    except zlib.error as exc:
        raise ParseError(f"The gzip body could not be read: {exc}.") from exc
    if len(member) < max_length and not inflater.eof:
        raise ParseError("The gzip body is cut short.")
    return member, inflater.unused_data


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
