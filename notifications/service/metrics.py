"""Prometheus metrics of notification delivery."""

from functools import cache

from prometheus_client import Counter, Gauge, Histogram

from notifications.domain.notification import NotificationKind

NOTIFICATIONS = Counter(
    "notifications_total", "Notifications by kind and status reached.", ["kind", "status"]
)
DELIVERY_ATTEMPTS = Counter(
    "notification_delivery_attempts_total", "Delivery attempts by outcome.", ["outcome"]
)
DELIVERY_LATENCY = Histogram(
    "notification_delivery_seconds",
    "From queued to delivered, retries included.",
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300),
)
BREAKER_STATES = ("closed", "open", "half-open")
#: An Enum's exposition (1 for the state the breaker is in) from a gauge, which, unlike an
#: Enum, prometheus-client sums across gunicorn's workers: the highest of the live processes,
#: so 1 for each state that one of them is in.
BREAKER_STATE = Gauge(
    "notify_circuit_breaker_state",
    "State of the circuit breaker in front of /v1/notify: 1 for the state a process that "
    "delivers is in.",
    ["notify_circuit_breaker_state"],
    multiprocess_mode="livemax",
)


def show_breaker_state(current: str) -> None:
    for state in BREAKER_STATES:
        BREAKER_STATE.labels(state).set(1 if state == current else 0)


@cache
def notifications_counter(kind: str, status: str) -> Counter:
    return NOTIFICATIONS.labels(kind, status)


#: The statuses a notification reaches; `failed` is a dead letter.
NOTIFICATION_STATUSES = ("queued", "sent", "failed")


def count_from_zero() -> None:
    """Every kind and status is exported from the start, at 0: `increase()` cannot see a
    series born at 1, so without it the first dead letter would raise no alert."""
    for kind in NotificationKind:
        for status in NOTIFICATION_STATUSES:
            notifications_counter(kind, status)


count_from_zero()


@cache
def attempts_counter(outcome: str) -> Counter:
    return DELIVERY_ATTEMPTS.labels(outcome)
