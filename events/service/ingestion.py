"""From wire data to a recorded event: parse with the serializers, record with the service.

The single-event API, the batch API and `replay_events` all ingest through
`ingest`, so an event is treated the same whichever way it arrived. The APIs
stamp each event with the server's receive time; a replay has no wall clock.
"""

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rest_framework import status
from rest_framework.exceptions import ValidationError

from events.domain.events import Event
from events.domain.frozen import quick_init
from events.service.processing import EventProcessor, NewUserAdmission, Outcome, RecordResult
from events.wire.formats import IncomingEventSerializer, detect_format
from events.wire.representations import event_representation
from events.wire.serializers import EventFormat

REJECTED = "rejected"

#: The HTTP status of each outcome, for a single event or one entry of a batch.
STATUS_CODES = {
    Outcome.ACCEPTED: status.HTTP_202_ACCEPTED,
    Outcome.IGNORED: status.HTTP_202_ACCEPTED,
    Outcome.DUPLICATE: status.HTTP_200_OK,
    Outcome.CONFLICT: status.HTTP_409_CONFLICT,
    REJECTED: status.HTTP_400_BAD_REQUEST,
}


#: Parsing and representing keep no per-call state: one instance of each serves every
#: event (a new serializer deep-copies its fields, which costs more than the parsing).
_INCOMING = {
    event_format: IncomingEventSerializer(event_format=event_format)
    for event_format in [None, *EventFormat]
}


@quick_init
@dataclass(frozen=True, slots=True)
class Ingested:
    """What became of one incoming event: a record result, or the reasons it was rejected."""

    result: RecordResult | None = None
    event_format: EventFormat | None = None
    errors: Any = None

    @property
    def status(self) -> str:
        return self.result.outcome.value if self.result else REJECTED

    @property
    def refused(self) -> bool:
        """Rejected as invalid, or refused as a conflict."""
        return self.result is None or self.result.outcome is Outcome.CONFLICT

    @property
    def status_code(self) -> int:
        return STATUS_CODES[self.result.outcome if self.result else REJECTED]

    def as_body(self) -> dict[str, Any]:
        if self.result is None:
            return {"status": REJECTED, "errors": self.errors}
        body: dict[str, Any] = {
            "status": self.status,
            "format": self.event_format,
            "event": event_representation(self.result.event),
        }
        if self.result.reason:
            body["reason"] = self.result.reason
        return body


def parse(data: Any, event_format: EventFormat | None = None) -> Event:
    """The domain event of one incoming event, or `ValidationError` with DRF's errors.
    Without `event_format`, the event is in one of the app's own formats."""
    event: Event = _INCOMING[event_format].run_validation(data)
    return event


def ingest(
    processor: EventProcessor,
    data: Any,
    *,
    received_at: datetime | None = None,
    event_format: EventFormat | None = None,
    new_user: NewUserAdmission | None = None,
) -> Ingested:
    """Parse one event and record it with `processor`; `received_at` is the server's clock
    (none in a replay),
    `new_user` the client's allowance of new users (none in a replay)."""
    event = _parsed(data, received_at, event_format)
    if not isinstance(event, Event):
        return Ingested(errors=event)
    result = processor.record(event, new_user)
    return Ingested(result, event_format or detect_format(data))


def ingest_many(
    processor: EventProcessor,
    items: list[Any],
    *,
    received_at: datetime | None = None,
    event_format: EventFormat | None = None,
    new_user: NewUserAdmission | None = None,
) -> list[Ingested]:
    """`ingest` each item, in order: all are parsed first, then the events are recorded
    together (still one unit of work each, which the store reads and saves together)."""
    parsed = [_parsed(data, received_at, event_format) for data in items]
    events = [p for p in parsed if isinstance(p, Event)]
    recorded = iter(processor.record_many(events, new_user))
    return [
        Ingested(next(recorded), event_format or detect_format(data))
        if isinstance(event, Event)
        else Ingested(errors=event)
        for data, event in zip(items, parsed, strict=True)
    ]


def ingest_batch(
    processor: EventProcessor,
    events: list[Any],
    *,
    sent_at: str | None = None,
    received_at: datetime | None = None,
    event_format: EventFormat | None = None,
    new_user: NewUserAdmission | None = None,
) -> list[Ingested]:
    """A batch's events; the batch's `sent_at` stands in for the events that have none."""
    key = SENT_AT_KEYS.get(event_format, "sent_at")
    items = [_with_sent_at(data, key, sent_at) for data in events]
    return ingest_many(
        processor, items, received_at=received_at, event_format=event_format, new_user=new_user
    )


def _parsed(data: Any, received_at: datetime | None, event_format: EventFormat | None) -> Any:
    """The event, stamped with `received_at` if any; or DRF's errors, where it is invalid."""
    try:
        event = parse(data, event_format)
    except ValidationError as exc:
        return exc.detail
    return event if received_at is None else replace(event, received_at=received_at)


#: The name of `sent_at` in formats that call it something else.
SENT_AT_KEYS: dict[EventFormat | None, str] = {EventFormat.SEGMENT: "sentAt"}


def _with_sent_at(data: Any, key: str, sent_at: str | None) -> Any:
    if sent_at is None or not isinstance(data, Mapping) or key in data:
        return data
    return {**data, key: sent_at}


@contextmanager
def replaying() -> Iterator[None]:
    """Around a replay: CPython's cycle collector paused, then as it was.

    A replay keeps what it builds (each user's state and window, the decision log) and
    makes no reference cycles (none in a replay of valid, invalid and repeated events), so
    the collector, which scans what survived each time it runs, frees nothing there and
    takes a tenth of a replay's time. Reference counting frees what is dropped, as ever.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
