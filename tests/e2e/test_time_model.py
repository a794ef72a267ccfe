"""The time model over real sockets: the production command, a real notify endpoint, and
reminders measured by the server's wall clock whatever the phones' clocks say."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.e2e.conftest import GUNICORN, Server

pytestmark = pytest.mark.e2e

DUE_AFTER = 3.0  # EVENTS_REMINDER_DELAY_SECONDS=2 plus EVENTS_ALLOWED_LATENESS_SECONDS=1
TICK = 0.1


@pytest.fixture
def production(server_env):
    """`gunicorn` as `make serve` runs it, with a 2 s reminder delay and 1 s of lateness."""
    server_env.update(
        EVENTS_REMINDER_DELAY_SECONDS="2",
        EVENTS_ALLOWED_LATENESS_SECONDS="1",
        EVENTS_TICK_SECONDS=str(TICK),
    )
    running = Server(GUNICORN, server_env)
    yield running.url
    running.stop()
    running.log.close()


@pytest.fixture
def production_with_defaults(server_env):
    running = Server(GUNICORN, server_env)
    yield running.url
    running.stop()
    running.log.close()


def launch(user_id: str, phone_clock_error: timedelta, kind: str = "app_launch") -> dict:
    stamped = datetime.now(UTC) + phone_clock_error
    return {
        "user_id": user_id,
        "device_id": f"{user_id}-phone",
        "type": kind,
        "time_stamp": stamped.strftime("%Y-%m-%d %H:%M:%S"),
    }


def post(server: str, event: dict) -> float:
    """Post the event; return the monotonic time just before it left."""
    posted = time.monotonic()
    response = requests.post(f"{server}/v1/event", json=event, timeout=10)
    assert response.status_code == 202, response.text
    return posted


def test_slow_and_fast_phones_get_their_reminder_about_three_seconds_after_posting(
    production, standin
):
    posted = {
        "slow": post(production, launch("slow", timedelta(minutes=-15))),
        "fast": post(production, launch("fast", timedelta(minutes=50))),
    }
    # Another user's events, stamped far ahead, must neither send nor hold up theirs.
    post(production, launch("other", timedelta(minutes=55), kind="profile_viewed"))
    post(production, launch("other", timedelta(minutes=59), kind="profile_viewed"))

    received = standin.wait_for(2, timeout=DUE_AFTER + 5)

    assert sorted(r.payload["user_id"] for r in received) == ["fast", "slow"]
    for reminder in received:
        waited = reminder.at_monotonic - posted[reminder.payload["user_id"]]
        assert DUE_AFTER - TICK <= waited < DUE_AFTER + 2.5, waited
        assert reminder.payload["decision"]["trigger"] == "wall_clock"


def test_a_start_in_time_cancels_the_reminder_and_the_log_says_so(production, standin):
    post(production, launch("a", timedelta(0)))
    post(
        production,
        {
            **launch("a", timedelta(seconds=1), kind="training_program_started"),
            "training_program_id": "p1",
        },
    )

    time.sleep(DUE_AFTER + 1)

    assert standin.received == []
    decisions = requests.get(f"{production}/v1/users/a/decisions", timeout=5).json()
    assert [d["outcome"] for d in decisions["results"]] == ["cancelled"]


def test_with_the_default_delay_nothing_is_sent_within_the_test(production_with_defaults, standin):
    post(production_with_defaults, launch("a", timedelta(0)))

    time.sleep(2)

    assert standin.received == []
    state = requests.get(f"{production_with_defaults}/v1/users/a", timeout=5).json()
    due_at = datetime.fromisoformat(state["pending_reminder"]["due_at"].replace("Z", "+00:00"))
    assert due_at - datetime.now(UTC) > timedelta(minutes=10)
