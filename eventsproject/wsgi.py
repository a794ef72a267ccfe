"""WSGI entry point of the events processor, for runserver and gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

from eventsproject.chunked import with_whole_bodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventsproject.settings")

application = with_whole_bodies(get_wsgi_application())

from eventsproject import serving  # noqa: E402  (needs the apps loaded above)

serving.start()
