"""What the notify service is told, and why.

Plain Python, so the events app's rules can build notifications without Django.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class NotificationKind(StrEnum):
    TRAINING_DOSE_CONGRATULATION = "training_dose_congratulation"
    START_TRAINING_REMINDER = "start_training_reminder"


@dataclass(frozen=True, slots=True)
class TriggerEvent:
    event_id: str
    event_type: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a notification was sent: the rule, its events and the figures it compared."""

    rule: str
    events: tuple[TriggerEvent, ...]
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cause:
    """The decision behind a notification, so that the receiver can trace it too."""

    outcome: str
    event_ids: tuple[str, ...]  # the events that led to it, the one that triggered it last
    trigger: str | None = None  # reminders: own_event, wall_clock or end_of_replay


@dataclass(frozen=True, slots=True)
class Notification:
    notification_id: str
    kind: NotificationKind
    user_id: str
    device_id: str
    message: str
    triggered_at: datetime
    reason: Reason
    minutes: int | None = None
    decision: Cause | None = None
    #: The version of the rules that decided it (README, "The rules file").
    rules_version: str | None = None
    #: Deferred by the user's quiet hours: delivered no sooner than this.
    deliver_after: datetime | None = None

    @property
    def log_fields(self) -> dict[str, Any]:
        """What a log line about it carries, to find it and its events in structured logs."""
        return {
            "notification_id": self.notification_id,
            "kind": self.kind.value,
            "user_id": self.user_id,
            "event_ids": [event.event_id for event in self.reason.events],
        }

    def as_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "notification_id": self.notification_id,
            "kind": self.kind.value,
            "user_id": self.user_id,
            "device_id": self.device_id,
            "message": self.message,
            "triggered_at": self.triggered_at.isoformat(),
            "reason": {
                "rule": self.reason.rule,
                "events": [_trigger_payload(event) for event in self.reason.events],
                "figures": self.reason.figures,
            },
        }
        if self.minutes is not None:
            payload["minutes"] = self.minutes
        if self.decision is not None:
            payload["decision"] = _cause_payload(self.decision)
        if self.rules_version is not None:
            payload["rules_version"] = self.rules_version
        if self.deliver_after is not None:
            payload["deliver_after"] = self.deliver_after.isoformat()
        return payload


def notification_from_payload(payload: dict[str, Any]) -> Notification:
    """The notification `as_payload` describes."""
    reason, cause = payload["reason"], payload.get("decision")
    return Notification(
        notification_id=payload["notification_id"],
        kind=NotificationKind(payload["kind"]),
        user_id=payload["user_id"],
        device_id=payload["device_id"],
        message=payload["message"],
        triggered_at=datetime.fromisoformat(payload["triggered_at"]),
        reason=Reason(
            rule=reason["rule"],
            events=tuple(
                TriggerEvent(
                    event["event_id"], event["type"], datetime.fromisoformat(event["occurred_at"])
                )
                for event in reason["events"]
            ),
            figures=reason["figures"],
        ),
        minutes=payload.get("minutes"),
        decision=None
        if cause is None
        else Cause(cause["outcome"], tuple(cause["event_ids"]), cause.get("trigger")),
        rules_version=payload.get("rules_version"),
        deliver_after=_optional_time(payload.get("deliver_after")),
    )


def _optional_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _cause_payload(cause: Cause) -> dict[str, Any]:
    payload: dict[str, Any] = {"outcome": cause.outcome, "event_ids": list(cause.event_ids)}
    if cause.trigger is not None:
        payload["trigger"] = cause.trigger
    return payload


def _trigger_payload(event: TriggerEvent) -> dict[str, str]:
    return {
        "event_id": event.event_id,
        "type": event.event_type,
        "occurred_at": event.occurred_at.isoformat(),
    }


def utc_now() -> datetime:
    return datetime.now(UTC)
