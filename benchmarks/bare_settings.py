"""The service's settings with a bare DRF view at /v1/event: the framework ceiling."""

from eventsproject.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.bare_urls"
