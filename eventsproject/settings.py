"""Settings for the events processor.

Every variable of the environment (and of `.env`) is read, typed and checked by
`eventsproject.config`, the one module that reads them: a bad value stops startup
with one line naming the variable and the rule (never a secret's value). This
module turns that configuration into Django's settings. Defaults are safe for
local use: DEBUG off, loopback hosts only; README, "Run in production", lists what
production sets.
"""

import eventsproject
from eventsproject import config
from eventsproject.platform import logs

BASE_DIR = config.BASE_DIR
_config = config.current()

DEBUG = _config.DEBUG
#: The development key is short on purpose: `check --deploy` flags it, and the production
#: command (eventsproject/gunicorn.py) refuses to start without a SECRET_KEY of its own.
DEVELOPMENT_SECRET_KEY = "insecure-local-events-processor-key"
SECRET_KEY = _config.SECRET_KEY.strip() or DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = _config.ALLOWED_HOSTS
#: The production server drops a client that takes longer than this to send a request's
#: head, stays idle between requests, or falls silent within a request
#: (eventsproject/platform/workers.py).
EVENTS_CLIENT_TIMEOUT_SECONDS = _config.EVENTS_CLIENT_TIMEOUT_SECONDS

# --- HTTPS (README, "Run in production"): on where TLS ends in front of the service ---
SECURE_SSL_REDIRECT = _config.SECURE_SSL_REDIRECT
SECURE_HSTS_SECONDS = _config.SECURE_HSTS_SECONDS
SECURE_HSTS_INCLUDE_SUBDOMAINS = _config.SECURE_HSTS_INCLUDE_SUBDOMAINS
SECURE_HSTS_PRELOAD = _config.SECURE_HSTS_PRELOAD
#: Only behind a proxy that sets X-Forwarded-Proto itself and drops the client's.
if _config.TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# No CSRF middleware: clients authenticate with a header (tokens), which a forged request
# cannot carry. The one cookie, a person's login (eventsproject/web/login.py), is checked
# for the page's CSRF token by the authentication that reads it, and the login page by
# its view: the API's hot path runs no CSRF code.
SILENCED_SYSTEM_CHECKS = ["security.W003"]
#: A form the CSRF check refuses says why and what usually causes it, and the token's
#: cookie travels only over HTTPS where the service is only reached over HTTPS.
CSRF_FAILURE_VIEW = "eventsproject.web.login.csrf_refused"
CSRF_COOKIE_SECURE = _config.SECURE_SSL_REDIRECT

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
    "eventsproject.web.login.PrivatePages",  # what a login cookie opened, no cache keeps
]

ROOT_URLCONF = "eventsproject.urls"
WSGI_APPLICATION = "eventsproject.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "eventsproject" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",  # the login and logout forms
                "eventsproject.web.login.login_context",
            ]
        },
    }
]

# No database: all state lives in memory (see events.adapters.memory).
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
        "eventsproject.web.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["events.wire.parsers.LimitedJSONParser"],
    # No auth or contenttypes apps: nothing may assume a user table.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "eventsproject.web.authentication.BearerTokenAuthentication",
        "eventsproject.web.login.LoginCookieAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["eventsproject.web.authentication.IngestionAccess"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "eventsproject.web.exceptions.handle_exception",
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
        "events.api.schema_rules.refine",
    ],
}

# --- Events -----------------------------------------------------------------
#: How many recent events the browsable API keeps; older ones are forgotten.
EVENTS_RECENT_LIMIT = _config.EVENTS_RECENT_LIMIT
#: Body limits: one event, and one batch of at most EVENTS_BATCH_MAX_EVENTS events.
EVENTS_MAX_BODY_BYTES = _config.EVENTS_MAX_BODY_BYTES
EVENTS_BATCH_MAX_BODY_BYTES = _config.EVENTS_BATCH_MAX_BODY_BYTES
EVENTS_BATCH_MAX_EVENTS = _config.EVENTS_BATCH_MAX_EVENTS
#: Event ids remembered to answer retries as duplicates: at most this many...
EVENTS_SEEN_IDS_LIMIT = _config.EVENTS_SEEN_IDS_LIMIT
#: ...and none received more than this many hours ago.
EVENTS_SEEN_IDS_MAX_AGE_HOURS = _config.EVENTS_SEEN_IDS_MAX_AGE_HOURS
#: The time model (docs/time.md), each at most a year. A launch arms a reminder due this
#: long after it...
EVENTS_REMINDER_DELAY_SECONDS = _config.EVENTS_REMINDER_DELAY_SECONDS
#: ...a finished session longer than this earns a congratulation...
EVENTS_TRAINING_DOSE_SECONDS = _config.EVENTS_TRAINING_DOSE_SECONDS
#: ...and a silent user's reminder waits this much longer, by the server's clock, for a
#: start that is on its way.
EVENTS_ALLOWED_LATENESS_SECONDS = _config.EVENTS_ALLOWED_LATENESS_SECONDS
#: The rules file (TOML, README "Rules"): which rules run, their figures (over the three
#: above) and their messages; blank: the built-in rules.
EVENTS_RULES_FILE = _config.EVENTS_RULES_FILE
#: A user's event that arrives late is put in its place on the user's timeline when it is
#: at most this much older than the user's latest event, and among the user's last this
#: many events (docs/time.md); an older one is applied as it comes, as `too_late`.
EVENTS_REORDER_WINDOW_SECONDS = _config.EVENTS_REORDER_WINDOW_SECONDS
EVENTS_REORDER_WINDOW_EVENTS = _config.EVENTS_REORDER_WINDOW_EVENTS
#: How often the ticker sends the reminders due by the server's clock.
EVENTS_TICK_SECONDS = _config.EVENTS_TICK_SECONDS
#: The decision log (GET /v1/users/<id>/decisions): entries kept per user, and users kept
#: (the least recently decided for are forgotten first).
EVENTS_DECISION_LOG_LIMIT = _config.EVENTS_DECISION_LOG_LIMIT
EVENTS_DECISION_LOG_USERS = _config.EVENTS_DECISION_LOG_USERS
#: Allocations between two young-generation garbage collections (CPython's default is
#: 700: with the objects every event allocates and the decision logs kept, that is a
#: collection every few events; 0 keeps CPython's). See benchmarks/analysis.md.
EVENTS_GC_GEN0_THRESHOLD = _config.EVENTS_GC_GEN0_THRESHOLD
#: Per-client limit (the app's token and the client's address) on single events; empty
#: disables it.
EVENTS_THROTTLE_RATE = _config.EVENTS_THROTTLE_RATE
#: Per-client limit on batches: 200 of 100 events is 20,000 events a second; empty disables it.
EVENTS_BATCH_THROTTLE_RATE = _config.EVENTS_BATCH_THROTTLE_RATE
#: Per address, on failed authentications (a wrong or malformed token): past it, `429`.
EVENTS_AUTH_FAILURE_RATE = _config.EVENTS_AUTH_FAILURE_RATE
#: Per client, on events that make a user the store did not hold: past it, `429`.
EVENTS_NEW_USERS_RATE = _config.EVENTS_NEW_USERS_RATE
#: The memory store's throttle counters, one per client (eventsproject/platform/rate_limits.py);
#: past MAX_ENTRIES the oldest third is forgotten, which only ever lets a client through.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}
#: Proxies (addresses or networks) whose X-Forwarded-For names the client; none by default.
EVENTS_TRUSTED_PROXIES = _config.EVENTS_TRUSTED_PROXIES
#: Who may do what (eventsproject/web/access.py): tokens that may post events; tokens that may
#: also read users, decisions and notifications and re-send. In production mode (DEBUG off)
#: a request without a token is refused unless EVENTS_ALLOW_ANONYMOUS opens the scopes
#: without tokens (for a gateway in front that authenticates the app).
EVENTS_API_TOKENS = _config.EVENTS_API_TOKENS
EVENTS_ADMIN_TOKENS = _config.EVENTS_ADMIN_TOKENS
EVENTS_ALLOW_ANONYMOUS = _config.EVENTS_ALLOW_ANONYMOUS

# --- State ---------------------------------------------------------------------
#: Where state and the outbox live: `memory` (one process, lost on exit) or `redis`
#: (shared by every process, kept across restarts; README, "Running on Redis").
EVENTS_STORE = _config.EVENTS_STORE
REDIS_URL = _config.REDIS_URL
#: Every key starts with this, so that several services can share one Redis.
EVENTS_REDIS_PREFIX = _config.EVENTS_REDIS_PREFIX
#: Users are spread over this many shards (each one Redis Cluster slot, with its own due
#: reminders and notification stream).
EVENTS_TIMER_SHARDS = _config.EVENTS_TIMER_SHARDS
#: Due reminders and notifications a process claimed are claimed again by another after
#: this many seconds if the first has not settled them (it died or hung). Longer than one
#: delivery attempt (NOTIFY_CONNECT_TIMEOUT + NOTIFY_READ_TIMEOUT) (Redis).
EVENTS_CLAIM_LEASE_SECONDS = _config.EVENTS_CLAIM_LEASE_SECONDS
#: Whether each web process also runs the reminder ticker and the notification dispatcher;
#: false leaves them to `manage.py run_workers` (Redis; README, "Running on Redis").
EVENTS_WEB_RUNS_WORKERS = _config.EVENTS_WEB_RUNS_WORKERS
#: Where `manage.py run_workers` serves its own /metrics and health (empty: nowhere).
EVENTS_WORKERS_HTTP_ADDRESS = _config.EVENTS_WORKERS_HTTP_ADDRESS
#: The memory store holds at most this many users with state (sessions, reminders); a new
#: user past it is answered 503 until idle ones expire (EVENTS_USER_STATE_TTL_HOURS).
EVENTS_MEMORY_MAX_USERS = _config.EVENTS_MEMORY_MAX_USERS
#: A user's state (and on Redis its decision log) expires after this many idle hours.
EVENTS_USER_STATE_TTL_HOURS = _config.EVENTS_USER_STATE_TTL_HOURS

# --- Notifications ------------------------------------------------------------
#: Full URL of the notify endpoint, e.g. http://127.0.0.1:8001/v1/notify.
NOTIFY_URL = _config.NOTIFY_URL
#: Standard Webhooks signing: NOTIFY_SIGNING_SECRET holds `whsec_<base64>` secrets,
#: space-separated while rotating (the first signs, the notify service accepts any).
NOTIFY_SIGNING_KEYS = _config.NOTIFY_SIGNING_SECRET
#: Sent as `Authorization: Bearer <token>` when set.
NOTIFY_AUTH_TOKEN = _config.NOTIFY_AUTH_TOKEN
NOTIFY_CONNECT_TIMEOUT = _config.NOTIFY_CONNECT_TIMEOUT
NOTIFY_READ_TIMEOUT = _config.NOTIFY_READ_TIMEOUT
#: Delivery attempts a dispatcher makes at once, each on a keep-alive connection of its own.
NOTIFY_CONCURRENCY = _config.NOTIFY_CONCURRENCY
#: Retries of connection errors, timeouts, 408, 429 and 5xx: exponential backoff
#: with full jitter (waits up to BASE * 2^(n-1), capped at MAX, at least Retry-After),
#: within MAX_ATTEMPTS attempts and RETRY_BUDGET seconds from the first attempt.
NOTIFY_MAX_ATTEMPTS = _config.NOTIFY_MAX_ATTEMPTS
NOTIFY_BACKOFF_BASE_SECONDS = _config.NOTIFY_BACKOFF_BASE_SECONDS
NOTIFY_BACKOFF_MAX_SECONDS = _config.NOTIFY_BACKOFF_MAX_SECONDS
NOTIFY_RETRY_BUDGET_SECONDS = _config.NOTIFY_RETRY_BUDGET_SECONDS
#: The circuit breaker opens after this many retryable failures in a row and lets
#: one attempt through after the cool-down.
NOTIFY_BREAKER_FAILURES = _config.NOTIFY_BREAKER_FAILURES
NOTIFY_BREAKER_COOLDOWN_SECONDS = _config.NOTIFY_BREAKER_COOLDOWN_SECONDS
#: On shutdown, how long pending notifications may still be delivered.
NOTIFY_SHUTDOWN_GRACE_SECONDS = _config.NOTIFY_SHUTDOWN_GRACE_SECONDS
#: Where `manage.py resend_notifications` finds the running service.
EVENTS_API_URL = _config.EVENTS_API_URL
#: How many sent notifications the browsable API keeps.
NOTIFICATIONS_RECENT_LIMIT = _config.NOTIFICATIONS_RECENT_LIMIT

LOG_LEVEL = _config.LOG_LEVEL.upper()
#: `json`: one JSON object per line, for log pipelines; `plain`: lines for people.
LOG_FORMAT = _config.LOG_FORMAT
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
