"""What every entry point checks before anything starts: the settings, and the rules file
read as the service will read it. A problem is `BadSettings`, one line each.

No Django here: manage.py, the WSGI module and the production command (before gunicorn's
master forks) call it as their first step.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

from events.domain.ruleset import RuleSet
from events.wire.rules_file import RulesFileError, read
from eventsproject.config import BadSettings, Config, current

#: A server worker's exit code for a configuration it cannot boot with: gunicorn's master
#: then stops, saying why, where any other code would have it boot the next worker, and the
#: next, for ever (a rules file broken before `kill -HUP`, say).
CANNOT_BOOT = 3


def checked() -> Config:
    """This process's configuration, once its rules file reads."""
    config = current()
    try:
        rules_in_force(config)
    except RulesFileError as bad:
        raise BadSettings(bad.as_setting()) from None
    return config


def rules_in_force(source: Any, path: Path | None = None) -> RuleSet:
    """The built-in rules with `source`'s EVENTS_*_SECONDS figures, under the rules file at
    `path` (by default its EVENTS_RULES_FILE, if any); `RulesFileError` if it is not right.
    `source` is the configuration, or Django's settings, which hold the same names."""
    built_in = RuleSet.built_in(
        delay_seconds=source.EVENTS_REMINDER_DELAY_SECONDS,
        allowed_lateness_seconds=source.EVENTS_ALLOWED_LATENESS_SECONDS,
        training_dose_seconds=source.EVENTS_TRAINING_DOSE_SECONDS,
    )
    path = path or (Path(source.EVENTS_RULES_FILE) if source.EVENTS_RULES_FILE else None)
    if path is None:
        return built_in
    state_ttl = timedelta(hours=source.EVENTS_USER_STATE_TTL_HOURS)
    return read(path, built_in, _reorder_window(source), state_ttl)


def _reorder_window(source: Any) -> timedelta | None:
    """The window a rules file's reminder delay must fit in; None when it is off."""
    if not source.EVENTS_REORDER_WINDOW_EVENTS:
        return None
    return timedelta(seconds=source.EVENTS_REORDER_WINDOW_SECONDS)
