#!/usr/bin/env python
"""Django's command-line utility for the events processor."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventsproject.settings")
    from django.core.management import execute_from_command_line

    from eventsproject import config

    try:
        config.current()  # a bad setting: one line per variable, no traceback
        execute_from_command_line(sys.argv)  # the apps load the rules file (EVENTS_RULES_FILE)
    except config.BadSettings as bad:
        sys.exit(str(bad))


if __name__ == "__main__":
    main()
