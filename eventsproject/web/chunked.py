"""Request bodies, read as what they are.

A request with `Transfer-Encoding: chunked` has no Content-Length, and Django
reads such a body as empty (a valid event would be answered "user_id
required"). gunicorn undoes the chunking in `wsgi.input`; this WSGI middleware
reads that body, at most the largest body any endpoint takes, and hands Django a
request with its length. A longer one is answered 413 without reading the rest.
A POST, PUT or PATCH with neither a length nor chunks is answered 411: its body,
if the client meant to send one, could not be told from nothing.
"""

import io
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

#: What is answered without Django, each with its status and detail.
TOO_LARGE = ("413 Request Entity Too Large", b'{"detail":"The request body is too large."}')


class BodyNotReceived(APIException):
    """The client stopped sending its body (eventsproject/platform/workers.py bounds the
    silence)."""

    status_code = status.HTTP_408_REQUEST_TIMEOUT
    default_detail = "The request body stopped arriving before its end."
    default_code = "body_not_received"


NOT_RECEIVED = ("408 Request Timeout", orjson.dumps({"detail": BodyNotReceived.default_detail}))
LENGTH_REQUIRED = (
    "411 Length Required",
    b'{"detail":"Send the body with Content-Length or Transfer-Encoding: chunked."}',
)
#: Methods whose requests carry a body here.
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def with_whole_bodies(app: WSGIApp) -> WSGIApp:
    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            if environ.get("REQUEST_METHOD") in WITH_BODY and not environ.get("CONTENT_LENGTH"):
                return _refuse(start_response, *LENGTH_REQUIRED)
            return app(environ, start_response)
        limit = max(settings.EVENTS_MAX_BODY_BYTES, settings.EVENTS_BATCH_MAX_BODY_BYTES)
        try:
            body = environ["wsgi.input"].read(limit + 1)
        except OSError:  # the client fell silent (eventsproject/platform/workers.py)
            return _refuse(start_response, *NOT_RECEIVED)
        if len(body) > limit:
            return _refuse(start_response, *TOO_LARGE)
        environ.update(
            {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))},
        )
        del environ["HTTP_TRANSFER_ENCODING"]
        return app(environ, start_response)

    return application


def _refuse(start_response: StartResponse, status: str, detail: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json")])
    return [detail]
