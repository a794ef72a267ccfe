"""What `/metrics` says of the outbox, the store, the loops, the rules and the delivery
processes, as their state changes."""

from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from events.service import metrics as tallies
from eventsproject import bootstrap, serving
from eventsproject.platform.stores import StoreUnavailable
from tests.contract.conftest import NOW
from tests.factories import FakeClock, reminder_for


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def scraped(client) -> dict[tuple[str, tuple], float]:
    """Every sample of `/metrics`, by name and labels."""
    text = client.get("/metrics").content.decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(client, name: str, **labels) -> float | None:
    return scraped(client).get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def idle_parts(clock, transport):
    """Parts on a clock the test moves, whose dispatcher does not run: what is appended
    stays pending until the test settles it."""
    with bootstrap.installed(bootstrap.build(transport=transport, clock=clock)) as parts:
        yield parts


pytestmark = pytest.mark.both_stores


def test_the_oldest_pending_age_grows_until_it_is_delivered(client, idle_parts, clock):
    assert value(client, "notification_oldest_pending_age_seconds") == 0
    notification = reminder_for("u1")
    idle_parts.outbox.append([notification])
    clock.advance(seconds=90)

    assert value(client, "notification_oldest_pending_age_seconds") == 90

    idle_parts.outbox.claim_due(clock.now, 10)
    idle_parts.outbox.acknowledge([notification.notification_id])
    assert value(client, "notification_oldest_pending_age_seconds") == 0
    assert value(client, "notification_outbox_depth", status="sent") == 1


def test_the_retry_budget_is_exported_beside_it(client, settings):
    settings.NOTIFY_RETRY_BUDGET_SECONDS = 123

    assert value(client, "notification_retry_budget_seconds") == 123


def test_the_store_is_up_while_it_answers(client, parts, monkeypatch):
    assert value(client, "events_store_up") == 1

    def unreachable():
        raise StoreUnavailable("store down")

    monkeypatch.setattr(parts.outbox, "counts", unreachable)
    samples = scraped(client)

    assert samples[("events_store_up", ())] == 0
    assert not any(name == "notification_outbox_depth" for name, _ in samples)


def test_the_rules_version_is_exported(client, parts):
    assert value(client, "events_rules_info", version=parts.rules.version) == 1


def test_each_loop_is_up_while_alive_and_down_once_stopped(client, parts, monkeypatch):
    monkeypatch.setattr(serving, "_started", SimpleNamespace(is_set=lambda: True))

    up = {loop: value(client, "events_background_loop_up", loop=loop) for loop in LOOPS}
    parts.dispatcher.close(timeout=0)
    after = {loop: value(client, "events_background_loop_up", loop=loop) for loop in LOOPS}

    assert up == {"ticker": 0, "dispatcher": 1, "senders": 1}  # the test never starts its ticker
    assert after == {"ticker": 0, "dispatcher": 0, "senders": 0}


LOOPS = ("ticker", "dispatcher", "senders")


def test_the_breaker_of_a_process_that_delivers_is_exported(client):
    assert value(client, "notify_circuit_breaker_state", notify_circuit_breaker_state="closed") == 1
    assert value(client, "notify_circuit_breaker_state", notify_circuit_breaker_state="open") == 0


def test_a_publisher_adds_only_what_the_tallies_gained_since_it_last_ran():
    registry = CollectorRegistry()
    publisher = tallies.Publisher(registry)
    tallies.count_event("app_launched", "accepted", ["too_late"])
    publisher.publish()
    first = registry.get_sample_value(
        "events_total", {"type": "app_launched", "outcome": "accepted"}
    )
    tallies.count_event("app_launched", "accepted", ["too_late"])
    publisher.publish()
    publisher.publish()

    assert first == tallies.EVENTS["app_launched", "accepted"] - 1
    assert (
        registry.get_sample_value("events_total", {"type": "app_launched", "outcome": "accepted"})
        == tallies.EVENTS["app_launched", "accepted"]
    )
    assert registry.get_sample_value("events_too_late_total") == tallies.DECISIONS["too_late"]
