"""Settings for the events processor.

This is the only module that reads the environment; `.env.example` documents
every variable. A `.env` file (or the file EVENTS_DOTENV names) is read first
with django-environ, and the environment wins over it. Every value is typed and
checked here: a bad one stops startup with a message naming the variable and the
value (never a secret's). Defaults are safe for local use: DEBUG off, loopback
hosts only; README, "Run in production", lists what production sets.
"""

import math
import os
import re
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import urlsplit

import environ  # type: ignore[import-untyped]  # django-environ ships no types
from django.core.exceptions import ImproperlyConfigured

import eventsproject
from eventsproject import logs
from eventsproject.redaction import redact_url
from notifications import signing

BASE_DIR = Path(__file__).resolve().parent.parent
_DOTENV = Path(os.environ.get("EVENTS_DOTENV") or BASE_DIR / ".env")
if _DOTENV.is_file():
    environ.Env.read_env(_DOTENV)  # sets only what the environment does not

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


def _env_number(
    name: str, default: float, minimum: float = -math.inf, maximum: float = math.inf
) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if not minimum <= value <= maximum:  # NaN fails both comparisons
        raise ImproperlyConfigured(
            f"{name} must be a number from {minimum:g} to {maximum:g}, got {raw!r}"
        )
    return value


def _env_count(name: str, default: int, maximum: int = 10**9, minimum: int = 0) -> int:
    """A whole number from `minimum` to `maximum` (seconds, entries); anything else stops
    startup."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and minimum <= int(text) <= maximum):
        kind = "a non-negative integer" if minimum == 0 else f"an integer from {minimum}"
        raise ImproperlyConfigured(f"{name} must be {kind} up to {maximum}, got {raw!r}")
    return int(text)


_RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")


def _env_rate(name: str, default: str) -> str | None:
    """A DRF throttle rate (`30/s`, `1000/minute`); empty turns the throttle off."""
    raw = os.environ.get(name, default)
    rate = raw.strip()
    if rate and not _RATE.fullmatch(rate):
        raise ImproperlyConfigured(
            f"{name} must be a rate like 30/s or 1000/minute (or empty for none), got {raw!r}"
        )
    return rate or None


def _env_networks(name: str) -> tuple[IPv4Network | IPv6Network, ...]:
    raw = os.environ.get(name, "")
    try:
        return tuple(
            ip_network(item.strip(), strict=False) for item in raw.split(",") if item.strip()
        )
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be comma-separated addresses or networks (10.0.0.0/8), got {raw!r}"
        ) from None


def _env_http_url(name: str, default: str) -> str:
    raw = os.environ.get(name, default).strip()
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name} must be an http:// or https:// URL, got {redact_url(raw)!r}"
        )
    return raw


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


def _env_redis_url(name: str, default: str) -> str:
    raw = os.environ.get(name, default).strip()
    if urlsplit(raw).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"{name} must be a redis://, rediss:// or unix:// URL, got {redact_url(raw)!r}"
        )
    return raw


def _env_webhook_secrets(name: str) -> tuple[bytes, ...]:
    try:
        return signing.parse_secrets(os.environ.get(name, ""))
    except ValueError as problem:
        raise ImproperlyConfigured(f"{name}: {problem} (the value is not shown)") from None


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = _env_bool("DEBUG", default=False)
#: The development key is short on purpose: `check --deploy` flags it, and the production
#: command (eventsproject/gunicorn.py) refuses to start without a SECRET_KEY of its own.
DEVELOPMENT_SECRET_KEY = "insecure-local-events-processor-key"
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip() or DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
#: The production server drops a client that takes longer than this to send a request's
#: head, stays idle between requests, or falls silent within a request
#: (eventsproject/workers.py).
EVENTS_CLIENT_TIMEOUT_SECONDS = _env_count("EVENTS_CLIENT_TIMEOUT_SECONDS", 10, 3600, minimum=1)

# --- HTTPS (README, "Run in production"): on where TLS ends in front of the service ---
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = _env_count("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", default=True)
#: Only behind a proxy that sets X-Forwarded-Proto itself and drops the client's.
if _env_bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# No view here reads cookies: clients authenticate with a header (tokens), so there is
# nothing for cross-site request forgery to ride on and no CSRF middleware to run.
SILENCED_SYSTEM_CHECKS = ["security.W003"]

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",  # runserver serves static files as production does
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "events",
    "notifications",
]

MIDDLEWARE = [
    "eventsproject.observability.ProbeMiddleware",  # before anything reads the Host header
    "eventsproject.observability.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",  # the browsable pages
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
#: Where `manage.py collectstatic` (run by the Makefile) gathers the pages' assets, which
#: WhiteNoise serves compressed and under content-hashed names, cached for a year.
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "eventsproject.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["events.parsers.LimitedJSONParser"],
    # No auth or contenttypes apps: nothing may assume a user table.
    "DEFAULT_AUTHENTICATION_CLASSES": ["eventsproject.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["eventsproject.authentication.IngestionAccess"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "eventsproject.exceptions.handle_exception",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Events Processor",
    "DESCRIPTION": "Ingests fitness-app events and notifies users when a rule says so.",
    "VERSION": eventsproject.__version__,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "events.schema_rules.refine",
    ],
    # Each event serializer's `type` has one value; name their enums after it.
    "ENUM_NAME_OVERRIDES": {
        "AppLaunchTypeEnum": ["app_launch"],
        "AppLaunchedTypeEnum": ["app_launched"],
        "TrainingProgramStartedTypeEnum": ["training_program_started"],
        "TrainingProgramCancelledTypeEnum": ["training_program_cancelled"],
        "TrainingProgramFinishedTypeEnum": ["training_program_finished"],
    },
}

# --- Events -----------------------------------------------------------------
#: How many recent events the browsable API keeps; older ones are forgotten.
EVENTS_RECENT_LIMIT = _env_count("EVENTS_RECENT_LIMIT", 1000)
#: Body limits: one event, and one batch of at most EVENTS_BATCH_MAX_EVENTS events.
EVENTS_MAX_BODY_BYTES = _env_count("EVENTS_MAX_BODY_BYTES", 32 * 1024)
EVENTS_BATCH_MAX_BODY_BYTES = _env_count("EVENTS_BATCH_MAX_BODY_BYTES", 512 * 1024)
EVENTS_BATCH_MAX_EVENTS = _env_count("EVENTS_BATCH_MAX_EVENTS", 500)
#: Event ids remembered to answer retries as duplicates: at most this many...
EVENTS_SEEN_IDS_LIMIT = _env_count("EVENTS_SEEN_IDS_LIMIT", 100_000)
#: ...and none received more than this many hours ago.
EVENTS_SEEN_IDS_MAX_AGE_HOURS = _env_number("EVENTS_SEEN_IDS_MAX_AGE_HOURS", 24, 0, 10 * 8784)
_YEAR = 366 * 24 * 3600
#: The time model (docs/time.md), each at most a year. A launch arms a reminder due this
#: long after it...
EVENTS_REMINDER_DELAY_SECONDS = _env_count("EVENTS_REMINDER_DELAY_SECONDS", 600, _YEAR)
#: ...a finished session longer than this earns a congratulation...
EVENTS_TRAINING_DOSE_SECONDS = _env_count("EVENTS_TRAINING_DOSE_SECONDS", 1800, _YEAR)
#: ...and a silent user's reminder waits this much longer, by the server's clock, for a
#: start that is on its way.
EVENTS_ALLOWED_LATENESS_SECONDS = _env_count("EVENTS_ALLOWED_LATENESS_SECONDS", 30, _YEAR)
#: How often the ticker sends the reminders due by the server's clock.
EVENTS_TICK_SECONDS = _env_number("EVENTS_TICK_SECONDS", 1, 0.01, 60)
#: The decision log (GET /v1/users/<id>/decisions): entries kept per user, and users kept
#: (the least recently decided for are forgotten first).
EVENTS_DECISION_LOG_LIMIT = _env_count("EVENTS_DECISION_LOG_LIMIT", 100)
EVENTS_DECISION_LOG_USERS = _env_count("EVENTS_DECISION_LOG_USERS", 10_000)
#: Allocations between two young-generation garbage collections (CPython's default is
#: 700: with the objects every event allocates and the decision logs kept, that is a
#: collection every few events; 0 keeps CPython's). See benchmarks/analysis.md.
EVENTS_GC_GEN0_THRESHOLD = _env_count("EVENTS_GC_GEN0_THRESHOLD", 10_000)
#: Per-client limit (the app's token and the client's address) on single events; empty
#: disables it.
EVENTS_THROTTLE_RATE = _env_rate("EVENTS_THROTTLE_RATE", "30/s")
#: Per-client limit on batches: 200 of 100 events is 20,000 events a second; empty disables it.
EVENTS_BATCH_THROTTLE_RATE = _env_rate("EVENTS_BATCH_THROTTLE_RATE", "200/s")
#: The memory store's throttle counters, one per client (eventsproject/rate_limits.py);
#: past MAX_ENTRIES the oldest third is forgotten, which only ever lets a client through.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}
#: Proxies (addresses or networks) whose X-Forwarded-For names the client; none by default.
EVENTS_TRUSTED_PROXIES = _env_networks("EVENTS_TRUSTED_PROXIES")
#: Who may do what (eventsproject/access.py): tokens that may post events; tokens that may
#: also read users, decisions and notifications and re-send. In production mode (DEBUG off)
#: a request without a token is refused unless EVENTS_ALLOW_ANONYMOUS opens the scopes
#: without tokens (for a gateway in front that authenticates the app).
EVENTS_API_TOKENS = _env_list("EVENTS_API_TOKENS", [])
EVENTS_ADMIN_TOKENS = _env_list("EVENTS_ADMIN_TOKENS", [])
EVENTS_ALLOW_ANONYMOUS = _env_bool("EVENTS_ALLOW_ANONYMOUS", default=False)

# --- State ---------------------------------------------------------------------
#: Where state and the outbox live: `memory` (one process, lost on exit) or `redis`
#: (shared by every process, kept across restarts; README, "Running on Redis").
EVENTS_STORE = _env_choice("EVENTS_STORE", "memory", ("memory", "redis"))
REDIS_URL = _env_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")
#: Every key starts with this, so that several services can share one Redis.
EVENTS_REDIS_PREFIX = os.environ.get("EVENTS_REDIS_PREFIX", "ep").strip() or "ep"
#: Users are spread over this many shards (each one Redis Cluster slot, with its own due
#: reminders and notification stream).
EVENTS_TIMER_SHARDS = _env_count("EVENTS_TIMER_SHARDS", 16, 16384) or 1
#: Due reminders and notifications a process claimed are claimed again by another after
#: this many seconds if the first has not settled them (it died or hung). Longer than one
#: delivery attempt (NOTIFY_CONNECT_TIMEOUT + NOTIFY_READ_TIMEOUT) (Redis).
EVENTS_CLAIM_LEASE_SECONDS = _env_number("EVENTS_CLAIM_LEASE_SECONDS", 30, 0.1, 3600)
#: Whether each web process also runs the reminder ticker and the notification dispatcher;
#: false leaves them to `manage.py run_workers` (Redis; README, "Running on Redis").
EVENTS_WEB_RUNS_WORKERS = _env_bool("EVENTS_WEB_RUNS_WORKERS", default=True)
#: The memory store holds at most this many users with state (sessions, reminders); a new
#: user past it is answered 503 until idle ones expire (EVENTS_USER_STATE_TTL_HOURS).
EVENTS_MEMORY_MAX_USERS = _env_count("EVENTS_MEMORY_MAX_USERS", 1_000_000, minimum=1)
#: A user's state (and on Redis its decision log) expires after this many idle hours.
EVENTS_USER_STATE_TTL_HOURS = _env_number("EVENTS_USER_STATE_TTL_HOURS", 48, 0.01, 10 * 8784)

# --- Notifications ------------------------------------------------------------
#: Full URL of the notify endpoint, e.g. http://127.0.0.1:8001/v1/notify.
NOTIFY_URL = _env_http_url("NOTIFY_URL", "http://127.0.0.1:8001/v1/notify")
#: Standard Webhooks signing: NOTIFY_SIGNING_SECRET holds `whsec_<base64>` secrets,
#: space-separated while rotating (the first signs, the notify service accepts any).
NOTIFY_SIGNING_KEYS = _env_webhook_secrets("NOTIFY_SIGNING_SECRET")
#: Sent as `Authorization: Bearer <token>` when set.
NOTIFY_AUTH_TOKEN = os.environ.get("NOTIFY_AUTH_TOKEN", "").strip()
NOTIFY_CONNECT_TIMEOUT = _env_number("NOTIFY_CONNECT_TIMEOUT", 2.0)
NOTIFY_READ_TIMEOUT = _env_number("NOTIFY_READ_TIMEOUT", 5.0)
#: Delivery attempts a dispatcher makes at once, each on a keep-alive connection of its own.
NOTIFY_CONCURRENCY = _env_count("NOTIFY_CONCURRENCY", 8, 256, minimum=1)
#: Retries of connection errors, timeouts, 408, 429 and 5xx: exponential backoff
#: with full jitter (waits up to BASE * 2^(n-1), capped at MAX, at least Retry-After),
#: within MAX_ATTEMPTS attempts and RETRY_BUDGET seconds from the first attempt.
NOTIFY_MAX_ATTEMPTS = _env_count("NOTIFY_MAX_ATTEMPTS", 6, minimum=1)
NOTIFY_BACKOFF_BASE_SECONDS = _env_number("NOTIFY_BACKOFF_BASE_SECONDS", 0.5)
NOTIFY_BACKOFF_MAX_SECONDS = _env_number("NOTIFY_BACKOFF_MAX_SECONDS", 30)
NOTIFY_RETRY_BUDGET_SECONDS = _env_number("NOTIFY_RETRY_BUDGET_SECONDS", 300)
#: The circuit breaker opens after this many retryable failures in a row and lets
#: one attempt through after the cool-down.
NOTIFY_BREAKER_FAILURES = _env_count("NOTIFY_BREAKER_FAILURES", 5, minimum=1)
NOTIFY_BREAKER_COOLDOWN_SECONDS = _env_number("NOTIFY_BREAKER_COOLDOWN_SECONDS", 30)
#: On shutdown, how long pending notifications may still be delivered.
NOTIFY_SHUTDOWN_GRACE_SECONDS = _env_number("NOTIFY_SHUTDOWN_GRACE_SECONDS", 10)
#: Where `manage.py resend_notifications` finds the running service.
EVENTS_API_URL = _env_http_url("EVENTS_API_URL", "http://127.0.0.1:8000")
#: How many sent notifications the browsable API keeps.
NOTIFICATIONS_RECENT_LIMIT = _env_count("NOTIFICATIONS_RECENT_LIMIT", 1000)

LOG_LEVEL = _env_choice(
    "LOG_LEVEL", "info", ("debug", "info", "warning", "error", "critical")
).upper()
#: `json`: one JSON object per line, for log pipelines; `plain`: lines for people.
LOG_FORMAT = _env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": logs.FORMATTERS,
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "filters": {
        "not_a_store_outage": {
            "()": "django.utils.log.CallbackFilter",
            "callback": logs.not_a_store_outage,
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's own console handler would print its lines a second time under DEBUG.
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        "django.request": {"filters": ["not_a_store_outage"]},
        # urllib3's debug lines print each request's path with its query, where a
        # NOTIFY_URL may hold a key: never below INFO.
        "urllib3": {"level": "INFO"},
    },
}
