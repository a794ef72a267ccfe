"""WSGI entry point of the events processor, for runserver and gunicorn."""

import os
import sys

from eventsproject import config, startup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventsproject.settings")
try:
    startup.checked()  # a bad setting or rules file: one line per problem, no traceback
except config.BadSettings as bad:
    print(bad, file=sys.stderr, flush=True)
    raise SystemExit(startup.CANNOT_BOOT) from None

from django.core.wsgi import get_wsgi_application

from eventsproject.web.chunked import with_whole_bodies

application = with_whole_bodies(get_wsgi_application())

from eventsproject import reporting, serving  # noqa: E402  (needs the apps loaded above)

reporting.start()
serving.start()
