"""Refusals of what clients send: counted and logged, so that none goes without a trace.

Every event refused inside a batch (rejected as invalid, or a conflict) and every `4xx`
of an ingestion endpoint is counted in `events_rejected_total{endpoint,reason}` and
logged at INFO: one line per request, carrying the request's id (eventsproject/platform/logs.py).
`endpoint` is the route (`v1/events`); `reason` comes from the error's code through
`CODE_REASONS`, never from its text, so the labels stay a bounded set (`REASONS`). A line
holds the errors' codes under each field, never their messages (DRF's may quote the
input) nor anything of the event but its id.
"""

import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rest_framework.exceptions import APIException
from rest_framework.request import Request

from events.service import metrics
from events.service.ingestion import Ingested

logger = logging.getLogger(__name__)

#: The reason an error's code stands for; any other code is `INVALID`.
CODE_REASONS = {
    # the body as a whole
    "parse_error": "malformed_body",
    "duplicate_key": "duplicate_key",
    "payload_too_large": "too_large",
    "unsupported_media_type": "unsupported_media_type",
    "body_not_received": "body_not_received",
    # who sends, and how
    "not_authenticated": "unauthenticated",
    "authentication_failed": "unauthenticated",
    "permission_denied": "forbidden",
    "throttled": "throttled",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    # an event's fields
    "required": "missing_field",
    "null": "missing_field",
    "no_user": "missing_field",
    "no_device": "missing_field",
    "no_time": "missing_field",
    "too_early": "bad_time",
    "in_the_future": "bad_time",
    "no_offset": "bad_time",
    "sent_before_occurred": "bad_time",
    "waited_too_long": "bad_time",
}
INVALID = "invalid"
CONFLICT = "conflict"
#: Every reason counted.
REASONS = frozenset({*CODE_REASONS.values(), INVALID, CONFLICT})
#: Where a refused event may carry its id, by format (v2, Segment, CloudEvents).
ID_FIELDS = ("event_id", "messageId", "id")
#: The most refused events one line lists; all are counted.
MAX_LISTED = 20


def request_refused(request: Request, exc: Exception, status: int) -> None:
    """Count and log a request answered with a `4xx`, for `exc`."""
    codes = _codes_of_exception(exc)
    reason = reason_of(codes)
    endpoint = endpoint_of(request)
    metrics.count_rejections(endpoint, {reason: 1})
    logger.info(
        "%s %s refused: %s %s %s",
        request.method,
        endpoint,
        status,
        reason,
        codes,
        extra={"endpoint": endpoint, "status": status, "reason": reason, "errors": codes},
    )


def events_refused(
    request: Request, ingested: Sequence[Ingested], items: Sequence[Any], status: int
) -> None:
    """Count and log the events of one request that were refused, if any."""
    refused = [
        _refusal(index, each, items[index]) for index, each in enumerate(ingested) if each.refused
    ]
    if not refused:
        return
    endpoint = endpoint_of(request)
    metrics.count_rejections(endpoint, Counter(refusal["reason"] for refusal in refused))
    listed = refused[:MAX_LISTED]
    logger.info(
        "%s %s: %d of %d events refused: %s",
        request.method,
        endpoint,
        len(refused),
        len(ingested),
        listed,
        extra={"endpoint": endpoint, "status": status, "refused": listed},
    )


def reason_of(codes: Any) -> str:
    """The reason of the first code in DRF's codes (a code, or lists and dicts of them)."""
    first = next(_leaves(codes), None)
    return CODE_REASONS.get(first, INVALID) if isinstance(first, str) else INVALID


def endpoint_of(request: Request) -> str:
    match = request.resolver_match
    return match.route if match else "unmatched"


def _refusal(index: int, ingested: Ingested, item: Any) -> dict[str, Any]:
    if ingested.result is not None:  # recorded, and refused: a conflict
        event_id: str | None = ingested.result.event.event_id
        return {"index": index, "event_id": event_id, "reason": CONFLICT, "errors": None}
    codes = _codes_of(ingested.errors)
    return {"index": index, "event_id": _id_of(item), "reason": reason_of(codes), "errors": codes}


def _codes_of_exception(exc: Exception) -> Any:
    """The codes of DRF's exception, or its own code where its detail has none (a 413)."""
    if not isinstance(exc, APIException):
        return None
    codes = _codes_of(exc.detail)
    return codes if next(_leaves(codes), None) is not None else exc.default_code


def _codes_of(errors: Any) -> Any:
    """DRF's errors with each message replaced by its code, as `get_codes()` does."""
    if isinstance(errors, Mapping):
        return {key: _codes_of(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [_codes_of(value) for value in errors]
    return getattr(errors, "code", None)


def _leaves(codes: Any) -> Iterator[Any]:
    if isinstance(codes, Mapping):
        codes = list(codes.values())
    if not isinstance(codes, list):
        yield codes
        return
    for value in codes:
        yield from _leaves(value)


def _id_of(item: Any) -> str | None:
    """The id a refused event was sent with, if it is a short printable string."""
    if not isinstance(item, Mapping):
        return None
    for name in ID_FIELDS:
        value = item.get(name)
        if isinstance(value, str) and len(value) <= 128 and value.isprintable():
            return value
    return None
