"""The domain in JSON, for stores that keep it outside the process (events.adapters.redis).

Compact keys, because every byte is paid for per user in Redis memory; the
decoder takes what the encoder writes, and nothing else.
"""

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar, cast

import orjson

from events.domain.decisions import (
    NO_CONTACT,
    NO_WINDOW,
    NO_ZONE,
    Contact,
    DecisionRecord,
    Reminder,
    Trigger,
    UserState,
    Verdict,
    Window,
    Zone,
)
from events.domain.events import (
    EVENT_TYPES,
    AppLaunched,
    Event,
    TrainingProgramEvent,
    TrainingProgramStarted,
    UnknownEvent,
)

_T = TypeVar("_T")
_R = TypeVar("_R")


def event_to_dict(event: Event) -> dict[str, Any]:
    encoded: dict[str, Any] = {
        "t": event.event_type,
        "i": event.event_id,
        "u": event.user_id,
        "d": event.device_id,
        "o": event.occurred_at,
    }
    if event.sent_at is not None:
        encoded["s"] = event.sent_at
    if event.received_at is not None:
        encoded["r"] = event.received_at
    if isinstance(event, TrainingProgramEvent):
        encoded["p"] = event.training_program_id
        if event.training_program_title is not None:
            encoded["pt"] = event.training_program_title
    if isinstance(event, UnknownEvent):
        encoded["x"] = event.raw_type
    _zone_to_dict(event, encoded)
    return encoded


def _zone_to_dict(event: Event, encoded: dict[str, Any]) -> None:
    """The user's zone as the event states it, when it does: the name, the offset in seconds."""
    if event.timezone is not None:
        encoded["tz"] = event.timezone
    if event.utc_offset is not None:
        encoded["uo"] = event.utc_offset // _SECOND


def event_from_dict(encoded: dict[str, Any]) -> Event:
    fields: dict[str, Any] = {
        "event_id": encoded["i"],
        "user_id": encoded["u"],
        "device_id": encoded["d"],
        "occurred_at": _time(encoded["o"]),
        "sent_at": _time(encoded.get("s")),
        "received_at": _time(encoded.get("r")),
        "timezone": encoded.get("tz"),
        "utc_offset": _optional(_seconds, encoded.get("uo")),
    }
    if "p" in encoded:
        fields["training_program_id"] = encoded["p"]
        fields["training_program_title"] = encoded.get("pt")
    if "x" in encoded:
        fields["raw_type"] = encoded["x"]
    return EVENT_TYPES.class_named(encoded["t"])(**fields)


def reminder_to_dict(reminder: Reminder) -> dict[str, Any]:
    encoded = {"l": event_to_dict(reminder.launch), "dl": reminder.deadline, "du": reminder.due_at}
    if reminder.merged:
        encoded["mg"] = reminder.merged
    return encoded


def reminder_from_dict(encoded: dict[str, Any]) -> Reminder:
    launch = cast(AppLaunched, event_from_dict(encoded["l"]))
    deadline = datetime.fromisoformat(encoded["dl"])
    return Reminder(launch, deadline, _time(encoded.get("du")), tuple(encoded.get("mg", ())))


def encode_state(state: UserState) -> bytes:
    encoded: dict[str, Any] = {
        "o": _sessions_to_list(state.open_sessions),
        "p": _optional(reminder_to_dict, state.pending_reminder),
        "ls": _optional(reminder_to_dict, state.last_sent_reminder),
    }
    window = state.window
    if window:
        encoded["w"] = [event_to_dict(event) for event in window.events]
        encoded["ws"] = window.sent
        encoded["wo"] = _sessions_to_list(window.sessions_before)
        if window.zone_before is not NO_ZONE:
            encoded["wz"] = _zone_to_list(window.zone_before)
    contact = state.contact
    if contact.zone is not NO_ZONE:
        encoded["z"] = _zone_to_list(contact.zone)
    if contact.recent:
        encoded["rc"] = contact.recent
    return orjson.dumps(encoded)


def decode_state(raw: bytes) -> UserState:
    encoded = orjson.loads(raw)
    window = NO_WINDOW
    if "w" in encoded:
        window = Window(
            tuple(event_from_dict(event) for event in encoded["w"]),
            tuple((sent_for, first) for sent_for, first in encoded["ws"]),
            _sessions_from_list(encoded["wo"]),
            _zone_from_list(encoded.get("wz")),
        )
    return UserState(
        open_sessions=_sessions_from_list(encoded["o"]),
        pending_reminder=_optional(reminder_from_dict, encoded["p"]),
        last_sent_reminder=_optional(reminder_from_dict, encoded["ls"]),
        window=window,
        contact=_contact_of(encoded),
    )


def _contact_of(encoded: dict[str, Any]) -> Contact:
    if "z" not in encoded and "rc" not in encoded:
        return NO_CONTACT
    recent = tuple((rule, datetime.fromisoformat(at)) for rule, at in encoded.get("rc", ()))
    return Contact(_zone_from_list(encoded.get("z")), recent)


def _zone_to_list(zone: Zone) -> list[Any]:
    return [zone.name, None if zone.offset is None else zone.offset.total_seconds()]


def _zone_from_list(encoded: list[Any] | None) -> Zone:
    if encoded is None:
        return NO_ZONE
    name, offset = encoded
    return Zone(name, None if offset is None else timedelta(seconds=offset))


def _sessions_to_list(sessions: Mapping[str, TrainingProgramStarted]) -> list[dict[str, Any]]:
    return [event_to_dict(started) for started in sessions.values()]


def _sessions_from_list(
    encoded: list[dict[str, Any]],
) -> Mapping[str, TrainingProgramStarted]:
    sessions = [cast(TrainingProgramStarted, event_from_dict(item)) for item in encoded]
    return MappingProxyType({start.training_program_id: start for start in sessions})


def encode_record(record: DecisionRecord) -> bytes:
    return orjson.dumps(
        {
            "v": record.outcome.value,
            "r": record.rule,
            "e": [event_to_dict(event) for event in record.events],
            "a": event_to_dict(record.about),
            "t": record.trigger,
            "m": _optional(reminder_to_dict, record.reminder),
            "at": record.decided_at,
            "n": record.notification_id,
            "f": dict(record.figures),
            "rv": record.rules_version,
            "da": record.deliver_after,
        }
    )


def decode_record(raw: bytes) -> DecisionRecord:
    encoded = orjson.loads(raw)
    return DecisionRecord(
        outcome=Verdict(encoded["v"]),
        rule=encoded["r"],
        events=tuple(event_from_dict(event) for event in encoded["e"]),
        about=event_from_dict(encoded["a"]),
        trigger=_optional(Trigger, encoded["t"]),
        reminder=_optional(reminder_from_dict, encoded["m"]),
        decided_at=_time(encoded["at"]),
        notification_id=encoded["n"],
        figures=encoded["f"],
        rules_version=encoded.get("rv", ""),  # none in a record written before versions
        deliver_after=_time(encoded.get("da")),
    )


def encode_event(event: Event) -> bytes:
    return orjson.dumps(event_to_dict(event))


def decode_event(raw: bytes) -> Event:
    return event_from_dict(orjson.loads(raw))


def _optional(convert: Callable[[_T], _R], value: _T | None) -> _R | None:
    return None if value is None else convert(value)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


_SECOND = timedelta(seconds=1)


def _seconds(value: int) -> timedelta:
    return value * _SECOND
