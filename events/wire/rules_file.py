"""The rules file (`EVENTS_RULES_FILE`): TOML, read with the standard library's `tomllib`.

Every key is optional; what the file leaves out keeps its value in the rule set
it is read over (the built-in rules, whose figures come from the
`EVENTS_*_SECONDS` settings). A key the file does not know is an error, so that a
typo never goes unnoticed; so is a value out of range. Errors are lines, one per
problem, each naming the key (`RulesFileError`), as the settings' are.

```toml
version = "2026-12-07.1"

[timezone]
default = "Europe/Paris"   # the zone of users whose events state none

[rules.start_training_reminder]
enabled = true
delay_seconds = 600
allowed_lateness_seconds = 30
message = "Your training is waiting!"
cap = { max = 1, per_hours = 24 }
quiet_hours = { from = "22:00", to = "08:00", action = "skip" }

[rules.training_dose_congratulation]
threshold_seconds = 1800
message = "Great job! You trained for {minutes} minutes."
quiet_hours = { from = "23:00", to = "07:00", action = "defer" }
```
"""

import hashlib
import tomllib
from dataclasses import replace
from datetime import time, timedelta
from pathlib import Path
from string import Formatter
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from events.domain.ruleset import (
    CONGRATULATION,
    REMINDER,
    Cap,
    CongratulationRule,
    Controls,
    QuietAction,
    QuietHours,
    ReminderRule,
    RuleSet,
)
from events.wire.zones import known_zones

YEAR = 366 * 24 * 3600
HOUR = timedelta(hours=1)
Seconds = Annotated[int, Field(strict=True, ge=0, le=YEAR)]
Message = Annotated[str, Field(strict=True, min_length=1, max_length=1000)]
#: A time of day, "HH:MM" on a 24-hour clock.
Clock = Annotated[str, Field(strict=True, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class RulesFileError(ValueError):
    """What is wrong with a rules file: one line per problem."""

    def as_setting(self) -> str:
        """The lines as the settings' are, each naming the setting."""
        return "\n".join(f"EVENTS_RULES_FILE: {line}" for line in str(self).splitlines())


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Cap(_Section):
    max: Annotated[int, Field(strict=True, ge=1, le=1000)]
    per_hours: Annotated[int, Field(strict=True, ge=1, le=YEAR // 3600)]

    def cap(self) -> Cap:
        return Cap(self.max, timedelta(hours=self.per_hours))


class _QuietHours(_Section):
    start: Clock = Field(alias="from")
    end: Clock = Field(alias="to")
    action: QuietAction = QuietAction.SKIP

    @model_validator(mode="after")
    def _not_empty(self) -> "_QuietHours":
        if self.start == self.end:
            raise ValueError("from and to are the same time: say when quiet hours end")
        return self

    def quiet_hours(self) -> QuietHours:
        return QuietHours(_clock(self.start), _clock(self.end), self.action)


class _Rule(_Section):
    enabled: StrictBool | None = None
    message: Message | None = None
    cap: _Cap | None = None
    quiet_hours: _QuietHours | None = None

    def controls(self, over: Controls) -> Controls:
        return Controls(
            over.cap if self.cap is None else self.cap.cap(),
            over.quiet_hours if self.quiet_hours is None else self.quiet_hours.quiet_hours(),
        )


class _Reminder(_Rule):
    delay_seconds: Seconds | None = None
    allowed_lateness_seconds: Seconds | None = None


class _Congratulation(_Rule):
    threshold_seconds: Seconds | None = None

    @field_validator("message")
    @classmethod
    def _only_minutes(cls, message: str | None) -> str | None:
        if message is not None and not _names_only_minutes(message):
            raise ValueError("may hold {minutes} and no other {…} (write {{ and }} for braces)")
        return message


def _names_only_minutes(message: str) -> bool:
    """Whether every replacement field is `{minutes}` itself (no attribute, no index, no
    other name), and the message formats."""
    try:
        fields = [name for _, name, _, _ in Formatter().parse(message) if name is not None]
        message.format(minutes=0)
    except (ValueError, KeyError, IndexError, AttributeError, TypeError):
        return False
    return all(name == "minutes" for name in fields)


class _Rules(_Section):
    start_training_reminder: _Reminder = _Reminder()
    training_dose_congratulation: _Congratulation = _Congratulation()


class _Timezone(_Section):
    default: Annotated[str, Field(strict=True)] | None = None

    @field_validator("default")
    @classmethod
    def _known(cls, name: str | None) -> str | None:
        if name is not None and name not in known_zones():
            raise ValueError("not a time zone of the IANA database (e.g. Europe/Paris, UTC)")
        return name


class _File(_Section):
    version: Annotated[str, Field(strict=True, min_length=1, max_length=200)] | None = None
    timezone: _Timezone = _Timezone()
    rules: _Rules = _Rules()


def read(
    path: Path,
    over: RuleSet,
    reorder_window: timedelta | None = None,
    state_ttl: timedelta | None = None,
) -> RuleSet:
    """The rule set of the file at `path`, over `over`; `RulesFileError` if it is not right:
    also if its reminder's delay is longer than the `reorder_window` (when there is one), as
    the setting it overrides may not be, or if a cap looks back further than a user's state
    is kept (`state_ttl`), as what it counts is kept there. Without a `version`, the file's
    is the start of its content's SHA-256."""
    rules = _read(path, over)
    problems = []
    if reorder_window is not None and reorder_window < rules.start_training_reminder.delay:
        problems.append(
            f"{path}: rules.start_training_reminder.delay_seconds: must be at most "
            "EVENTS_REORDER_WINDOW_SECONDS, as the setting it overrides is"
        )
    if state_ttl is not None:
        problems += _caps_beyond(path, rules, state_ttl)
    if problems:
        raise RulesFileError("\n".join(problems))
    return rules


def _caps_beyond(path: Path, rules: RuleSet, state_ttl: timedelta) -> list[str]:
    named = {
        REMINDER: rules.start_training_reminder.controls.cap,
        CONGRATULATION: rules.training_dose_congratulation.controls.cap,
    }
    return [
        f"{path}: rules.{name}.cap.per_hours: must be at most EVENTS_USER_STATE_TTL_HOURS "
        f"({state_ttl / HOUR:g}): what a cap counts is kept in the user's state, that long"
        for name, cap in named.items()
        if cap is not None and cap.per > state_ttl
    ]


def _read(path: Path, over: RuleSet) -> RuleSet:
    try:
        content = path.read_bytes()
    except OSError as error:
        raise RulesFileError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        parsed = _File.model_validate(tomllib.loads(content.decode("utf-8")))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise RulesFileError(f"{path}: not a TOML file: {error}") from None
    except ValidationError as invalid:
        raise RulesFileError("\n".join(_lines(path, invalid))) from None
    version = parsed.version or "sha256:" + hashlib.sha256(content).hexdigest()[:12]
    return RuleSet(
        version=version,
        source=str(path),
        start_training_reminder=_reminder(parsed.rules.start_training_reminder, over),
        training_dose_congratulation=_congratulation(
            parsed.rules.training_dose_congratulation, over
        ),
        default_zone=parsed.timezone.default or over.default_zone,
    )


def _reminder(section: _Reminder, over: RuleSet) -> ReminderRule:
    return replace(
        over.start_training_reminder,
        **_given(
            enabled=section.enabled,
            delay=_span(section.delay_seconds),
            allowed_lateness=_span(section.allowed_lateness_seconds),
            message=section.message,
            controls=section.controls(over.start_training_reminder.controls),
        ),
    )


def _congratulation(section: _Congratulation, over: RuleSet) -> CongratulationRule:
    return replace(
        over.training_dose_congratulation,
        **_given(
            enabled=section.enabled,
            threshold=_span(section.threshold_seconds),
            message=section.message,
            controls=section.controls(over.training_dose_congratulation.controls),
        ),
    )


def _given(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _span(seconds: int | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def _clock(text: str) -> time:
    return time.fromisoformat(text)


def _lines(path: Path, invalid: ValidationError) -> list[str]:
    return [
        f"{path}: {'.'.join(str(part) for part in error['loc'])}: {_said(error)}"
        for error in invalid.errors()
    ]


def _said(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "not a key of the rules file"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{message} (got {error['input']!r})"
