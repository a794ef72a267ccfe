"""A deterministic generator of realistic event streams, in both wire formats.

Users launch the app, usually start a program a few minutes later (sometimes
too late, sometimes never), then finish or cancel it; a few events are of
types the service does not know. Each user's next event is scheduled on a
heap, so the merged stream is in timestamp order. The same seed gives the
same stream, byte for byte. `late_arrivals` makes some of a stream's events
arrive late, as phones that were offline send them.
"""

import heapq
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from events.domain.events import EVENT_TYPES

START = datetime(2021, 3, 1, tzinfo=UTC)
UNKNOWN_TYPES = ("profile_viewed", "settings_opened", "app_backgrounded")
BRIEF_NAMES = {"app_launched": "app_launch"}
BRIEF_TIME = "%Y-%m-%d %H:%M:%S"  # the brief format's `time_stamp`, UTC


@dataclass
class _User:
    user_id: str
    device_id: str
    step: str = "launch"
    program: str = ""


def events(count: int, users: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """`count` wire events of `users` users, in timestamp order, half in each format."""
    rng = random.Random(seed)
    people = [_User(f"user{n}", f"device{n}") for n in range(users)]
    due = [(START + timedelta(seconds=rng.uniform(0, 3600)), n) for n in range(users)]
    heapq.heapify(due)
    for _ in range(count):
        when, number = heapq.heappop(due)
        user = people[number]
        kind, wait = _next_step(user, rng)
        yield _wire(rng, user, kind, when)
        heapq.heappush(due, (when + timedelta(seconds=wait), number))


def _next_step(user: _User, rng: random.Random) -> tuple[str, float]:
    """The kind of the user's event now, and the seconds until their next one."""
    if rng.random() < 0.03:
        return rng.choice(UNKNOWN_TYPES), rng.uniform(1, 120)
    if user.step == "launch":
        user.step = "start" if rng.random() < 0.85 else "launch"
        return "app_launched", rng.uniform(30, 900)  # sometimes past the 10 minutes
    if user.step == "start":
        user.step, user.program = "end", f"p{rng.randint(1, 50)}"
        return "training_program_started", rng.uniform(300, 3600)
    user.step = "launch"
    ending = "training_program_finished" if rng.random() < 0.8 else "training_program_cancelled"
    return ending, rng.uniform(600, 7200)


def _wire(rng: random.Random, user: _User, kind: str, when: datetime) -> dict[str, Any]:
    program = user.program if kind.startswith("training_program") else None
    if rng.random() < 0.5:
        return _brief(user, kind, when, program)
    return _v2(rng, user, kind, when, program)


def _brief(user: _User, kind: str, when: datetime, program: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "user_id": user.user_id,
        "device_id": user.device_id,
        "type": BRIEF_NAMES.get(kind, kind),
        "time_stamp": when.strftime(BRIEF_TIME),
    }
    if program:
        event["training_program_id"] = program
        event["training_program_title"] = f"Program {program}"
    return event


def _v2(
    rng: random.Random, user: _User, kind: str, when: datetime, program: str | None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "schema_version": 2,
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": kind,
        "occurred_at": when.isoformat(timespec="seconds"),
        "user_id": user.user_id,
        "device_id": user.device_id,
    }
    if program:
        event["training_program"] = {"id": program, "title": f"Program {program}"}
    return event


def segment(event: dict[str, Any]) -> dict[str, Any]:
    """The same event as a Segment `track` message, as Segment's and RudderStack's SDKs send
    it (docs/events.md, "Segment"): the caller's `timestamp`, the type's Segment name."""
    kind = SEGMENT_NAMES.get(event["type"]) or event["type"].replace("_", " ").title()
    message: dict[str, Any] = {
        "type": "track",
        "event": kind,
        "userId": event["user_id"],
        "context": {"device": {"id": event["device_id"]}},
        "timestamp": happened(event).isoformat().replace("+00:00", "Z"),
    }
    if "event_id" in event:
        message["messageId"] = event["event_id"]
    program = event.get("training_program") or {}
    if program or "training_program_id" in event:
        message["properties"] = {
            "training_program_id": program.get("id") or event["training_program_id"],
            "training_program_title": program.get("title") or event["training_program_title"],
        }
    return message


#: Each declared type's Segment name, under its name in both of the app's own formats.
SEGMENT_NAMES = {
    name: declaration.segment_name
    for declaration in EVENT_TYPES
    for name in (declaration.name, declaration.legacy_name)
}


class Arrival(NamedTuple):
    at: datetime  # when the event reaches the server
    event: dict[str, Any]


def late_arrivals(
    stream: list[dict[str, Any]], share: float = 1 / 3, most: float = 1200, seed: int = 24
) -> list[Arrival]:
    """`stream`'s events in the order they reach the server when `share` of them, picked at
    random, arrive late by up to `most` seconds (uniformly) and the others as they happen;
    events that arrive together keep their order. The same seed gives the same order."""
    rng = random.Random(seed)
    delays = [0.0] * len(stream)
    for late in rng.sample(range(len(stream)), round(len(stream) * share)):
        delays[late] = rng.uniform(0, most)
    arrivals = [
        Arrival(happened(event) + timedelta(seconds=delay), event)
        for event, delay in zip(stream, delays, strict=True)
    ]
    return sorted(arrivals, key=lambda arrival: arrival.at)


def happened(event: dict[str, Any]) -> datetime:
    """When a wire event of either format happened."""
    if "occurred_at" in event:
        return datetime.fromisoformat(event["occurred_at"])
    return datetime.strptime(event["time_stamp"], BRIEF_TIME).replace(tzinfo=UTC)
