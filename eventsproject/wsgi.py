"""WSGI entry point of the events processor, for runserver and gunicorn."""

import os

from eventsproject import config

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventsproject.settings")
try:
    config.current()  # a bad setting: one line per variable, no traceback
except config.BadSettings as bad:
    raise SystemExit(str(bad)) from None

from django.core.wsgi import get_wsgi_application

from eventsproject.web.chunked import with_whole_bodies

try:
    application = with_whole_bodies(get_wsgi_application())  # the apps read the rules file
except config.BadSettings as bad:
    raise SystemExit(str(bad)) from None

from eventsproject import serving

serving.start()
