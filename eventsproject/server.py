"""The production command: gunicorn with `eventsproject.gunicorn`'s settings, started once
the service's settings are known to be good.

    python -m eventsproject.server [gunicorn options]      (make serve: -b HOST:PORT)

gunicorn reads `WEB_CONCURRENCY` itself as it is imported, and a value it cannot read
would end in its traceback; here a bad setting ends in the service's one line per
variable instead, before gunicorn is imported.
"""

import sys
from pathlib import Path

from eventsproject.config import BadSettings, current

APP = "eventsproject.wsgi"


def main(options: list[str]) -> None:
    try:
        _check_rules_file(current().EVENTS_RULES_FILE)
    except BadSettings as bad:
        sys.exit(str(bad))
    from gunicorn.app.wsgiapp import run  # type: ignore[import-untyped]

    sys.argv = ["gunicorn", "-c", "python:eventsproject.gunicorn", *options, APP]
    run()


def _check_rules_file(path: str) -> None:
    """The rules file, read as the workers will read it: their errors, here, as lines."""
    if not path:
        return
    from events.domain.ruleset import RuleSet  # no Django: gunicorn's master stays bare
    from events.wire.rules_file import RulesFileError, read

    try:
        read(Path(path), RuleSet())
    except RulesFileError as bad:
        raise BadSettings(bad.as_setting()) from None


if __name__ == "__main__":
    main(sys.argv[1:])
