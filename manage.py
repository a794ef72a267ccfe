#!/usr/bin/env python
"""Django's command-line utility for the events processor."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventsproject.settings")
    from django.core.management import execute_from_command_line

    from eventsproject import config, startup

    try:
        startup.checked()  # a bad setting or rules file: one line per problem, no traceback
    except config.BadSettings as bad:
        sys.exit(str(bad))
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
