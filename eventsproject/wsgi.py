"""WSGI entry point for the events processor."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventsproject.settings")

application = get_wsgi_application()
