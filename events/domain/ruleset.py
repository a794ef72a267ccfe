"""The rules a product team owns: which rules run, their figures and their messages.

A `RuleSet` is data: read from the rules file (`EVENTS_RULES_FILE`, TOML:
events/wire/rules_file.py) over the built-in rules, which are the brief's. The
rules read their figures from the `Thresholds` the rule set gives; the
notifications take their messages from it. Its `version` is free text the file
states, shown by `GET /v1/rules` and `/v1/health`.
"""

from dataclasses import dataclass, field
from datetime import time, timedelta
from enum import StrEnum
from typing import Any

BUILT_IN = "built-in"
REMINDER_MESSAGE = "Your training is waiting: start a program now and get today's dose in!"
#: `{minutes}` is replaced by the minutes trained.
CONGRATULATION_MESSAGE = (
    "Great job! You trained for {minutes} minutes: today's training dose is done."
)


#: The rules' names: the rules file's sections, the notifications' kinds.
REMINDER = "start_training_reminder"
CONGRATULATION = "training_dose_congratulation"
DEFAULT_ZONE = "UTC"


@dataclass(frozen=True, slots=True)
class Cap:
    """At most `max` notifications of a rule to a user whose trigger times lie within `per`."""

    max: int
    per: timedelta


class QuietAction(StrEnum):
    SKIP = "skip"  # not sent: outcome `quiet_hours`
    DEFER = "defer"  # sent when the user's local clock next reaches the end


@dataclass(frozen=True, slots=True)
class QuietHours:
    """[start, end) of the user's local time, wrapping midnight when start > end."""

    start: time
    end: time
    action: QuietAction = QuietAction.SKIP

    def covers(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def as_data(self) -> dict[str, str]:
        return {"from": _clock(self.start), "to": _clock(self.end), "action": self.action.value}


@dataclass(frozen=True, slots=True)
class Controls:
    """When a rule's notifications may go: its cap and its quiet hours, if any."""

    cap: Cap | None = None
    quiet_hours: QuietHours | None = None

    def __bool__(self) -> bool:
        return self.cap is not None or self.quiet_hours is not None

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.cap is not None:
            data["cap"] = {"max": self.cap.max, "per_hours": self.cap.per // timedelta(hours=1)}
        if self.quiet_hours is not None:
            data["quiet_hours"] = self.quiet_hours.as_data()
        return data


NO_CONTROLS = Controls()


@dataclass(frozen=True, slots=True)
class ReminderRule:
    """`start_training_reminder`: nudge a user who launched the app and started nothing."""

    enabled: bool = True
    delay: timedelta = timedelta(minutes=10)
    allowed_lateness: timedelta = timedelta(seconds=30)
    message: str = REMINDER_MESSAGE
    controls: Controls = NO_CONTROLS


@dataclass(frozen=True, slots=True)
class CongratulationRule:
    """`training_dose_congratulation`: congratulate a session longer than the threshold."""

    enabled: bool = True
    threshold: timedelta = timedelta(minutes=30)
    message: str = CONGRATULATION_MESSAGE
    controls: Controls = NO_CONTROLS


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str = BUILT_IN
    #: Where it was read from: a file's path, or "built-in".
    source: str = BUILT_IN
    start_training_reminder: ReminderRule = field(default_factory=ReminderRule)
    training_dose_congratulation: CongratulationRule = field(default_factory=CongratulationRule)
    #: The zone of a user whose events state none (IANA name).
    default_zone: str = DEFAULT_ZONE

    @classmethod
    def built_in(
        cls, *, delay_seconds: int, allowed_lateness_seconds: int, training_dose_seconds: int
    ) -> "RuleSet":
        """The brief's rules, with these figures (the EVENTS_*_SECONDS settings)."""
        return cls(
            start_training_reminder=ReminderRule(
                delay=timedelta(seconds=delay_seconds),
                allowed_lateness=timedelta(seconds=allowed_lateness_seconds),
            ),
            training_dose_congratulation=CongratulationRule(
                threshold=timedelta(seconds=training_dose_seconds)
            ),
        )

    def as_data(self) -> dict[str, Any]:
        """What `GET /v1/rules` shows: the rules in force, in the file's own terms."""
        reminder, congratulation = self.start_training_reminder, self.training_dose_congratulation
        return {
            "version": self.version,
            "source": self.source,
            "timezone": {"default": self.default_zone},
            "rules": {
                "start_training_reminder": {
                    "enabled": reminder.enabled,
                    "delay_seconds": _seconds(reminder.delay),
                    "allowed_lateness_seconds": _seconds(reminder.allowed_lateness),
                    "message": reminder.message,
                    **reminder.controls.as_data(),
                },
                "training_dose_congratulation": {
                    "enabled": congratulation.enabled,
                    "threshold_seconds": _seconds(congratulation.threshold),
                    "message": congratulation.message,
                    **congratulation.controls.as_data(),
                },
            },
        }


def _seconds(span: timedelta) -> int:
    return int(span.total_seconds())


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M")
