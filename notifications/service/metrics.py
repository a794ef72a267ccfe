"""Prometheus metrics of notification delivery."""

from functools import cache

from prometheus_client import Counter, Enum, Gauge, Histogram

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
OUTBOX_DEPTH = Gauge("notification_outbox_depth", "Notifications by delivery status.", ["status"])
BREAKER_STATE = Enum(
    "notify_circuit_breaker_state",
    "State of the circuit breaker in front of /v1/notify.",
    states=["closed", "open", "half-open"],
)


@cache
def notifications_counter(kind: str, status: str) -> Counter:
    return NOTIFICATIONS.labels(kind, status)


@cache
def attempts_counter(outcome: str) -> Counter:
    return DELIVERY_ATTEMPTS.labels(outcome)
