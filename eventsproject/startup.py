"""What every entry point checks before anything starts: the settings, and the rules file
read as the service will read it. A problem is `BadSettings`, one line each.

No Django here: manage.py, the WSGI module and the production command (before gunicorn's
master forks) call it as their first step.
"""

from datetime import timedelta
from pathlib import Path

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
    if config.EVENTS_RULES_FILE:
        try:
            read(Path(config.EVENTS_RULES_FILE), built_in(config), reorder_window(config))
        except RulesFileError as bad:
            raise BadSettings(bad.as_setting()) from None
    return config


def built_in(config: Config) -> RuleSet:
    return RuleSet.built_in(
        delay_seconds=config.EVENTS_REMINDER_DELAY_SECONDS,
        allowed_lateness_seconds=config.EVENTS_ALLOWED_LATENESS_SECONDS,
        training_dose_seconds=config.EVENTS_TRAINING_DOSE_SECONDS,
    )


def reorder_window(config: Config) -> timedelta | None:
    """The window a rules file's reminder delay must fit in; None when it is off."""
    if not config.EVENTS_REORDER_WINDOW_EVENTS:
        return None
    return timedelta(seconds=config.EVENTS_REORDER_WINDOW_SECONDS)
