"""Active users with a realistic reorder window: the scenario of both memory benchmarks
(benchmarks/memory.py on the memory store, benchmarks/stores.py on Redis).

Each user went through a whole cycle a few hours earlier (a launch, a start five
minutes later, a finish 40 minutes after the start: congratulated), then sends the
event they are active with: half of them a launch (a pending reminder), half a start
(an open session). An hour later the users who started finish. All of it stays in
the user's window (events.domain.timeline: 6 hours, 64 events), so each active user holds
four events in it. Every event is a v2 event with a random id (uuid4), parsed from
its JSON as the API parses a body (so that no two events share a string), and ingested
with its receive time; the events of a step arrive together, one step after the other.
"""

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson

from events.service.ingestion import ingest_many
from eventsproject import bootstrap

#: How long before the opening event the earlier cycle began.
EARLIER = timedelta(hours=3)
#: The earlier cycle: each event's type and how long after the cycle's launch it came.
CYCLE = (
    ("app_launched", timedelta(0)),
    ("training_program_started", timedelta(minutes=5)),
    ("training_program_finished", timedelta(minutes=45)),
)
#: Events in an active user's window: the earlier cycle's and the opening one.
WINDOW_EVENTS = len(CYCLE) + 1
#: When the users who started finish, after their opening event.
CLOSING = timedelta(hours=1)
PROGRAM = {"id": "2352", "title": "7 Minutes of HIIT Training"}
#: Events ingested together, as the batch API and `replay_events` take them.
CHUNK = 500


class Step(NamedTuple):
    """Events received together, at `received_at`."""

    received_at: datetime
    events: list[dict[str, Any]]


def opening(users: int, day: datetime) -> Iterator[Step]:
    """The steps that make `users` users active at `day`: the earlier cycle, then the
    opening event (a launch for odd users, a start for even ones). Built one at a time:
    a step's events take more memory than the state they leave."""
    cycle_start = day - EARLIER
    for kind, offset in CYCLE:
        when = cycle_start + offset
        yield Step(when, [event(n, kind, when) for n in range(users)])
    yield Step(day, [event(n, _opening_kind(n), day) for n in range(users)])


def closing(users: int, day: datetime) -> Step:
    """The users who started at `day` finish, `CLOSING` later (and are congratulated)."""
    later = day + CLOSING
    return Step(later, [event(n, "training_program_finished", later) for n in range(0, users, 2)])


def ingest(step: Step) -> None:
    """A step's events, received at its time, `CHUNK` at a time."""
    for start in range(0, len(step.events), CHUNK):
        ingest_many(
            bootstrap.components().processor,
            step.events[start : start + CHUNK],
            received_at=step.received_at,
        )


def user_id(n: int) -> str:
    return f"user-{n:08d}"


def event(n: int, kind: str, when: datetime) -> dict[str, Any]:
    """User `n`'s v2 event of type `kind` at `when` (a microsecond apart from user to user),
    as parsed from its JSON."""
    wire: dict[str, Any] = {
        "schema_version": 2,
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "occurred_at": (when + timedelta(microseconds=n)).isoformat(),
        "user_id": user_id(n),
        "device_id": f"device-{n:08d}",
    }
    if kind.startswith("training_program"):
        wire["training_program"] = PROGRAM
    parsed: dict[str, Any] = orjson.loads(orjson.dumps(wire))
    return parsed


def _opening_kind(n: int) -> str:
    return "app_launched" if n % 2 else "training_program_started"
