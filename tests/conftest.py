"""Every test starts from empty in-memory state and a recording notify transport."""

import pytest
from django.apps import apps

from events import services
from events.repository import InMemoryEventRepository
from events.rules import Thresholds
from events.ticker import ReminderTicker
from notifications.domain import Notification
from notifications.outbox import Outbox


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
    """Throttling has its own tests; elsewhere it would only make tests depend on speed."""
    settings.EVENTS_THROTTLE_RATE = None
    settings.EVENTS_BATCH_THROTTLE_RATE = None


@pytest.fixture(autouse=True)
def repository(monkeypatch) -> InMemoryEventRepository:
    fresh = InMemoryEventRepository(recent_limit=50)
    monkeypatch.setattr(apps.get_app_config("events"), "repository", fresh)
    return fresh


@pytest.fixture(autouse=True)
def ticker(monkeypatch) -> ReminderTicker:
    """A ticker that is never started: tests call `tick` themselves."""
    fresh = ReminderTicker(services.send_due_reminders)
    monkeypatch.setattr(apps.get_app_config("events"), "ticker", fresh)
    return fresh


@pytest.fixture
def thresholds(monkeypatch):
    """Call with Thresholds' fields to run the rules with other figures than the defaults."""

    def use(**figures) -> Thresholds:
        chosen = Thresholds(**figures)
        monkeypatch.setattr(apps.get_app_config("events"), "thresholds", chosen)
        return chosen

    return use


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture(autouse=True)
def outbox(monkeypatch, transport) -> Outbox:
    fresh = Outbox(transport, history_limit=50)
    monkeypatch.setattr(apps.get_app_config("notifications"), "outbox", fresh)
    return fresh


@pytest.fixture
def delivered(outbox, transport):
    """Call to wait for the outbox and get what reached the transport, in order."""

    def wait_and_list() -> list[Notification]:
        assert outbox.flush(timeout=5), "the outbox did not settle"
        return list(transport.sent)

    return wait_and_list
