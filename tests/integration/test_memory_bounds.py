"""The memory store is bounded whatever clients send: idle users expire, and a cap on
users answers 503 with Retry-After when it is reached — never a crash, never a silent loss."""

import gc
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType

import pytest
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from events.adapters.memory import InMemoryEventRepository
from events.domain.decisions import NO_STATE
from events.ports import Change
from eventsproject import bootstrap
from tests.conftest import RecordingTransport
from tests.factories import FakeClock, at, finished, started
from tests.sample import BRIEF_SAMPLE

LAUNCH = BRIEF_SAMPLE[0]


def launch(client, user: str, minute: int = 22):
    event = {**LAUNCH, "user_id": user, "time_stamp": f"2021-02-28 16:{minute}:52"}
    return client.post("/v1/event", event, format="json")


class TestACapOnUsers:
    @pytest.fixture
    def transport(self, settings):
        settings.EVENTS_MEMORY_MAX_USERS = 2
        return RecordingTransport()

    def test_a_new_user_past_the_cap_is_told_to_retry_later(self):
        client = APIClient()
        admitted = [launch(client, user).status_code for user in ("u1", "u2")]

        refused = launch(client, "u3")

        assert admitted == [202, 202]
        assert refused.status_code == 503
        assert int(refused["Retry-After"]) > 0
        assert "users" in refused.json()["detail"]

    def test_users_held_are_still_served_and_a_refused_event_is_not_lost(self, parts):
        client = APIClient()
        for user in ("u1", "u2"):
            launch(client, user)
        launch(client, "u3")

        assert launch(client, "u1", minute=25).status_code == 202
        parts.repository.update("u2", lambda state: Change(state=NO_STATE))  # u2 leaves
        assert launch(client, "u3").status_code == 202  # the retry is new, not a duplicate

    def test_refusals_are_logged_once_and_counted_each_until_a_user_is_admitted_again(
        self, parts, caplog
    ):
        client = APIClient()
        for user in ("u1", "u2"):
            launch(client, user)
        before = REGISTRY.get_sample_value("events_store_full_refusals_total") or 0

        refused = [launch(client, f"new-{n}").status_code for n in range(5)]
        parts.repository.update("u2", lambda state: Change(state=NO_STATE))  # u2 leaves
        admitted = launch(client, "new-0").status_code

        assert (refused, admitted) == ([503] * 5, 202)
        assert REGISTRY.get_sample_value("events_store_full_refusals_total") - before == 5
        assert caplog.text.count("the memory store's cap on users failed") == 1
        assert caplog.text.count("the memory store's cap on users works again") == 1
        assert "Service Unavailable" not in caplog.text

    def test_the_limits_are_shown_in_health(self):
        health = APIClient().get("/v1/health").json()

        assert health["limits"]["max_users"] == 2
        assert health["limits"]["user_state_ttl_hours"] > 0


class TestIdleUsers:
    @pytest.fixture
    def transport(self, settings):
        settings.EVENTS_MEMORY_MAX_USERS = 2
        settings.EVENTS_USER_STATE_TTL_HOURS = 0.1 / 3600  # 100 ms
        return RecordingTransport()

    def test_idle_users_expire_and_make_room(self, parts):
        client = APIClient()
        for user in ("u1", "u2"):
            launch(client, user)
        time.sleep(0.2)

        answer = launch(client, "u3")

        assert answer.status_code == 202
        assert not parts.repository.user_state("u1")
        assert parts.repository.stats()["pending_reminders"] == 1


def test_memory_goes_back_to_its_baseline_once_users_are_done():
    """CPython never shrinks a dict's table on deletion; every per-user table is rebuilt
    once as many users left as are still there."""
    repository = InMemoryEventRepository()
    users = [f"user-{n}" for n in range(5000)]

    def open_a_session(user):
        event = started(user, at(0))
        return lambda state: Change(replace(state, open_sessions=MappingProxyType({"p": event})))

    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for user in users:
            repository.update(user, open_a_session(user))
        active = tracemalloc.get_traced_memory()[0] - baseline
        for user in users:
            repository.update(user, lambda state: Change(NO_STATE))
        gc.collect()
        left = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()

    assert left < 0.02 * active


def test_a_given_wall_clock_measures_idleness(settings):
    clock = FakeClock(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    parts = bootstrap.build(transport=RecordingTransport(), clock=clock, store="memory")
    parts.processor.record(started("done", at(0)))
    parts.processor.record(finished("done", at(40)))  # nothing left but the window

    clock.advance(seconds=settings.EVENTS_REORDER_WINDOW_SECONDS - 1)
    parts.repository.claim_due_reminders(clock())
    kept = bool(parts.repository.user_state("done"))
    clock.advance(seconds=2)
    parts.repository.claim_due_reminders(clock())

    assert kept
    assert not parts.repository.user_state("done")
