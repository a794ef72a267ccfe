"""Every environment variable the service reads, typed and range-checked in one model.

pydantic-settings reads the environment and a `.env` file (`./.env` beside
`manage.py`, or the file `EVENTS_DOTENV` names; the environment wins over it).
A bad value stops every entry point — `manage.py` and each of its commands, the
WSGI application, gunicorn's master — with one line per variable, naming it and
the rule; a secret's value is never shown. `eventsproject.settings` turns the model
into Django's settings; `eventsproject.gunicorn` reads the server's own from it.

No Django settings here: this module is read before them.
"""

import os
import re
from collections.abc import Callable
from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from eventsproject.platform import signing
from eventsproject.platform.redaction import redact_url

BASE_DIR = Path(__file__).resolve().parent.parent

#: A year, in seconds and in hours: the bound of the time model's settings.
YEAR = 366 * 24 * 3600
TEN_YEARS_IN_HOURS = 10 * 8784


class BadSettings(ImproperlyConfigured):
    """One line per variable that is wrong; the process must not start."""


# --- how a raw value is read --------------------------------------------------


def _blank_is(default: str) -> Any:
    """Blank reads as `default`: an empty flag is false (`DEBUG=`), and platforms set some
    variables empty (WEB_CONCURRENCY)."""
    return lambda raw: (raw.strip() or default) if isinstance(raw, str) else raw


#: EVENTS_STORE's choices (the composition root builds each one: eventsproject/bootstrap.py).
Store = Literal["memory", "redis"]
#: Whether the processes share what a store holds, so that several may serve.
SHARED_STORES = frozenset({"redis"})


def _choice(raw: Any) -> Any:
    return raw.strip().lower() if isinstance(raw, str) else raw


def _items(raw: Any) -> Any:
    """A comma-separated list; blanks around and between items are ignored."""
    if not isinstance(raw, str):
        return raw
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")


def _rate(raw: Any) -> str | None:
    rate = str(raw).strip()
    if rate and not _RATE.fullmatch(rate):
        raise ValueError("must be a rate like 30/s or 1000/minute, or empty for none")
    return rate or None


def _networks(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return tuple(ip_network(item, strict=False) for item in _items(raw))
    except ValueError:
        raise ValueError("must be comma-separated addresses or networks (10.0.0.0/8)") from None


def _url(schemes: tuple[str, ...]) -> Any:
    def check(raw: str) -> str:
        url = raw.strip()
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018  (a port out of range raises here)
        except ValueError:
            raise ValueError("is not a URL that can be parsed") from None
        if parts.scheme not in schemes or not (parts.hostname or parts.scheme == "unix"):
            raise ValueError(f"must be a {' or '.join(s + '://' for s in schemes)} URL")
        return url

    return AfterValidator(check)


def _address(raw: Any) -> str:
    """`host:port` (an IPv6 address in brackets), or empty for none."""
    address = str(raw).strip()
    host, colon, port = address.rpartition(":")
    if address and not (colon and host and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError("must be host:port (127.0.0.1:9091, [::1]:9091), or empty for none")
    return address


def host_and_port(address: str) -> tuple[str, int]:
    """A checked `host:port` (`_address`) as a socket binds it."""
    host, _, port = address.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


def _credentials(url: str) -> bool:
    return "@" in urlsplit(url).netloc


def _webhook_secrets(raw: Any) -> tuple[bytes, ...]:
    return signing.parse_secrets(str(raw)) if isinstance(raw, str) else tuple(raw)


Flag = Annotated[bool, BeforeValidator(_blank_is("false"))]
Items = Annotated[list[str], NoDecode, BeforeValidator(_items)]
Rate = Annotated[str | None, BeforeValidator(_rate)]


def count(low: int, high: int) -> Any:
    """A whole number from `low` to `high`."""
    return Field(ge=low, le=high)


def seconds(low: float, high: float, *, above: bool = False) -> Any:
    """A finite number of seconds (or hours) from `low` (excluded when `above`) to `high`."""
    if above:
        return Field(gt=low, le=high, allow_inf_nan=False)
    return Field(ge=low, le=high, allow_inf_nan=False)


class Config(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", validate_default=True)

    # Django and the HTTP server
    DEBUG: Flag = False
    SECRET_KEY: str = ""
    ALLOWED_HOSTS: Annotated[Items, Field(min_length=1)] = ["127.0.0.1", "localhost", "[::1]"]
    EVENTS_CLIENT_TIMEOUT_SECONDS: Annotated[int, count(1, 3600)] = 10
    WEB_CONCURRENCY: Annotated[int, BeforeValidator(_blank_is("1")), count(1, 256)] = 1
    SECURE_SSL_REDIRECT: Flag = False
    SECURE_HSTS_SECONDS: Annotated[int, count(0, 10 * YEAR)] = 0
    SECURE_HSTS_INCLUDE_SUBDOMAINS: Flag = True
    SECURE_HSTS_PRELOAD: Flag = True
    TRUST_X_FORWARDED_PROTO: Flag = False
    LOG_LEVEL: Annotated[
        Literal["debug", "info", "warning", "error", "critical"], BeforeValidator(_choice)
    ] = "info"
    LOG_FORMAT: Annotated[Literal["plain", "json"], BeforeValidator(_choice)] = "plain"

    # Events
    EVENTS_RECENT_LIMIT: Annotated[int, count(1, 10**7)] = 1000
    EVENTS_MAX_BODY_BYTES: Annotated[int, count(1024, 16 * 2**20)] = 32 * 1024
    EVENTS_BATCH_MAX_BODY_BYTES: Annotated[int, count(1024, 64 * 2**20)] = 512 * 1024
    EVENTS_BATCH_MAX_EVENTS: Annotated[int, count(1, 100_000)] = 500
    EVENTS_SEEN_IDS_LIMIT: Annotated[int, count(1, 10**9)] = 100_000
    EVENTS_SEEN_IDS_MAX_AGE_HOURS: Annotated[float, seconds(0, TEN_YEARS_IN_HOURS, above=True)] = 24
    EVENTS_REMINDER_DELAY_SECONDS: Annotated[int, count(0, YEAR)] = 600
    EVENTS_TRAINING_DOSE_SECONDS: Annotated[int, count(0, YEAR)] = 1800
    EVENTS_ALLOWED_LATENESS_SECONDS: Annotated[int, count(0, YEAR)] = 30
    EVENTS_RULES_FILE: Annotated[str, BeforeValidator(_blank_is(""))] = ""
    EVENTS_REORDER_WINDOW_SECONDS: Annotated[int, count(0, YEAR)] = 6 * 3600
    EVENTS_REORDER_WINDOW_EVENTS: Annotated[int, count(0, 1000)] = 64
    EVENTS_TICK_SECONDS: Annotated[float, seconds(0.01, 60)] = 1
    EVENTS_DECISION_LOG_LIMIT: Annotated[int, count(0, 10_000)] = 100
    EVENTS_DECISION_LOG_USERS: Annotated[int, count(0, 10**8)] = 10_000
    EVENTS_GC_GEN0_THRESHOLD: Annotated[int, count(0, 10**7)] = 10_000
    EVENTS_THROTTLE_RATE: Rate = "30/s"
    EVENTS_BATCH_THROTTLE_RATE: Rate = "200/s"
    EVENTS_AUTH_FAILURE_RATE: Rate = "10/minute"
    EVENTS_NEW_USERS_RATE: Rate = "120/minute"
    EVENTS_TRUSTED_PROXIES: Annotated[
        tuple[IPv4Network | IPv6Network, ...], NoDecode, BeforeValidator(_networks)
    ] = ()
    EVENTS_API_TOKENS: Items = []
    EVENTS_ADMIN_TOKENS: Items = []
    EVENTS_ALLOW_ANONYMOUS: Flag = False
    EVENTS_API_URL: Annotated[str, _url(("http", "https"))] = "http://127.0.0.1:8000"

    # State
    EVENTS_STORE: Annotated[Store, BeforeValidator(_choice)] = "memory"
    REDIS_URL: Annotated[str, _url(("redis", "rediss", "unix"))] = "redis://127.0.0.1:6379/0"
    EVENTS_REDIS_PREFIX: Annotated[
        str, BeforeValidator(_blank_is("ep")), Field(pattern=r"^[^{}\s:]{1,64}$")
    ] = "ep"
    EVENTS_TIMER_SHARDS: Annotated[int, count(1, 16384)] = 16
    EVENTS_CLAIM_LEASE_SECONDS: Annotated[float, seconds(0.1, 3600)] = 30
    EVENTS_WEB_RUNS_WORKERS: Flag = True
    EVENTS_WORKERS_HTTP_ADDRESS: Annotated[str, BeforeValidator(_address)] = "127.0.0.1:9091"
    EVENTS_MEMORY_MAX_USERS: Annotated[int, count(1, 10**9)] = 1_000_000
    EVENTS_USER_STATE_TTL_HOURS: Annotated[float, seconds(0.01, TEN_YEARS_IN_HOURS)] = 48

    # Notifications
    NOTIFY_URL: Annotated[str, _url(("http", "https"))] = "http://127.0.0.1:8001/v1/notify"
    NOTIFY_SIGNING_SECRET: Annotated[
        tuple[bytes, ...], NoDecode, BeforeValidator(_webhook_secrets)
    ] = ()
    NOTIFY_AUTH_TOKEN: Annotated[str, BeforeValidator(str.strip)] = ""
    NOTIFY_CONNECT_TIMEOUT: Annotated[float, seconds(0, 60, above=True)] = 2.0
    NOTIFY_READ_TIMEOUT: Annotated[float, seconds(0, 300, above=True)] = 5.0
    NOTIFY_CONCURRENCY: Annotated[int, count(1, 256)] = 8
    NOTIFY_MAX_ATTEMPTS: Annotated[int, count(1, 1000)] = 6
    NOTIFY_BACKOFF_BASE_SECONDS: Annotated[float, seconds(0, 3600)] = 0.5
    NOTIFY_BACKOFF_MAX_SECONDS: Annotated[float, seconds(0, 86400)] = 30
    NOTIFY_RETRY_BUDGET_SECONDS: Annotated[float, seconds(0, 7 * 86400)] = 300
    NOTIFY_BREAKER_FAILURES: Annotated[int, count(1, 10**6)] = 5
    NOTIFY_BREAKER_COOLDOWN_SECONDS: Annotated[float, seconds(0, 3600)] = 30
    NOTIFY_SHUTDOWN_GRACE_SECONDS: Annotated[float, seconds(0, 40)] = 10
    NOTIFICATIONS_RECENT_LIMIT: Annotated[int, count(1, 10**7)] = 1000


#: Variables whose value is never shown, and those shown with their credentials masked.
SECRETS = frozenset(
    {
        "SECRET_KEY",
        "EVENTS_API_TOKENS",
        "EVENTS_ADMIN_TOKENS",
        "NOTIFY_SIGNING_SECRET",
        "NOTIFY_AUTH_TOKEN",
    }
)
URLS = frozenset({"NOTIFY_URL", "REDIS_URL", "EVENTS_API_URL"})

#: A claimed notification's own attempt and the two it may wait for (the dispatcher's
#: senders each hold at most two more): all within one claim's lease.
ATTEMPTS_IN_A_LEASE = 3

#: Rules that hold between variables: each a test of the config and what it says when false.
CONSISTENCY: tuple[tuple[Callable[[Config], bool], str], ...] = (
    (
        lambda config: not (config.NOTIFY_AUTH_TOKEN and _credentials(config.NOTIFY_URL)),
        "NOTIFY_AUTH_TOKEN and credentials in NOTIFY_URL would send two Authorization "
        "headers: use one of them",
    ),
    (
        lambda config: (
            config.EVENTS_STORE != "redis"
            or config.EVENTS_CLAIM_LEASE_SECONDS
            >= ATTEMPTS_IN_A_LEASE * (config.NOTIFY_CONNECT_TIMEOUT + config.NOTIFY_READ_TIMEOUT)
        ),
        f"EVENTS_CLAIM_LEASE_SECONDS must be at least {ATTEMPTS_IN_A_LEASE} times "
        "NOTIFY_CONNECT_TIMEOUT + NOTIFY_READ_TIMEOUT with EVENTS_STORE=redis: a claimed "
        "notification waits for up to two attempts before its own, and another process "
        "sends it again once the lease is over",
    ),
    (
        lambda config: (
            not config.EVENTS_REORDER_WINDOW_EVENTS
            or config.EVENTS_REORDER_WINDOW_SECONDS >= config.EVENTS_REMINDER_DELAY_SECONDS
        ),
        "EVENTS_REORDER_WINDOW_SECONDS must be at least EVENTS_REMINDER_DELAY_SECONDS: a "
        "launch leaves its user's window only once a reminder's fate is known",
    ),
)


#: prometheus-client's multiprocess mode, which it reads as it is imported: set by the
#: production command for its workers (eventsproject/server.py), not a setting.
METRICS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


def metrics_directory() -> str | None:
    """Where this process and its siblings write their metrics, if they share them."""
    return os.environ.get(METRICS_DIRECTORY) or None


def share_metrics_in(directory: str) -> None:
    """This process and those it starts write their metrics to `directory`."""
    os.environ[METRICS_DIRECTORY] = directory


@cache
def current() -> Config:
    """This process's configuration, read once."""
    return load()


def load() -> Config:
    """The configuration of the environment and the `.env` file; `BadSettings` with one
    line per wrong variable."""
    dotenv = Path(os.environ.get("EVENTS_DOTENV") or BASE_DIR / ".env")
    try:
        config = Config(_env_file=dotenv if dotenv.is_file() else None)  # type: ignore[call-arg]
    except ValidationError as invalid:
        raise BadSettings("\n".join(_lines(invalid))) from None
    broken = [said for holds, said in CONSISTENCY if not holds(config)]
    if broken:
        raise BadSettings("\n".join(broken))
    return config


def _lines(invalid: ValidationError) -> list[str]:
    lines: dict[str, str] = {}
    for error in invalid.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else "settings"
        rule = _range_rule(name) or RULES.get(error["type"]) or _rule(error["msg"])
        lines.setdefault(name, f"{name} {rule}, {_shown(name, error['input'])}")
    return list(lines.values())


#: pydantic's errors said as the rule that was broken.
RULES = {
    "bool_parsing": "must be true or false (or 1/0, yes/no, on/off)",
    "too_short": "must not be empty",
    "string_pattern_mismatch": "must be 1 to 64 characters, none of them blank, ':', '{' or '}'",
}


def _range_rule(name: str) -> str | None:
    """The whole rule of a number, from its field: 'must be a whole number from 1 to 16'."""
    field = Config.model_fields.get(name)
    if field is None or field.annotation not in (int, float):
        return None
    kind = "a whole number" if field.annotation is int else "a number"
    return f"must be {kind} {allowed(name)}"


def allowed(name: str) -> str:
    """What a variable may be, as the README's configuration table says it: its range for
    a number, its words for a flag or a choice; empty for the others (the table's text)."""
    field = Config.model_fields[name]
    if field.annotation is bool:
        return "true or false"
    if get_origin(field.annotation) is Literal:
        return ", ".join(get_args(field.annotation))
    limits = {
        kind: getattr(rule, kind)
        for rule in field.metadata
        for kind in ("ge", "gt", "le")
        if hasattr(rule, kind)
    }
    if "le" not in limits:
        return ""
    low, high = _number(limits.get("gt", limits.get("ge", 0))), _number(limits["le"])
    return f"above {low} and at most {high}" if "gt" in limits else f"from {low} to {high}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _rule(message: str) -> str:
    """pydantic's message as a rule: 'Input should be a valid boolean' -> 'should be ...'."""
    for prefix in ("Value error, ", "Input "):
        message = message.removeprefix(prefix)
    return message[:1].lower() + message[1:]


def _shown(name: str, value: Any) -> str:
    if name in SECRETS:
        return "the value is not shown"
    if name in URLS and isinstance(value, str):
        return f"got {redact_url(value)!r}"
    return f"got {value!r}"
