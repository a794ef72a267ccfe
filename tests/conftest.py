"""Every test runs with parts of its own, built by the composition root from settings:
empty in-memory state, a recording notify transport and a running dispatcher."""

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from events.domain.rules import Thresholds
from events.ports import EventRepository
from events.service.ticker import ReminderTicker
from eventsproject import bootstrap
from eventsproject.web import throttles
from notifications.domain.notification import Notification
from notifications.ports import OutboxStore
from tests.redis_server import REDIS_URL, delete_prefix, require_redis, unique_prefix


class RecordingTransport:
    """Stands in for the notify client where HTTP is not what is under test."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.error: Exception | None = None  # set to make every delivery fail with it

    def send(self, notification: Notification) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append(notification)


@pytest.fixture(autouse=True)
def no_throttling(settings):
    """Throttling has its own tests; elsewhere it would only make tests depend on speed.
    Each test starts with every allowance whole (the memory store's live in Django's cache)."""
    cache.clear()
    throttles._blocked.clear()
    settings.EVENTS_THROTTLE_RATE = None
    settings.EVENTS_BATCH_THROTTLE_RATE = None
    settings.EVENTS_AUTH_FAILURE_RATE = None
    settings.EVENTS_NEW_USERS_RATE = None


@pytest.fixture(autouse=True)
def anonymous_clients(settings):
    """Who may do what has its own tests (tests/integration/test_access.py); elsewhere
    clients post and read without tokens, as behind a gateway that authenticates them."""
    settings.EVENTS_ALLOW_ANONYMOUS = True


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module or test marked `both_stores` runs once per store."""
    definition = metafunc.definition
    if definition.get_closest_marker("both_stores") and not definition.get_closest_marker(
        "memory_only"
    ):
        metafunc.parametrize("store_kind", ["memory", "redis"], indirect=True)


@pytest.fixture
def store_kind(request) -> str:
    return getattr(request, "param", "memory")


@pytest.fixture
def store_settings(settings, store_kind) -> Iterator[str]:
    """Settings for a fresh, empty store of `store_kind`: a Redis prefix of the test's own."""
    settings.EVENTS_STORE = store_kind
    if store_kind != "redis":
        yield store_kind
        return
    client = require_redis()
    settings.REDIS_URL = REDIS_URL
    settings.EVENTS_REDIS_PREFIX = unique_prefix()
    settings.EVENTS_TIMER_SHARDS = 4
    yield store_kind
    delete_prefix(client, settings.EVENTS_REDIS_PREFIX)


@pytest.fixture(autouse=True)
def parts(settings, store_settings, transport) -> Iterator[bootstrap.Components]:
    settings.EVENTS_RECENT_LIMIT = 50
    settings.NOTIFICATIONS_RECENT_LIMIT = 50
    with bootstrap.installed(bootstrap.build(transport=transport)) as fresh:
        fresh.dispatcher.start()
        yield fresh
        fresh.dispatcher.close(timeout=0)


@pytest.fixture
def repository(parts) -> EventRepository:
    return parts.repository


@pytest.fixture
def outbox(parts) -> OutboxStore:
    return parts.outbox


@pytest.fixture
def ticker(parts) -> ReminderTicker:
    """Never started: tests call `tick` themselves."""
    return parts.ticker


@pytest.fixture
def thresholds(parts):
    """Call with Thresholds' fields to run the rules with other figures than the defaults."""

    def use(**figures) -> Thresholds:
        parts.processor.thresholds = Thresholds(**figures)
        return parts.processor.thresholds

    return use


@pytest.fixture
def delivered(parts, transport):
    """Call to wait for the dispatcher and get what reached the transport, in order."""

    def wait_and_list() -> list[Notification]:
        assert parts.dispatcher.flush(timeout=5), "the outbox did not settle"
        return list(transport.sent)

    return wait_and_list
