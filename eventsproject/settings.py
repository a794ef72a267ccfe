"""Settings for the events processor.

This is the only module that reads the environment; `.env.example` documents
every variable. Defaults are safe for local use: DEBUG off, loopback hosts only.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off", ""}


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word not in _TRUE_WORDS | _FALSE_WORDS:
        raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")
    return word in _TRUE_WORDS


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = _env_bool("DEBUG", default=False)
# A fixed key is harmless here: the service signs nothing (no sessions, no CSRF
# cookies). Set SECRET_KEY anyway in production so nothing relies on it.
SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-local-events-processor-key")
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "rest_framework",
    "events",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "eventsproject.urls"
WSGI_APPLICATION = "eventsproject.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# No database: all state lives in memory (see events.repository).
DATABASES: dict[str, dict[str, str]] = {}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # No auth or contenttypes apps: nothing may assume a user table.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

# --- Events -----------------------------------------------------------------
#: How many recent events the browsable API keeps; older ones are forgotten.
EVENTS_RECENT_LIMIT = int(_env_number("EVENTS_RECENT_LIMIT", 1000))

# --- Notifications ------------------------------------------------------------
#: Full URL of the notify endpoint, e.g. http://127.0.0.1:8001/v1/notify.
NOTIFY_URL = os.environ.get("NOTIFY_URL", "http://127.0.0.1:8001/v1/notify")
NOTIFY_CONNECT_TIMEOUT = _env_number("NOTIFY_CONNECT_TIMEOUT", 2.0)
NOTIFY_READ_TIMEOUT = _env_number("NOTIFY_READ_TIMEOUT", 5.0)
NOTIFY_RETRIES = int(_env_number("NOTIFY_RETRIES", 3))
NOTIFY_BACKOFF_FACTOR = _env_number("NOTIFY_BACKOFF_FACTOR", 0.5)
#: How many sent notifications the browsable API keeps.
NOTIFICATIONS_RECENT_LIMIT = int(_env_number("NOTIFICATIONS_RECENT_LIMIT", 1000))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
